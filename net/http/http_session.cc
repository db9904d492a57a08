#include "net/http/http_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>

#include "common/secret.h"
#include "net/http/http_server.h"

namespace herald::net::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

// RFC 4648 base64 (padding optional); nullopt for a character outside the alphabet.
std::optional<std::string> DecodeBase64(std::string_view text) {
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int value;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      value = c - '0' + 52;
    } else if (c == '+') {
      value = 62;
    } else if (c == '/') {
      value = 63;
    } else if (c == '=') {
      break;
    } else {
      return std::nullopt;
    }
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

// The secret a request presents: the password of HTTP Basic (any user name), or a Bearer token.
std::optional<std::string> PresentedSecret(std::string_view header) {
  if (StartsWithIgnoreCase(header, "Basic ")) {
    auto decoded = DecodeBase64(header.substr(6));
    if (!decoded) return std::nullopt;
    std::size_t colon = decoded->find(':');
    return colon == std::string::npos ? *decoded : decoded->substr(colon + 1);
  }
  if (StartsWithIgnoreCase(header, "Bearer ")) return std::string(header.substr(7));
  return std::nullopt;
}

bool IsLoopback(const asio::ip::address& address) {
  if (address.is_loopback()) return true;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).is_loopback();
  }
  return false;
}

HttpResponse Unauthorized(std::string_view message) {
  HttpResponse response = ErrorResponse(401, "unauthorized", message);
  response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"herald\", charset=\"UTF-8\"");
  return response;
}

const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

// ---- SessionRegistry ---------------------------------------------------------------------------

bool SessionRegistry::Add(std::uint64_t id, const std::shared_ptr<HttpSession>& session,
                          std::uint32_t limit) {
  MutexLock lock(&mu_);
  if (sessions_.size() >= limit) return false;
  sessions_[id] = session;
  return true;
}

void SessionRegistry::Remove(std::uint64_t id) {
  {
    MutexLock lock(&mu_);
    sessions_.erase(id);
  }
  gone_cv_.notify_all();
}

std::uint64_t SessionRegistry::size() const {
  MutexLock lock(&mu_);
  return sessions_.size();
}

bool SessionRegistry::CloseAll(std::chrono::milliseconds limit) {
  std::vector<std::shared_ptr<HttpSession>> open;
  {
    MutexLock lock(&mu_);
    for (auto& [id, weak] : sessions_) {
      if (auto session = weak.lock()) open.push_back(std::move(session));
    }
  }
  for (auto& session : open) session->Close();
  open.clear();
  MutexLock lock(&mu_);
  return gone_cv_.wait_for(mu_, limit, [this]() REQUIRES(mu_) { return sessions_.empty(); });
}

// ---- HttpSession -------------------------------------------------------------------------------

HttpSession::HttpSession(asio::ip::tcp::socket socket,
                         std::shared_ptr<const SessionContext> context, std::uint64_t id)
    : stream_(std::move(socket)), context_(std::move(context)), id_(id) {
  boost::system::error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  if (!ec) client_ = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

HttpSession::~HttpSession() { context_->registry->Remove(id_); }

void HttpSession::Start() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
}

void HttpSession::Close() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->Shutdown(); });
}

void HttpSession::Refuse(HttpResponse response) {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this(), response]() mutable {
    self->Write(std::move(response), false, false);
  });
}

void HttpSession::ReadHeader() {
  if (closed_) return;
  parser_.emplace();
  parser_->header_limit(context_->options.header_limit);
  parser_->body_limit(context_->options.body_limit);
  stream_.expires_after(std::chrono::milliseconds(context_->options.idle_timeout_ms));
  bhttp::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
}

void HttpSession::OnHeader(beast::error_code ec) {
  if (ec) return OnReadError(ec);
  stream_.expires_after(std::chrono::milliseconds(context_->options.request_timeout_ms));
  auto read_body = [self = shared_from_this()] {
    bhttp::async_read(self->stream_, self->buffer_, *self->parser_,
                      [self](beast::error_code read_ec, std::size_t) { self->OnRequest(read_ec); });
  };
  // A client that asks before sending its body (curl does above 1 KiB) is told to go on; one
  // whose body is too large has already been refused by the parser.
  if (StartsWithIgnoreCase(parser_->get()[bhttp::field::expect], "100-continue") &&
      !parser_->is_done()) {
    asio::async_write(
        stream_, asio::buffer(kContinue),
        [self = shared_from_this(), read_body](beast::error_code write_ec, std::size_t) {
          if (write_ec) return self->Shutdown();
          read_body();
        });
    return;
  }
  read_body();
}

void HttpSession::OnReadError(beast::error_code ec) {
  if (closed_ || ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
      ec == beast::error::timeout) {
    if (ec == beast::error::timeout) {
      context_->logger->debug("http {}: closed after the read timeout", client_);
    }
    return Shutdown();
  }
  ++context_->stats->requests;
  if (ec == bhttp::error::header_limit) {
    return Write(ErrorResponse(413, "payload_too_large",
                               "request header larger than " +
                                   std::to_string(context_->options.header_limit) + " bytes"),
                 false, false);
  }
  if (ec == bhttp::error::body_limit) {
    return Write(ErrorResponse(413, "payload_too_large",
                               "request body larger than " +
                                   std::to_string(context_->options.body_limit) + " bytes"),
                 false, false);
  }
  Write(ErrorResponse(400, "bad_request", "malformed HTTP request: " + ec.message()), false, false);
}

void HttpSession::OnRequest(beast::error_code ec) {
  if (ec) return OnReadError(ec);
  Request request = parser_->release();
  ++context_->stats->requests;
  Handle(request);
}

bool HttpSession::DeniedByProtectedMode() const {
  const ServerConfig& config = context_->state->config();
  if (!config.protected_mode() || config.password_required()) return false;
  boost::system::error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  return !ec && !IsLoopback(endpoint.address());
}

HttpResponse HttpSession::RouteRequest(Request& request, HttpRequest* out, bool* writes,
                                       const Route** deferred) {
  *writes = false;
  *deferred = nullptr;
  if (DeniedByProtectedMode()) {
    return ErrorResponse(403, "forbidden",
                         "protected mode: no password is set, so only clients on the loopback "
                         "interface are served; set requirepass or turn protected mode off");
  }
  auto target = boost::urls::parse_origin_form(request.target());
  if (!target) return ErrorResponse(400, "bad_request", "malformed request target");
  out->method =
      request.method() == bhttp::verb::head ? "GET" : std::string(request.method_string());
  out->path = target->path();
  for (std::string segment : target->segments()) out->segments.push_back(std::move(segment));
  for (auto param : target->params()) out->query[param.key] = param.value;
  out->content_type = std::string(request[bhttp::field::content_type]);
  for (const auto& field : request) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "authorization") continue;  // secrets stay in the session
    out->headers[std::move(name)] = std::string(field.value());
  }
  out->client = client_;

  Router::Match match = context_->router->Find(out->method, out);
  if (match.route == nullptr) {
    if (match.status == 405) {
      HttpResponse response =
          ErrorResponse(405, "method_not_allowed", out->method + " is not allowed on " + out->path);
      response.headers.emplace_back("Allow", match.allow);
      return response;
    }
    return ErrorResponse(404, "not_found", "no such endpoint: " + out->path);
  }
  const Route& route = *match.route;
  *writes = (route.flags & kWrites) != 0;
  if ((route.flags & kPublic) == 0 && context_->state->config().password_required()) {
    auto secret = PresentedSecret(request[bhttp::field::authorization]);
    if (!secret) return Unauthorized("a password is required (HTTP Basic or Bearer)");
    const std::string& read_only = context_->options.readonly_password;
    if (context_->state->config().CheckPassword(*secret)) {
      out->read_only = false;
    } else if (!read_only.empty() && SameSecret(*secret, read_only)) {
      out->read_only = true;
    } else {
      return Unauthorized("wrong password");
    }
    if (out->read_only && *writes) {
      return ErrorResponse(403, "forbidden", "the read-only password cannot change anything");
    }
  }
  out->body = std::move(request.body());
  if (route.deferred) {
    *deferred = &route;
    HttpResponse later;
    later.status = 0;
    return later;
  }
  try {
    return route.handler(*out);
  } catch (const std::exception& error) {
    context_->logger->error("http {} {}: {}", out->method, out->path, error.what());
    return ErrorResponse(500, "internal", error.what());
  }
}

void HttpSession::Handle(Request& request) {
  bool keep_alive = request.keep_alive();
  bool head = request.method() == bhttp::verb::head;
  engine::Durability& durability = context_->state->broker().durability();
  bool wait = durability.replies_wait();
  HttpRequest routed;
  bool writes = false;
  const Route* deferred = nullptr;
  HttpResponse response;
  {
    std::optional<engine::SyncDeferral> deferral;
    if (wait) deferral.emplace();
    response = RouteRequest(request, &routed, &writes, &deferred);
  }
  if (deferred != nullptr) {
    Respond respond = [self = shared_from_this(), keep_alive, head,
                       writes](HttpResponse later) mutable {
      asio::post(self->stream_.get_executor(),
                 [self, later = std::move(later), keep_alive, head, writes]() mutable {
                   self->Answer(std::move(later), keep_alive, head, writes);
                 });
    };
    try {
      deferred->deferred(std::move(routed), std::move(respond));
    } catch (const std::exception& error) {
      context_->logger->error("http {}: {}", std::string(request.target()), error.what());
      Answer(ErrorResponse(500, "internal", error.what()), false, head, writes);
    }
    return;
  }
  Answer(std::move(response), keep_alive, head, writes);
}

void HttpSession::Answer(HttpResponse response, bool keep_alive, bool head, bool writes) {
  if (response.status >= 400) ++context_->stats->errors;
  engine::Durability& durability = context_->state->broker().durability();
  bool wait = durability.replies_wait();
  if (!wait || durability.AllDurable()) return Write(std::move(response), keep_alive, head);
  // The answer may confirm or show writes not yet synced: it leaves after the sync.
  durability.AfterSync([self = shared_from_this(), response = std::move(response), keep_alive, head,
                        writes](Status synced) mutable {
    if (!synced.ok() && writes) response = StatusResponse(synced);
    asio::post(self->stream_.get_executor(),
               [self, response = std::move(response), keep_alive, head]() mutable {
                 self->Write(std::move(response), keep_alive, head);
               });
  });
}

void HttpSession::Write(HttpResponse response, bool keep_alive, bool head) {
  if (closed_) return;
  if (response.event_stream) {
    if (context_->events == nullptr) {
      return Write(ErrorResponse(404, "not_found", "no event stream here"), keep_alive, head);
    }
    return StartStream();
  }
  auto message = std::make_shared<bhttp::response<bhttp::string_body>>(
      static_cast<bhttp::status>(response.status), 11);
  message->set(bhttp::field::server, "herald");
  message->set(bhttp::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) message->set(name, value);
  message->keep_alive(keep_alive);
  std::size_t length = response.body.size();
  if (!head) message->body() = std::move(response.body);
  message->content_length(length);
  stream_.expires_after(std::chrono::milliseconds(context_->options.request_timeout_ms));
  bhttp::async_write(stream_, *message,
                     [self = shared_from_this(), message, keep_alive](
                         beast::error_code ec, std::size_t) { self->OnWritten(ec, keep_alive); });
}

void HttpSession::OnWritten(beast::error_code ec, bool keep_alive) {
  if (ec || !keep_alive) return Shutdown();
  ReadHeader();
}

void HttpSession::StartStream() {
  streaming_ = true;
  ++context_->stats->streams;
  // Its own timing from now on (StreamTick), on the socket itself: the stream's timer would
  // cut a healthy but quiet client.
  stream_.expires_never();
  boost::system::error_code ignored;
  // A small send buffer, so that a client that stops reading is seen within a few messages.
  stream_.socket().set_option(asio::socket_base::send_buffer_size(64 << 10), ignored);
  stream_cursor_ = context_->events->Start();
  stream_timer_.emplace(stream_.get_executor());
  auto header = std::make_shared<std::string>(
      "HTTP/1.1 200 OK\r\nServer: herald\r\nContent-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n\r\nretry: 2000\n\n");
  stream_writing_ = true;
  stream_write_started_ = std::chrono::steady_clock::now();
  asio::async_write(stream_.socket(), asio::buffer(*header),
                    [self = shared_from_this(), header](beast::error_code ec, std::size_t) {
                      self->stream_writing_ = false;
                      if (ec) return self->Shutdown();
                      self->StreamTick();
                    });
  // The client sends nothing more; a read that completes means it left (or broke the rules).
  stream_.socket().async_read_some(
      asio::buffer(&stream_read_byte_, 1),
      [self = shared_from_this()](beast::error_code, std::size_t) { self->Shutdown(); });
}

void HttpSession::StreamTick() {
  if (closed_) return;
  auto now = std::chrono::steady_clock::now();
  const auto stall = std::chrono::milliseconds(context_->options.stream_stall_ms);
  if (stream_writing_ && now - stream_write_started_ > stall) {
    ++context_->stats->streams_dropped;
    context_->logger->info("http {}: event stream client not reading for {} ms, dropped", client_,
                           context_->options.stream_stall_ms);
    return Shutdown();
  }
  if (!stream_writing_) {
    // While a write is still out, what is new waits and is sent together with what comes next.
    std::string chunk = context_->events->Next(&stream_cursor_);
    if (chunk.empty() && now - stream_last_sent_ > std::chrono::seconds(15)) {
      chunk = ": keep-alive\n\n";
    }
    if (!chunk.empty()) {
      stream_writing_ = true;
      stream_write_started_ = now;
      stream_last_sent_ = now;
      auto data = std::make_shared<std::string>(std::move(chunk));
      asio::async_write(stream_.socket(), asio::buffer(*data),
                        [self = shared_from_this(), data](beast::error_code ec, std::size_t) {
                          self->stream_writing_ = false;
                          if (ec) self->Shutdown();
                        });
    }
  }
  stream_timer_->expires_after(std::chrono::milliseconds(context_->options.stream_tick_ms));
  stream_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->StreamTick();
  });
}

void HttpSession::Shutdown() {
  if (closed_) return;
  closed_ = true;
  if (streaming_) {
    --context_->stats->streams;
    if (stream_timer_) stream_timer_->cancel();
  }
  beast::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream_.close();
}

}  // namespace herald::net::http
