#include "api/servers.h"

#include <spdlog/spdlog.h>

#include "common/background_runner.h"
#include "net/commands/builtin_commands.h"
#include "net/http/api_routes.h"
#include "net/http/dashboard_routes.h"
#include "net/http/event_stream.h"
#include "net/http/failure_index.h"
#include "net/http/http_server.h"
#include "net/http/queue_activity.h"
#include "net/http/stats_history.h"
#include "net/resp_server.h"
#include "net/server_state.h"

namespace herald::api {

// Declared in the order they are built; destroyed in reverse, so the HTTP server goes before
// the RESP server whose I/O threads it shares, and the runner before those threads' context.
struct Servers::Parts {
  engine::Broker* broker = nullptr;
  net::http::QueueActivity activity;
  std::unique_ptr<net::http::EventStream> event_stream;
  net::CommandTable table;
  std::unique_ptr<net::ServerState> state;
  std::unique_ptr<net::RespServer> resp;
  BackgroundRunner runner;
  std::unique_ptr<net::http::StatsHistory> history;
  std::unique_ptr<net::http::FailureIndex> failures;
  net::http::Router router;
  net::http::ApiContext api;
  std::unique_ptr<net::http::HttpServer> http;
  bool stopped = false;
};

Result<std::unique_ptr<Servers>> Servers::Start(engine::Broker* broker, Clock* clock,
                                                ServersConfig config,
                                                std::shared_ptr<spdlog::logger> logger) {
  auto parts = std::make_unique<Parts>();
  Parts& p = *parts;
  p.broker = broker;
  net::AddBuiltinCommands(&p.table);
  if (config.add_commands) config.add_commands(&p.table);
  if (std::string error; !p.table.Freeze(&error)) {
    return Status::Internal("command table: " + error);
  }
  p.state = std::make_unique<net::ServerState>(broker, &p.table, config.resp, logger);
  p.state->request_shutdown = config.request_shutdown ? config.request_shutdown : [] {};
  p.resp = std::make_unique<net::RespServer>(p.state.get(), logger);

  p.event_stream = std::make_unique<net::http::EventStream>(broker);
  p.history = std::make_unique<net::http::StatsHistory>(&broker->records(), &p.activity, clock);
  p.api.state = p.state.get();
  p.api.activity = &p.activity;
  p.api.mock_events = config.mock_events;
  p.api.runner = &p.runner;
  p.api.history = p.history.get();
  p.failures = std::make_unique<net::http::FailureIndex>(broker);
  p.api.failures = p.failures.get();
  net::http::AddQueueRoutes(&p.router, &p.api);
  net::http::AddEventRoutes(&p.router, &p.api);
  net::http::AddBulkRoutes(&p.router, &p.api);
  net::http::AddMetricsRoutes(&p.router, &p.api);
  net::http::AddDashboardRoutes(&p.router);
  if (config.add_routes) config.add_routes(&p.router, &p.runner);
  p.router.Freeze();

  if (Status status = p.resp->Start(); !status.ok()) {
    return status.WithPrefix("RESP server");
  }
  if (config.http) {
    p.http = std::make_unique<net::http::HttpServer>(p.state.get(), &p.router, config.http_options,
                                                     &p.resp->io_context(), logger);
    p.http->ServeEventStream(p.event_stream.get());
    p.api.http_stats = &p.http->stats();
    p.api.http_connections = [http = p.http.get()] { return http->connections(); };
    if (Status status = p.http->Start(); !status.ok()) {
      p.resp->Stop();
      return status.WithPrefix("HTTP server");
    }
  }
  // Last: a subscription cannot be taken back, so it is made only once nothing can fail.
  if (Status status = broker->events().Subscribe(
          [activity = &p.activity, stream = p.event_stream.get(),
           failures = p.failures.get()](const engine::JobEvent& event) {
            activity->Record(event);
            stream->Record(event);
            failures->Record(event);
          },
          "http");
      !status.ok()) {
    Servers failed(std::move(parts));
    return status;
  }
  p.history->Start();
  p.failures->Start();
  return std::unique_ptr<Servers>(new Servers(std::move(parts)));
}

Servers::Servers(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Servers::~Servers() {
  Stop();
  // After the broker's shutdown (see the header): the minute it writes counts the last
  // completions too.
  parts_->history->Stop();
}

void Servers::Stop() {
  if (parts_->stopped) return;
  parts_->stopped = true;
  if (parts_->http) parts_->http->Stop();
  parts_->resp->Stop();
  parts_->failures->Stop();
}

std::uint16_t Servers::resp_port() const { return parts_->resp->port(); }

std::uint16_t Servers::http_port() const { return parts_->http ? parts_->http->port() : 0; }

}  // namespace herald::api
