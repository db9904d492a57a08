#include "tools/herald/flags.h"

#include <CLI/CLI.hpp>

#include "common/version.h"

namespace herald::tools {
namespace {

// Adds an option that fills `target` only when given: a flag wins over the file only then.
template <typename T>
CLI::Option* AddOptional(CLI::App& app, const std::string& name, std::optional<T>& target,
                         const std::string& description) {
  return app.add_option_function<T>(
      name, [&target](const T& value) { target = value; }, description);
}

// --connect and --password of a subcommand that talks to a running server.
void AddConnectOptions(CLI::App* mode, std::string* connect, std::string* password) {
  mode->add_option("--connect", *connect, "the server's host:port")->capture_default_str();
  mode->add_option("--password", *password, "AUTH password");
}

}  // namespace

ParsedCommandLine ParseCommandLine(int argc, char** argv) {
  ParsedCommandLine parsed;
  CommandLine& line = parsed.line;
  CLI::App app{"herald: a persistent job-queue broker speaking RESP"};
  app.set_version_flag("--version", "herald " + std::string(herald::kHeraldVersion));
  app.add_option("--config", line.config_file, "TOML configuration file")->check(CLI::ExistingFile);
  AddOptional(app, "--data-dir", line.data_dir, "database directory");
  AddOptional(app, "--port", line.port, "RESP port (0 = any free port)");
  AddOptional(app, "--http-port", line.http_port, "HTTP port (0 = any free)");
  AddOptional(app, "--bind", line.bind, "address to listen on");
  AddOptional(app, "--workers", line.workers,
              "handler threads (0: leave the jobs to remote workers)")
      ->check(CLI::Range(0, 1024));
  AddOptional(app, "--fsync", line.fsync, "durability: always|everysec|no")
      ->check(CLI::IsMember({"always", "everysec", "no"}));
  AddOptional(app, "--log-level", line.log_level, "trace|debug|info|warn|error|critical|off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  AddOptional(app, "--log-format", line.log_format, "text|json (one JSON object per line)")
      ->check(CLI::IsMember({"text", "json"}));
  AddOptional(app, "--requirepass", line.requirepass, "password for clients");
  AddOptional(app, "--readonly-password", line.readonly_password,
              "HTTP password that may read everything and change nothing");
  AddOptional(app, "--timeout", line.timeout_s, "close clients idle this many seconds (0 = never)");
  app.add_option_function<std::string>(
         "--protected-mode",
         [&line](const std::string& value) { line.protected_mode = value == "yes"; },
         "yes|no: refuse non-loopback without password")
      ->check(CLI::IsMember({"yes", "no"}));
  AddOptional(app, "--store-conninfo", line.store_conninfo,
              "keep the queues in PostgreSQL: a libpq connection string");
  AddOptional(app, "--store-node", line.store_node,
              "this node's name in the PostgreSQL store (unique per node)");
  app.add_flag("--mock-events", line.mock_events, "enable POST /mock-events/* (development only)");
  app.add_option("--fault", line.faults,
                 "inject handler failures, e.g. emails:first=2 or notifications:rate=0.3,seed=7");
  app.fallthrough();

  WorkerFlags worker;
  CLI::App* worker_mode = app.add_subcommand(
      "worker", "run the notification handlers against a broker elsewhere, over RESP");
  worker_mode->add_option("--connect", worker.connect, "the broker's host:port")->required();
  worker_mode->add_option("--password", worker.password, "AUTH password of the broker");
  worker_mode->add_option("--queues", worker.queues, "queues to work on (default: all handled)")
      ->delimiter(',');
  worker_mode->add_option("--lease-ms", worker.lease_ms, "lease asked for each job")
      ->check(CLI::Range(1000, 86400000));

  AdminFlags admin;
  CLI::App* admin_mode = app.add_subcommand(
      "admin", "look into and manage a running Herald over RESP (tables, or --json)");
  AddConnectOptions(admin_mode, &admin.connect, &admin.password);
  admin_mode->add_flag("--json", admin.json, "JSON instead of tables");
  admin_mode->add_option("--count", admin.count, "jobs: how many to list")
      ->check(CLI::Range(1, 10000));
  admin_mode->add_option("--older-than", admin.older_than_ms, "clean: only jobs older (ms)")
      ->check(CLI::NonNegativeNumber);
  admin_mode->add_option("--limit", admin.limit, "clean: at most this many");
  admin_mode->add_option("--filter", admin.filter,
                         "retry: only failed jobs whose payload or last error holds this text");
  admin_mode->add_option("--type", admin.type, "retry: only failed jobs of this event type");
  admin_mode
      ->add_option("action", admin.action,
                   "stats | queues | jobs QUEUE STATE | show ID | retry QUEUE [ID ...] | "
                   "pause QUEUE | resume QUEUE | clean QUEUE STATE")
      ->required();
  admin_mode->add_option("args", admin.args, "the action's arguments");

  BackupFlags backup;
  CLI::App* backup_mode = app.add_subcommand(
      "backup", "an online backup of a running Herald, written into DIR on this machine");
  AddConnectOptions(backup_mode, &backup.connect, &backup.password);
  backup_mode->add_flag("--on-server", backup.on_server,
                        "the server writes DIR on its own machine instead");
  backup_mode->add_option("dir", backup.dir, "an empty or new directory")->required();

  RestoreFlags restore;
  CLI::App* restore_mode =
      app.add_subcommand("restore", "make a data directory from a backup, and check it");
  restore_mode->add_option("dir", restore.dir, "the backup's directory")->required();
  restore_mode->add_option("--data-dir", restore.data_dir, "the data directory to make")
      ->required();
  restore_mode->add_flag("--force", restore.force, "empty a non-empty --data-dir first");

  ExportFlags export_flags;
  CLI::App* export_mode = app.add_subcommand(
      "export", "jobs (and with --records the users' records) of a running Herald as JSON lines");
  AddConnectOptions(export_mode, &export_flags.connect, &export_flags.password);
  export_mode->add_option("--queue", export_flags.queues, "only these queues (repeatable)");
  export_mode->add_option("--state", export_flags.states, "only these states (repeatable)");
  export_mode->add_option("--since", export_flags.since,
                          "only jobs created since (ms, or 2026-12-01T00:00:00Z)");
  export_mode->add_flag("--records", export_flags.records,
                        "also preferences, inbox, delivery log and tickets");

  ImportFlags import_flags;
  CLI::App* import_mode =
      app.add_subcommand("import", "load an export into a running Herald (idempotent by id)");
  AddConnectOptions(import_mode, &import_flags.connect, &import_flags.password);
  import_mode->add_option("file", import_flags.file, "the export (- for standard input)")
      ->required();

  CheckFlags check;
  CLI::App* check_mode = app.add_subcommand(
      "check", "check offline that a store's indexes, records and counters agree");
  check_mode->add_option("--data-dir", check.data_dir, "the store")->required();
  check_mode->add_flag("--repair", check.repair,
                       "rebuild the indexes and counters from the records");

  AdminFlags reload;
  CLI::App* reload_mode = app.add_subcommand(
      "reload", "have a running Herald read its config file again (as SIGHUP does)");
  AddConnectOptions(reload_mode, &reload.connect, &reload.password);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    parsed.exit_code = app.exit(error);
    return parsed;
  }
  if (*worker_mode) line.worker = std::move(worker);
  if (*admin_mode) line.admin = std::move(admin);
  if (*backup_mode) line.backup = std::move(backup);
  if (*restore_mode) line.restore = std::move(restore);
  if (*export_mode) line.export_jobs = std::move(export_flags);
  if (*import_mode) line.import_jobs = std::move(import_flags);
  if (*check_mode) line.check = std::move(check);
  if (*reload_mode) line.reload = std::move(reload);
  return parsed;
}

void ApplyFlags(const CommandLine& line, HeraldConfig* config) {
  if (line.data_dir) config->data_dir = *line.data_dir;
  if (line.port) config->port = *line.port;
  if (line.http_port) config->http_port = *line.http_port;
  if (line.bind) config->bind = *line.bind;
  if (line.workers) config->workers = *line.workers;
  if (line.fsync) config->fsync = *line.fsync;
  if (line.log_level) config->log_level = *line.log_level;
  if (line.log_format) config->log_format = *line.log_format;
  if (line.requirepass) config->requirepass = *line.requirepass;
  if (line.readonly_password) config->readonly_password = *line.readonly_password;
  if (line.timeout_s) config->timeout_s = *line.timeout_s;
  if (line.protected_mode) config->protected_mode = *line.protected_mode;
  if (line.mock_events) config->mock_events = true;
  if (line.store_conninfo) {
    config->store_backend = "postgres";
    config->store_conninfo = *line.store_conninfo;
    config->store_clusters.clear();  // the flag names the one database, in place of a map
    config->store_queues.clear();
  }
  if (line.store_node) config->store_node = *line.store_node;
}

}  // namespace herald::tools
