// herald: the broker. Composition root: reads the configuration, opens the store, wires the
// engine, handlers and servers, and runs until SIGTERM/SIGINT or SHUTDOWN.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "engine/broker.h"
#include "engine/engine_config.h"
#include "handlers/handler_config.h"
#include "handlers/queries.h"
#include "handlers/registry.h"
#include "net/commands/builtin_commands.h"
#include "net/resp_server.h"
#include "net/server_state.h"
#include "storage/store.h"
#include "tools/herald/config.h"
#include "tools/herald/notification_commands.h"
#include "tools/herald/remote_worker.h"

namespace {

using herald::tools::HeraldConfig;

// Waits for SIGTERM or SIGINT, which main() blocks in every thread before any start.
int WaitForSignal(const sigset_t& signals) {
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  return signal_number;
}

}  // namespace

int main(int argc, char** argv) {
  HeraldConfig config;
  CLI::App app{"herald: a persistent job-queue broker speaking RESP"};
  app.set_version_flag("--version", "herald 0.1.0");
  std::string config_file;
  app.add_option("--config", config_file, "TOML configuration file")->check(CLI::ExistingFile);
  // Flags are parsed into a second struct and applied over the file, so flags win.
  HeraldConfig flags;
  auto* data_dir = app.add_option("--data-dir", flags.data_dir, "database directory");
  auto* port = app.add_option("--port", flags.port, "RESP port (0 = any free port)");
  auto* http_port = app.add_option("--http-port", flags.http_port, "HTTP port (0 = any free)");
  auto* bind = app.add_option("--bind", flags.bind, "address to listen on");
  auto* workers = app.add_option("--workers", flags.workers,
                                 "handler threads (0: leave the jobs to remote workers)")
                      ->check(CLI::Range(0, 1024));
  auto* fsync = app.add_option("--fsync", flags.fsync, "durability: always|everysec|no")
                    ->check(CLI::IsMember({"always", "everysec", "no"}));
  auto* log_level =
      app.add_option("--log-level", flags.log_level, "trace|debug|info|warn|error|critical|off")
          ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  auto* requirepass = app.add_option("--requirepass", flags.requirepass, "password for clients");
  auto* timeout = app.add_option("--timeout", flags.timeout_s,
                                 "close clients idle this many seconds (0 = never)");
  std::string protected_mode;
  app.add_option("--protected-mode", protected_mode, "yes|no: refuse non-loopback without password")
      ->check(CLI::IsMember({"yes", "no"}));
  bool mock_events = false;
  app.add_flag("--mock-events", mock_events, "enable POST /mock-events/* (development only)");
  std::vector<std::string> faults;
  app.add_option("--fault", faults,
                 "inject handler failures, e.g. emails:first=2 or notifications:rate=0.3,seed=7");
  app.fallthrough();
  CLI::App* worker_mode = app.add_subcommand(
      "worker", "run the notification handlers against a broker elsewhere, over RESP");
  std::string connect;
  worker_mode->add_option("--connect", connect, "the broker's host:port")->required();
  std::string worker_password;
  worker_mode->add_option("--password", worker_password, "AUTH password of the broker");
  std::vector<std::string> worker_queues;
  worker_mode->add_option("--queues", worker_queues, "queues to work on (default: all handled)")
      ->delimiter(',');
  std::int64_t worker_lease_ms = 60000;
  worker_mode->add_option("--lease-ms", worker_lease_ms, "lease asked for each job")
      ->check(CLI::Range(1000, 86400000));
  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stdout_color_mt("herald");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  if (!config_file.empty()) {
    herald::Status status = herald::tools::LoadConfigFile(config_file, &config);
    if (!status.ok()) {
      spdlog::critical("config: {}", status.message());
      return 2;
    }
  }
  if (*data_dir) config.data_dir = flags.data_dir;
  if (*port) config.port = flags.port;
  if (*http_port) config.http_port = flags.http_port;
  if (*bind) config.bind = flags.bind;
  if (*workers) config.workers = flags.workers;
  if (*fsync) config.fsync = flags.fsync;
  if (*log_level) config.log_level = flags.log_level;
  if (*requirepass) config.requirepass = flags.requirepass;
  if (*timeout) config.timeout_s = flags.timeout_s;
  if (!protected_mode.empty()) config.protected_mode = protected_mode == "yes";
  if (mock_events) config.mock_events = true;

  if (herald::Status status = herald::tools::ValidateConfig(config); !status.ok()) {
    spdlog::critical("config: {}", status.message());
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  // Block the shutdown signals in every thread; the main thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // ---- Configuration of the engine and the handlers ----------------------------------
  herald::engine::EngineConfig engine_config;
  herald::handlers::HandlersConfig handlers_config;
  if (!config.config_file.empty()) {
    herald::Status status = herald::engine::LoadEngineConfig(config.config_file, &engine_config);
    if (status.ok()) {
      status = herald::handlers::LoadHandlersConfig(config.config_file, &handlers_config);
    }
    if (!status.ok()) {
      spdlog::critical("config: {}", status.message());
      return 2;
    }
  }
  engine_config.workers = config.workers;
  handlers_config.data_dir = config.data_dir;
  for (const std::string& spec : faults) {
    herald::Status status = herald::handlers::ApplyFaultSpec(spec, &handlers_config);
    if (!status.ok()) {
      spdlog::critical("--fault: {}", status.message());
      return 2;
    }
  }
  if (herald::Status status = herald::handlers::ValidateHandlersConfig(handlers_config);
      !status.ok()) {
    spdlog::critical("config: {}", status.message());
    return 2;
  }

  spdlog::info("herald 0.1.0 starting");

  // ---- Store -----------------------------------------------------------------------------
  herald::storage::StoreOptions store_options;
  store_options.data_dir = config.data_dir;
  store_options.fsync = herald::storage::ParseFsyncMode(config.fsync).value();
  store_options.completed_retention = engine_config.completed_retention;
  store_options.logger = logger;
  auto store = herald::storage::Store::Open(store_options);
  if (!store.ok()) {
    spdlog::critical("cannot open the store in {}: {}", config.data_dir, store.status().message());
    return 1;
  }
  if ((*store)->recovered_active() > 0) {
    spdlog::warn("{} job(s) were active when herald last stopped; they are waiting again",
                 (*store)->recovered_active());
  }

  herald::engine::SystemClock clock;
  if (*worker_mode) {
    herald::tools::RemoteWorkerOptions options;
    if (herald::Status status = herald::tools::ParseHostPort(connect, &options.host, &options.port);
        !status.ok()) {
      spdlog::critical("--connect: {}", status.message());
      return 2;
    }
    options.password = worker_password;
    options.threads = config.workers;
    if (options.threads == 0) {
      spdlog::critical("a worker needs --workers of at least 1");
      return 2;
    }
    options.lease_ms = worker_lease_ms;
    // Handlers keep their records (delivery log, inbox, tickets) in the local store.
    herald::engine::Records records(store->get());
    auto built = herald::handlers::BuildHandlers(handlers_config, &records, &clock, logger);
    if (!built.ok()) {
      spdlog::critical("handlers: {}", built.status().message());
      return 1;
    }
    std::map<std::string, std::shared_ptr<herald::engine::Handler>> chosen;
    for (auto& [queue, handler] : *built) {
      bool wanted = worker_queues.empty() || std::find(worker_queues.begin(), worker_queues.end(),
                                                       queue) != worker_queues.end();
      if (wanted) chosen.emplace(queue, std::move(handler));
    }
    if (chosen.empty()) {
      spdlog::critical("no handler for the queues asked for");
      return 2;
    }
    std::string names;
    for (const auto& [queue, handler] : chosen) names += (names.empty() ? "" : ", ") + queue;
    herald::tools::RemoteWorker worker(options, std::move(chosen), logger);
    spdlog::info("herald worker: {} thread(s) on {} from {}", options.threads, names, connect);
    spdlog::info("herald ready");
    std::stop_source stop;
    std::jthread runner([&] { worker.Run(stop.get_token()); });
    int signal_number = WaitForSignal(signals);
    spdlog::info("signal {} received, finishing the jobs in hand", signal_number);
    stop.request_stop();
    runner.join();
    spdlog::info("herald worker stopped: {} completed, {} failed attempts", worker.completed(),
                 worker.failed());
    return 0;
  }

  // ---- Engine and handlers ---------------------------------------------------------------
  auto broker = herald::engine::Broker::Create(store->get(), engine_config, &clock, logger);
  if (!broker.ok()) {
    spdlog::critical("engine: {}", broker.status().message());
    return 1;
  }
  auto handlers =
      herald::handlers::BuildHandlers(handlers_config, &(*broker)->records(), &clock, logger);
  if (!handlers.ok()) {
    spdlog::critical("handlers: {}", handlers.status().message());
    return 1;
  }
  for (auto& [queue, handler] : *handlers) {
    herald::Status status = (*broker)->RegisterHandler(queue, std::move(handler));
    if (!status.ok()) {
      spdlog::critical("handler for {}: {}", queue, status.message());
      return 1;
    }
  }

  // ---- RESP server -----------------------------------------------------------------------
  herald::handlers::NotificationQueries queries(&(*broker)->records());
  herald::net::CommandTable table;
  herald::net::AddBuiltinCommands(&table);
  herald::tools::AddNotificationCommands(&table, &queries);
  if (std::string error; !table.Freeze(&error)) {
    spdlog::critical("command table: {}", error);
    return 1;
  }
  herald::net::ServerOptions server_options;
  server_options.bind = config.bind;
  server_options.port = config.port;
  server_options.requirepass = config.requirepass;
  server_options.protected_mode = config.protected_mode;
  server_options.idle_timeout_s = config.timeout_s;
  server_options.fsync_mode = config.fsync;
  server_options.offload_writes = config.fsync == "always";
  herald::net::ServerState state(broker->get(), &table, server_options);
  state.request_shutdown = [] { kill(getpid(), SIGTERM); };
  herald::net::RespServer server(&state, logger);

  if (herald::Status status = (*broker)->Start(); !status.ok()) {
    spdlog::critical("engine: {}", status.message());
    return 1;
  }
  if (herald::Status status = server.Start(); !status.ok()) {
    spdlog::critical("RESP server: {}", status.message());
    (*broker)->Shutdown();
    return 1;
  }

  std::string queue_list;
  for (const std::string& queue : (*broker)->Queues()) {
    auto policy = (*broker)->Policy(queue);
    if (!queue_list.empty()) queue_list += ", ";
    queue_list += queue;
    if (policy.ok()) {
      queue_list += " (" + std::to_string(policy->max_attempts) + " attempts, " +
                    std::string(herald::storage::BackoffTypeName(policy->backoff_type)) + " " +
                    std::to_string(policy->backoff_ms) + " ms)";
    }
  }
  spdlog::info("  data dir   {}", config.data_dir);
  spdlog::info("  fsync      {}", config.fsync);
  spdlog::info("  workers    {}", config.workers);
  spdlog::info("  queues     {}", queue_list);
  spdlog::info("  RESP       {}:{}", config.bind, server.port());
  if (config.timeout_s > 0) spdlog::info("  timeout    {} s idle", config.timeout_s);
  spdlog::info("herald ready");

  int signal_number = WaitForSignal(signals);
  spdlog::info("signal {} received, shutting down", signal_number);
  server.Stop();
  if (!(*broker)->Shutdown()) {
    // A handler ignored its stop token and still runs on a worker thread, which nothing can
    // stop from outside; waiting for it could take forever. Every acknowledged write is in
    // the WAL, so leaving without closing the store is as safe as kill -9: its job is waiting
    // again at the next start.
    spdlog::error("herald stopped with a handler still running");
    spdlog::shutdown();
    std::_Exit(1);
  }
  broker->reset();
  store->reset();
  spdlog::info("herald stopped");
  return 0;
}
