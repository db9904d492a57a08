// herald: the broker, with `worker` a remote worker, with `admin`, `backup`, `restore`,
// `export`, `import`, `check` and `reload` an operator's tools. Composition root: reads the command
// line and the configuration, then opens the engine (api/) and hands over to Serve, or hands over
// to RunWorker (which keeps its records in the broker and opens no store); both run until
// SIGTERM/SIGINT (or SHUTDOWN).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <malloc.h>
#include <signal.h>

#include <csignal>
#include <memory>
#include <string>

#include "api/engine_impl.h"
#include "common/version.h"
#include "storage/postgres/postgres_store.h"
#include "storage/store.h"
#include "tools/herald/flags.h"
#include "tools/herald/json_log.h"
#include "tools/herald/serve.h"
#include "tools/herald/startup.h"
#include "tools/herald/worker_mode.h"

namespace {

using herald::Status;
using herald::tools::Startup;

// The file, then the flags over it, then the engine's and the handlers' settings from the
// same file. An error names what is wrong (already prefixed as the log line should read).
Status Configure(const herald::tools::CommandLine& line, Startup* startup) {
  herald::tools::HeraldConfig& config = startup->config;
  if (!line.config_file.empty()) {
    if (Status status = herald::tools::LoadConfigFile(line.config_file, &config); !status.ok()) {
      return Status::InvalidArgument("config: " + status.message());
    }
  }
  herald::tools::ApplyFlags(line, &config);
  if (Status status = herald::tools::ValidateConfig(config); !status.ok()) {
    return Status::InvalidArgument("config: " + status.message());
  }
  if (!config.config_file.empty()) {
    Status status = herald::engine::LoadEngineConfig(config.config_file, &startup->engine);
    if (status.ok()) {
      status = herald::handlers::LoadHandlersConfig(config.config_file, &startup->handlers);
    }
    if (!status.ok()) return Status::InvalidArgument("config: " + status.message());
  }
  startup->engine.workers = config.workers;
  startup->handlers.data_dir = config.data_dir;
  for (const std::string& spec : line.faults) {
    if (Status status = herald::handlers::ApplyFaultSpec(spec, &startup->handlers); !status.ok()) {
      return Status::InvalidArgument("--fault: " + status.message());
    }
  }
  if (Status status = herald::handlers::ValidateHandlersConfig(startup->handlers); !status.ok()) {
    return Status::InvalidArgument("config: " + status.message());
  }
  return Status::Ok();
}

// "in ./data", or "postgres (node n1)": what the log says the store is.
std::string StoreName(const herald::tools::HeraldConfig& config) {
  if (config.store_backend == "postgres") {
    const std::size_t clusters = config.store_clusters.size();
    return "postgres" + (clusters > 1 ? ", " + std::to_string(clusters) + " clusters" : "") +
           " (node " + config.store_node + ")";
  }
  return "in " + config.data_dir;
}

// The store the configuration names, and the engine on it.
herald::Result<std::unique_ptr<herald::Engine>> OpenEngine(const Startup& startup) {
  const herald::tools::HeraldConfig& config = startup.config;
  if (config.store_backend == "postgres") {
    herald::storage::PostgresClustersOptions options = herald::tools::ClusterMapOf(config);
    options.each.completed_retention = startup.engine.completed_retention;
    options.each.logger = startup.logger;
    auto store = herald::storage::OpenPostgresClusters(std::move(options));
    if (!store.ok()) return store.status();
    return herald::api::OpenEngineOn(std::move(*store), startup.engine, startup.logger);
  }
  herald::storage::StoreOptions store_options;
  store_options.data_dir = config.data_dir;
  store_options.fsync = herald::storage::ParseFsyncMode(config.fsync).value();
  return herald::api::OpenEngine(store_options, startup.engine, startup.logger);
}

}  // namespace

int main(int argc, char** argv) {
  // RocksDB's memtables grow in arena blocks of megabytes and free them all at each flush.
  // After such a free glibc raises its mmap threshold, later blocks come from the heap, and
  // their pages stay with the process: a fill of 4*10^6 jobs ended with 48 MiB more RSS
  // (bench/README.md). A fixed threshold keeps blocks of 1 MiB and more mmapped, so that a
  // freed memtable goes back to the system.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  herald::tools::ParsedCommandLine parsed = herald::tools::ParseCommandLine(argc, argv);
  if (parsed.exit_code) return *parsed.exit_code;
  if (parsed.line.admin) return herald::tools::RunAdmin(*parsed.line.admin, stdout, stderr);
  if (parsed.line.backup) return herald::tools::RunBackup(*parsed.line.backup, stdout, stderr);
  if (parsed.line.restore) return herald::tools::RunRestore(*parsed.line.restore, stdout, stderr);
  if (parsed.line.export_jobs) {
    return herald::tools::RunExport(*parsed.line.export_jobs, stdout, stderr);
  }
  if (parsed.line.import_jobs) return herald::tools::RunImport(*parsed.line.import_jobs, stderr);
  if (parsed.line.check) return herald::tools::RunCheck(*parsed.line.check, stdout, stderr);
  if (parsed.line.reload) {
    return herald::tools::RunReload(parsed.line.reload->connect, parsed.line.reload->password,
                                    stdout, stderr);
  }

  Startup startup;
  startup.logger = spdlog::stdout_color_mt("herald");
  spdlog::set_default_logger(startup.logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  if (Status status = Configure(parsed.line, &startup); !status.ok()) {
    spdlog::critical("{}", status.message());
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(startup.config.log_level));
  if (startup.config.log_format == "json") {
    spdlog::set_formatter(std::make_unique<herald::tools::JsonLogFormatter>());
  }

  // Block the shutdown signals in every thread; the running mode waits for them.
  sigemptyset(&startup.signals);
  sigaddset(&startup.signals, SIGTERM);
  sigaddset(&startup.signals, SIGINT);
  sigaddset(&startup.signals, SIGHUP);  // a config reload (Serve)
  pthread_sigmask(SIG_BLOCK, &startup.signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  spdlog::info("herald {} starting", herald::kHeraldVersion);
  if (parsed.line.worker) {
    int code = herald::tools::RunWorker(startup, *parsed.line.worker);
    if (code == 0) spdlog::info("herald stopped");
    return code;
  }
  auto engine = OpenEngine(startup);
  if (!engine.ok()) {
    spdlog::critical("cannot open the store {}: {}", StoreName(startup.config),
                     engine.status().message());
    return 1;
  }

  int code = herald::tools::Serve(startup, engine->get());
  (*engine)->Close();
  engine->reset();
  if (code == 0) spdlog::info("herald stopped");
  return code;
}
