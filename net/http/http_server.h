// HttpServer: the HTTP/1.1 listener (Boost.Beast) of the JSON API, the event endpoints, the
// metrics and the dashboard. It runs on an io_context it is given — the RESP server's, so that
// both share the I/O threads — and each connection lives on its own strand (HttpSession).
//
// Every request is checked the same way before its route runs: size limits (413), the
// password when requirepass is set (401; HTTP Basic with any user name, or Bearer), the
// read-only password against routes that write (403), protected mode (403 for a client not on
// loopback while there is no password). Routes run on the I/O thread under a SyncDeferral: in
// `always` mode their answers leave only once one WAL sync covers what they wrote (and what
// they may show of others' writes), as the RESP replies do.
//
// Thread safety: Start/Stop from one thread (the composition root).
// Lifetime: `state`, `router` and `io` must outlive the server; Stop() before the io_context
// stops running.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>

#include "common/status.h"
#include "net/http/http_options.h"
#include "net/http/router.h"
#include "net/server_state.h"

namespace spdlog {
class logger;
}

namespace herald::net::http {

class EventStream;
class SessionRegistry;

// Counters of the HTTP side, for /metrics and INFO.
struct HttpStats {
  std::atomic<std::uint64_t> connections_received{0};
  std::atomic<std::uint64_t> connections_rejected{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> errors{0};           // answers with a 4xx or 5xx status
  std::atomic<std::uint64_t> streams{0};          // event stream clients now
  std::atomic<std::uint64_t> streams_dropped{0};  // dropped for not reading
};

class HttpServer {
 public:
  HttpServer(ServerState* state, const Router* router, HttpOptions options,
             boost::asio::io_context* io, std::shared_ptr<spdlog::logger> logger);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // What GET routes answering an event stream send (see EventStream); null = none. Before
  // Start. `events` must outlive the server.
  void ServeEventStream(EventStream* events) { events_ = events; }
  // Binds and listens: InvalidArgument for a bad address, IOError when the port is taken.
  Status Start();
  // Stops accepting, closes every connection (waiting up to 2 s for them). Idempotent.
  void Stop();
  std::uint16_t port() const { return port_; }
  const HttpStats& stats() const { return *stats_; }
  // Connections open now.
  std::uint64_t connections() const;

 private:
  void Accept();

  ServerState* state_;
  const Router* router_;
  HttpOptions options_;
  boost::asio::io_context* io_;
  std::shared_ptr<spdlog::logger> logger_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<SessionRegistry> sessions_;
  std::shared_ptr<HttpStats> stats_;
  EventStream* events_ = nullptr;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
  std::promise<void> accept_ended_;  // set by the accept loop's last completion
};

}  // namespace herald::net::http
