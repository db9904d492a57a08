// herald: the broker. Composition root: reads the configuration, opens the store, wires the
// engine, handlers and servers, and runs until SIGTERM/SIGINT or SHUTDOWN.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <string>

#include "tools/herald/config.h"

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
  auto* workers = app.add_option("--workers", flags.workers, "handler threads")->check(
      CLI::Range(1, 1024));
  auto* fsync = app.add_option("--fsync", flags.fsync, "durability: always|everysec|no")
                    ->check(CLI::IsMember({"always", "everysec", "no"}));
  auto* log_level =
      app.add_option("--log-level", flags.log_level, "trace|debug|info|warn|error|critical|off")
          ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  auto* requirepass = app.add_option("--requirepass", flags.requirepass, "password for clients");
  std::string protected_mode;
  app.add_option("--protected-mode", protected_mode, "yes|no: refuse non-loopback without password")
      ->check(CLI::IsMember({"yes", "no"}));
  bool mock_events = false;
  app.add_flag("--mock-events", mock_events, "enable POST /mock-events/* (development only)");
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

  spdlog::info("herald 0.1.0 starting");
  spdlog::info("  data dir   {}", config.data_dir);
  spdlog::info("  fsync      {}", config.fsync);
  spdlog::info("  workers    {}", config.workers);
  spdlog::info("  RESP       {}:{}", config.bind, config.port);
  spdlog::info("  HTTP       {}:{}", config.bind, config.http_port);
  spdlog::info("herald ready");

  int signal_number = WaitForSignal(signals);
  spdlog::info("signal {} received, shutting down", signal_number);
  spdlog::info("herald stopped");
  return 0;
}
