#include "tools/herald/serve.h"

#include <spdlog/spdlog.h>

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/clock.h"
#include "engine/broker.h"
#include "handlers/queries.h"
#include "handlers/registry.h"
#include "net/commands/builtin_commands.h"
#include "net/http/api_routes.h"
#include "net/http/background_runner.h"
#include "net/http/dashboard_routes.h"
#include "net/http/event_stream.h"
#include "net/http/http_server.h"
#include "net/http/queue_activity.h"
#include "net/http/stats_history.h"
#include "net/resp_server.h"
#include "net/server_state.h"
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

int Serve(const Startup& startup, storage::Store* store) {
  const HeraldConfig& config = startup.config;
  SystemClock clock;
  // Before the broker: its job events reach `activity` until the broker has shut down.
  net::http::QueueActivity activity;
  std::unique_ptr<net::http::EventStream> event_stream;
  auto broker = engine::Broker::Create(store, startup.engine, &clock, startup.logger);
  if (!broker.ok()) {
    spdlog::critical("engine: {}", broker.status().message());
    return 1;
  }
  auto handlers =
      handlers::BuildHandlers(startup.handlers, &(*broker)->records(), &clock, startup.logger);
  if (!handlers.ok()) {
    spdlog::critical("handlers: {}", handlers.status().message());
    return 1;
  }
  for (auto& [queue, handler] : *handlers) {
    if (Status status = (*broker)->RegisterHandler(queue, std::move(handler)); !status.ok()) {
      spdlog::critical("handler for {}: {}", queue, status.message());
      return 1;
    }
  }

  handlers::NotificationQueries queries(&(*broker)->records());
  net::CommandTable table;
  net::AddBuiltinCommands(&table);
  AddNotificationCommands(&table, &queries);
  if (std::string error; !table.Freeze(&error)) {
    spdlog::critical("command table: {}", error);
    return 1;
  }
  net::ServerState state(broker->get(), &table, ServerOptionsOf(config));
  state.request_shutdown = [] { kill(getpid(), SIGTERM); };
  net::RespServer server(&state, startup.logger);

  event_stream = std::make_unique<net::http::EventStream>(broker->get());
  if (Status status = (*broker)->events().Subscribe(
          [&activity, &event_stream](const engine::JobEvent& event) {
            activity.Record(event);
            event_stream->Record(event);
          },
          "http");
      !status.ok()) {
    spdlog::critical("engine: {}", status.message());
    return 1;
  }
  // After the server: it stops (and its last answers are posted) while the I/O threads' context
  // is still there.
  net::http::BackgroundRunner runner;
  net::http::StatsHistory history(&(*broker)->records(), &activity, &clock);
  net::http::Router router;
  net::http::ApiContext api;
  api.state = &state;
  api.activity = &activity;
  api.mock_events = config.mock_events;
  api.runner = &runner;
  api.history = &history;
  net::http::AddQueueRoutes(&router, &api);
  net::http::AddEventRoutes(&router, &api);
  net::http::AddBulkRoutes(&router, &api);
  net::http::AddMetricsRoutes(&router, &api);
  net::http::AddDashboardRoutes(&router);
  AddNotificationRoutes(&router, &queries, broker->get());
  router.Freeze();

  if (Status status = (*broker)->Start(); !status.ok()) {
    spdlog::critical("engine: {}", status.message());
    return 1;
  }
  if (Status status = server.Start(); !status.ok()) {
    spdlog::critical("RESP server: {}", status.message());
    (*broker)->Shutdown();
    return 1;
  }
  net::http::HttpServer http(&state, &router, HttpOptionsOf(config), &server.io_context(),
                             startup.logger);
  http.ServeEventStream(event_stream.get());
  api.http_stats = &http.stats();
  api.http_connections = [&http] { return http.connections(); };
  if (Status status = http.Start(); !status.ok()) {
    spdlog::critical("HTTP server: {}", status.message());
    server.Stop();
    (*broker)->Shutdown();
    return 1;
  }
  spdlog::info("  data dir   {}", config.data_dir);
  spdlog::info("  fsync      {}", config.fsync);
  spdlog::info("  workers    {}", config.workers);
  spdlog::info("  queues     {}", DescribeQueues(**broker));
  spdlog::info("  RESP       {}:{}", config.bind, server.port());
  spdlog::info("  HTTP       http://{}:{}/ (API under /api, /metrics{})", config.bind, http.port(),
               config.mock_events ? ", /mock-events" : "");
  if (config.timeout_s > 0) spdlog::info("  timeout    {} s idle", config.timeout_s);
  history.Start();
  spdlog::info("herald ready");

  int signal_number = WaitForSignal(startup.signals);
  spdlog::info("signal {} received, shutting down", signal_number);
  http.Stop();
  server.Stop();
  const bool stopped_all = (*broker)->Shutdown();
  // After the broker: its shutdown delivers the job events still queued, so the current
  // minute it writes counts the last completions too. The store is still open.
  history.Stop();
  if (!stopped_all) {
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
