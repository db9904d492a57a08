// HttpSession: one HTTP/1.1 connection on its strand. Reads a request's header (within the
// idle timeout), then its body (within the request timeout, bounded by the body limit), checks
// it (see HttpServer), runs its route, writes the answer, and reads the next while the client
// keeps the connection alive. Malformed requests are answered 400 and the connection closed;
// oversized ones 413.
//
// SessionRegistry: the sessions of one server, for Stop and the connection limit; shared by
// the server and its sessions so that a session outliving Stop finds it still there.
//
// Thread safety: a session is confined to its strand; SessionRegistry is thread-safe.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "common/mutex.h"
#include "net/http/event_stream.h"
#include "net/http/http_message.h"
#include "net/http/http_options.h"
#include "net/http/router.h"
#include "net/server_state.h"

namespace spdlog {
class logger;
}

namespace herald::net::http {

struct HttpStats;
class HttpSession;

class SessionRegistry {
 public:
  // Registers a session; false (nothing registered) when `limit` are open already.
  bool Add(std::uint64_t id, const std::shared_ptr<HttpSession>& session, std::uint32_t limit);
  void Remove(std::uint64_t id);
  std::uint64_t size() const;
  // Closes every session, then waits for them to go, at most `limit`; false when some remain.
  bool CloseAll(std::chrono::milliseconds limit);

 private:
  mutable Mutex mu_;
  std::map<std::uint64_t, std::weak_ptr<HttpSession>> sessions_ GUARDED_BY(mu_);
  std::condition_variable_any gone_cv_;
};

// What every session of one server shares.
struct SessionContext {
  ServerState* state = nullptr;
  const Router* router = nullptr;
  HttpOptions options;
  std::shared_ptr<spdlog::logger> logger;
  std::shared_ptr<HttpStats> stats;
  std::shared_ptr<SessionRegistry> registry;
  EventStream* events = nullptr;  // null: no event stream served
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<const SessionContext> context,
              std::uint64_t id);
  ~HttpSession();

  void Start();
  // Closes the connection from any thread (on the strand).
  void Close();
  // Answers one request with `response` and closes, without reading (refused connections).
  void Refuse(HttpResponse response);

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  void ReadHeader();
  void OnHeader(boost::beast::error_code ec);
  void OnRequest(boost::beast::error_code ec);
  void OnReadError(boost::beast::error_code ec);
  // Checks and routes the request read; answers, at once or after the sync covering it.
  void Handle(Request& request);
  // The answer of the route (its status 0 when the route is deferred: *deferred is set then).
  HttpResponse RouteRequest(Request& request, HttpRequest* out, bool* writes,
                            const Route** deferred);
  // Sends `response`: at once, or after the WAL sync that covers what it may confirm or show.
  void Answer(HttpResponse response, bool keep_alive, bool head, bool writes);
  // Whether the client on this socket is refused by protected mode (as the RESP server).
  bool DeniedByProtectedMode() const;
  void Write(HttpResponse response, bool keep_alive, bool head);
  void OnWritten(boost::beast::error_code ec, bool keep_alive);
  void Shutdown();
  // Event stream: after the header, a tick every stream_tick_ms sends what is new.
  void StartStream();
  void StreamTick();

  boost::beast::tcp_stream stream_;
  std::shared_ptr<const SessionContext> context_;
  std::uint64_t id_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::string client_;
  bool closed_ = false;
  // Event stream state (unused otherwise).
  std::optional<boost::asio::steady_timer> stream_timer_;
  EventStream::Cursor stream_cursor_;
  bool streaming_ = false;
  bool stream_writing_ = false;
  std::chrono::steady_clock::time_point stream_write_started_;
  std::chrono::steady_clock::time_point stream_last_sent_;
  char stream_read_byte_ = 0;
};

}  // namespace herald::net::http
