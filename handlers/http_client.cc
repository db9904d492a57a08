#include "handlers/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <optional>

#include "handlers/io_deadline.h"

namespace herald::handlers {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxResponseBody = 64 * 1024;

}  // namespace

Result<HttpTarget> ParseHttpUrl(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return Status::InvalidArgument("invalid URL '" + std::string(url) +
                                   "': " + parsed.error().message());
  }
  const boost::urls::url_view& u = *parsed;
  if (u.scheme() != "http") {
    return Status::InvalidArgument("only http:// URLs are supported, not '" +
                                   std::string(u.scheme()) + "' (URL '" + std::string(url) + "')");
  }
  if (u.encoded_host().empty()) {
    return Status::InvalidArgument("URL '" + std::string(url) + "' has no host");
  }
  HttpTarget target;
  target.host = u.host_address();
  target.port = u.has_port() ? std::string(u.port()) : "80";
  target.host_header = std::string(u.encoded_host_and_port());
  target.target = std::string(u.encoded_target());
  if (target.target.empty()) target.target = "/";
  if (target.target.front() != '/') target.target.insert(0, "/");
  return target;
}

Result<HttpResponse> HttpPoster::Post(
    std::string_view url, std::string_view json,
    const std::vector<std::pair<std::string, std::string>>& headers,
    std::chrono::steady_clock::time_point deadline, std::stop_token stop) {
  HERALD_ASSIGN_OR_RETURN(HttpTarget target, ParseHttpUrl(url));
  asio::io_context io;
  tcp::resolver resolver(io);
  tcp::socket socket(io);
  IoDeadline waiter(&io, std::move(stop));
  auto cancel = [&] {
    boost::system::error_code ignored;
    resolver.cancel();
    socket.close(ignored);
  };
  const std::string peer = "POST " + std::string(url);
  auto waited = [&](IoDeadline::Wait wait, const char* what) -> std::optional<Status> {
    switch (wait) {
      case IoDeadline::Wait::kDone:
        return std::nullopt;
      case IoDeadline::Wait::kTimedOut:
        return Status::TimedOut(peer + ": timed out during " + what);
      case IoDeadline::Wait::kStopped:
        return Status::ShuttingDown(peer + ": shutting down during " + what);
    }
    return std::nullopt;
  };

  bool done = false;
  boost::system::error_code error;
  tcp::resolver::results_type endpoints;
  resolver.async_resolve(target.host, target.port,
                         [&](boost::system::error_code ec, tcp::resolver::results_type r) {
                           error = ec;
                           endpoints = std::move(r);
                           done = true;
                         });
  if (auto failed = waited(waiter.Run(&done, deadline, cancel), "name resolution")) {
    return *failed;
  }
  if (error)
    return Status::IOError(peer + ": cannot resolve " + target.host + ": " + error.message());

  done = false;
  asio::async_connect(socket, endpoints, [&](boost::system::error_code ec, const tcp::endpoint&) {
    error = ec;
    done = true;
  });
  if (auto failed = waited(waiter.Run(&done, deadline, cancel), "connect")) return *failed;
  if (error) return Status::IOError(peer + ": cannot connect: " + error.message());

  http::request<http::string_body> request{http::verb::post, target.target, 11};
  request.set(http::field::host, target.host_header);
  request.set(http::field::user_agent, "herald/0.1");
  request.set(http::field::content_type, "application/json");
  request.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) {
    // Header values come from event fields (the idempotency key is the event id): controls
    // would split the header, so they become spaces.
    std::string clean = value;
    for (char& c : clean) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    }
    request.set(name, clean);
  }
  request.body() = std::string(json);
  request.prepare_payload();

  done = false;
  http::async_write(socket, request, [&](boost::system::error_code ec, std::size_t) {
    error = ec;
    done = true;
  });
  if (auto failed = waited(waiter.Run(&done, deadline, cancel), "send")) return *failed;
  if (error) return Status::IOError(peer + ": send failed: " + error.message());

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  done = false;
  http::async_read(socket, buffer, parser, [&](boost::system::error_code ec, std::size_t) {
    error = ec;
    done = true;
  });
  if (auto failed = waited(waiter.Run(&done, deadline, cancel), "the response")) return *failed;
  // A body over the limit still tells us the status, which is all callers need.
  if (error && !(error == http::error::body_limit && parser.is_header_done())) {
    return Status::IOError(peer + ": no valid response: " + error.message());
  }
  HttpResponse response;
  response.status = parser.get().result_int();
  response.body = parser.get().body();
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  return response;
}

}  // namespace herald::handlers
