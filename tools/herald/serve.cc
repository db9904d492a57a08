#include "tools/herald/serve.h"

#include <spdlog/spdlog.h>

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "api/engine_impl.h"
#include "common/clock.h"
#include "engine/broker.h"
#include "handlers/queries.h"
#include "handlers/registry.h"
#include "net/command_context.h"
#include "tools/herald/config_reload.h"
#include "tools/herald/notification_commands.h"
#include "tools/herald/notification_routes.h"

namespace herald::tools {
namespace {

// "emails (5 attempts, exponential 2000 ms), ..." for the start-up banner.
std::string DescribeQueues(const engine::Broker& broker) {
  std::string list;
  for (const std::string& queue : broker.Queues()) {
    auto policy = broker.Policy(queue);
    if (!list.empty()) list += ", ";
    list += queue;
    if (policy.ok()) {
      list += " (" + std::to_string(policy->max_attempts) + " attempts, " +
              std::string(storage::BackoffTypeName(policy->backoff_type)) + " " +
              std::to_string(policy->backoff_ms) + " ms)";
    }
  }
  return list;
}

net::ServerOptions ServerOptionsOf(const HeraldConfig& config) {
  net::ServerOptions options;
  options.bind = config.bind;
  options.port = config.port;
  options.requirepass = config.requirepass;
  options.protected_mode = config.protected_mode;
  options.idle_timeout_s = config.timeout_s;
  options.fsync_mode = config.fsync;
  return options;
}

net::http::HttpOptions HttpOptionsOf(const HeraldConfig& config) {
  net::http::HttpOptions options;
  options.bind = config.bind;
  options.port = config.http_port;
  options.readonly_password = config.readonly_password;
  return options;
}

}  // namespace

int Serve(const Startup& startup, Engine* engine) {
  const HeraldConfig& config = startup.config;
  engine::Broker* broker = engine->impl().broker.get();
  Clock* clock = &engine->impl().clock;
  std::shared_ptr<handlers::LiveTemplates> templates;
  auto handlers = handlers::BuildHandlers(startup.handlers, &broker->records(), clock,
                                          startup.logger, &templates);
  if (!handlers.ok()) {
    spdlog::critical("handlers: {}", handlers.status().message());
    return 1;
  }
  for (auto& [queue, handler] : *handlers) {
    if (Status status = broker->RegisterHandler(queue, std::move(handler)); !status.ok()) {
      spdlog::critical("handler for {}: {}", queue, status.message());
      return 1;
    }
  }
  handlers::NotificationQueries queries(&broker->records());
  ConfigReloader reloader(config.config_file, config.data_dir, broker, templates);
  api::ServersConfig servers;
  servers.resp = ServerOptionsOf(config);
  servers.http_options = HttpOptionsOf(config);
  servers.mock_events = config.mock_events;
  servers.add_commands = [&queries, &reloader](net::CommandTable* table) {
    AddNotificationCommands(table, &queries);
    table->Add({.name = "reload",
                .arity = 1,
                .flags = net::kAdmin,
                .group = "server",
                .summary = "Read the config file again: queue policies, routes, contracts, "
                           "templates",
                .handler = [&reloader](net::CommandContext& ctx, net::Args) {
                  auto reloaded = reloader.Reload();
                  if (!reloaded.ok()) {
                    spdlog::error("reload refused, the running configuration is kept: {}",
                                  reloaded.status().message());
                    return ctx.Error("ERR reload: " + reloaded.status().message());
                  }
                  ctx.reply().SimpleString("OK " + *reloaded);
                }});
  };
  servers.add_routes = [&queries, broker](net::http::Router* router, BackgroundRunner* runner) {
    AddNotificationRoutes(router, &queries, broker, runner);
  };
  servers.request_shutdown = [] { kill(getpid(), SIGTERM); };
  // Before the workers start: the servers' counters see every job event from the first.
  auto ports = api::StartServers(engine, std::move(servers));
  if (!ports.ok()) {
    spdlog::critical("{}", ports.status().message());
    engine->Close();
    return 1;
  }
  if (Status status = engine->Start(); !status.ok()) {
    spdlog::critical("engine: {}", status.message());
    engine->Close();
    return 1;
  }
  if (config.store_backend == "postgres") {
    spdlog::info("  store      postgres, node {} (every commit durable)", config.store_node);
  } else {
    spdlog::info("  data dir   {}", config.data_dir);
    spdlog::info("  fsync      {}", config.fsync);
  }
  spdlog::info("  workers    {}", config.workers);
  spdlog::info("  queues     {}", DescribeQueues(*broker));
  spdlog::info("  RESP       {}:{}", config.bind, ports->resp);
  spdlog::info("  HTTP       http://{}:{}/ (API under /api, /metrics{})", config.bind, ports->http,
               config.mock_events ? ", /mock-events" : "");
  if (config.timeout_s > 0) spdlog::info("  timeout    {} s idle", config.timeout_s);
  spdlog::info("herald ready");

  int signal_number = 0;
  while ((signal_number = WaitForSignal(startup.signals)) == SIGHUP) {
    auto reloaded = reloader.Reload();
    if (!reloaded.ok()) {
      spdlog::error("SIGHUP: reload refused, the running configuration is kept: {}",
                    reloaded.status().message());
    }
  }
  spdlog::info("signal {} received, shutting down", signal_number);
  if (!engine->Close()) {
    // A handler ignored its stop token and still runs on a worker thread, which nothing can
    // stop from outside; waiting for it could take forever. Every acknowledged write is in
    // the WAL, so leaving without closing the store is as safe as kill -9: its job is waiting
    // again at the next start.
    spdlog::error("herald stopped with a handler still running");
    spdlog::shutdown();
    std::_Exit(1);
  }
  return 0;
}

}  // namespace herald::tools
