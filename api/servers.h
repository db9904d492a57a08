// Servers: the RESP server and the HTTP server (dashboard, JSON API, /metrics, the live event
// stream) of one broker, as Engine::StartServers and the `herald` server run them. The
// server adds its own commands and routes (the notification handlers') through the hooks.
//
// Order: Start after the broker started; Stop before Broker::Shutdown (no new requests), and
// destroy only after it (its subscribers still count the job events Shutdown delivers).
//
// Thread safety: Start, Stop and the destructor from one thread; the rest is read-only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "common/clock.h"
#include "common/status.h"
#include "engine/broker.h"
#include "net/command_table.h"
#include "net/http/http_options.h"
#include "net/http/router.h"
#include "net/server_options.h"

namespace spdlog {
class logger;
}

namespace herald {
class BackgroundRunner;
}

namespace herald::api {

struct ServersConfig {
  net::ServerOptions resp;
  // Default: on.
  bool http = true;
  net::http::HttpOptions http_options;
  // POST /mock-events/*. Default: off.
  bool mock_events = false;
  // More commands and routes, added before the table and the router are frozen. Default: none.
  std::function<void(net::CommandTable*)> add_commands;
  // Routes that read much run their work on `runner` (the API's background thread).
  std::function<void(net::http::Router*, BackgroundRunner* runner)> add_routes;
  // What SHUTDOWN does. Default: nothing (SHUTDOWN is answered, the process goes on).
  std::function<void()> request_shutdown;
};

class Servers {
 public:
  // Binds both ports and starts serving. InvalidArgument for a bad address or a public bind
  // without a password; IOError when a port is taken. `broker`, `clock` must outlive this.
  static Result<std::unique_ptr<Servers>> Start(engine::Broker* broker, Clock* clock,
                                                ServersConfig config,
                                                std::shared_ptr<spdlog::logger> logger);
  ~Servers();  // Stop()
  Servers(const Servers&) = delete;
  Servers& operator=(const Servers&) = delete;

  // Closes the listeners and the connections; idempotent.
  void Stop();
  std::uint16_t resp_port() const;
  std::uint16_t http_port() const;  // 0 without HTTP

  struct Parts;

 private:
  explicit Servers(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace herald::api
