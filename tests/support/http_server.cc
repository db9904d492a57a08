#include "tests/support/http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace herald::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

}  // namespace

struct HttpServer::Impl {
  explicit Impl(HttpServerOptions opts) : options(std::move(opts)) {
    if (options.cert_pem.empty()) return;
    boost::system::error_code ec;
    tls_context.use_certificate_chain(asio::buffer(options.cert_pem), ec);
    if (!ec) tls_context.use_private_key(asio::buffer(options.key_pem), ssl::context::pem, ec);
    if (ec) throw std::runtime_error("HttpServer: bad certificate or key: " + ec.message());
  }

  const HttpServerOptions options;
  ssl::context tls_context{ssl::context::tls_server};
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::deque<ScriptedResponse> responses;
  std::function<ScriptedResponse(const RecordedRequest&)> handler;
  unsigned default_status = 200;
  int stalls = 0;
  int connections = 0;
  std::vector<RecordedRequest> requests;

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      int number = 0;
      {
        std::lock_guard<std::mutex> lock(mu);
        number = ++connections;
      }
      if (options.cert_pem.empty()) {
        asio::co_spawn(io, Session(std::move(socket), number), asio::detached);
      } else {
        asio::co_spawn(io, TlsSession(std::move(socket), number), asio::detached);
      }
    }
  }

  asio::awaitable<void> TlsSession(tcp::socket socket, int number) {
    ssl::stream<tcp::socket> stream(std::move(socket), tls_context);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server,
                                                asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    co_await Serve(stream, number);
  }

  asio::awaitable<void> Session(tcp::socket socket, int number) { co_await Serve(socket, number); }

  // What to answer `record` with; nullopt: nothing (a stall).
  std::optional<ScriptedResponse> Answer(const RecordedRequest& record) {
    std::function<ScriptedResponse(const RecordedRequest&)> answer;
    {
      std::lock_guard<std::mutex> lock(mu);
      requests.push_back(record);
      cv.notify_all();
      if (stalls > 0) {
        --stalls;
        return std::nullopt;
      }
      if (!responses.empty()) {
        ScriptedResponse response = std::move(responses.front());
        responses.pop_front();
        return response;
      }
      if (!handler) return ScriptedResponse{default_status, {}, {}};
      answer = handler;
    }
    return answer(record);
  }

  // Answers the requests on one connection until either side closes it.
  template <typename Stream>
  asio::awaitable<void> Serve(Stream& stream, int number) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> request;
      auto [ec, n] =
          co_await http::async_read(stream, buffer, request, asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (ec) co_return;
      RecordedRequest record;
      record.method = std::string(request.method_string());
      record.target = std::string(request.target());
      for (const auto& field : request) {
        std::string name(field.name_string());
        for (char& c : name) {
          if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        }
        record.headers[name] = std::string(field.value());
      }
      record.body = request.body();
      record.connection = number;
      std::optional<ScriptedResponse> answer = Answer(record);
      if (!answer) {
        // Keep the connection open and silent until the client gives up.
        char byte;
        co_await stream.async_read_some(asio::buffer(&byte, 1),
                                        asio::as_tuple(asio::use_awaitable));
        co_return;
      }
      if (answer->close) {
        boost::system::error_code close_ec;
        beast::get_lowest_layer(stream).close(close_ec);
        co_return;
      }
      http::response<http::string_body> response{static_cast<http::status>(answer->status), 11};
      response.set(http::field::content_type, "application/json");
      for (const auto& [name, value] : answer->headers) response.set(name, value);
      response.body() =
          !answer->body.empty()
              ? answer->body
              : "{\"ok\":" + std::string(answer->status < 300 ? "true" : "false") + "}";
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      auto [write_ec, written] =
          co_await http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
      (void)written;
      if (write_ec || !request.keep_alive()) co_return;
    }
  }
};

HttpServer::HttpServer(HttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  tls_ = !impl_->options.cert_pem.empty();
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

HttpServer::~HttpServer() {
  impl_->io.stop();
  impl_->thread.join();
}

std::string HttpServer::Url(const std::string& path) const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
}

void HttpServer::QueueStatuses(std::vector<unsigned> statuses) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (unsigned status : statuses) impl_->responses.push_back(ScriptedResponse{status, {}, {}});
}

void HttpServer::QueueResponses(std::vector<ScriptedResponse> responses) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (ScriptedResponse& response : responses) impl_->responses.push_back(std::move(response));
}

void HttpServer::SetHandler(std::function<ScriptedResponse(const RecordedRequest&)> handler) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->handler = std::move(handler);
}

void HttpServer::SetDefaultStatus(unsigned status) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->default_status = status;
}

void HttpServer::CloseNext(int times) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (int i = 0; i < times; ++i) {
    ScriptedResponse close;
    close.close = true;
    impl_->responses.push_back(std::move(close));
  }
}

void HttpServer::StallNext(int times) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->stalls += times;
}

std::vector<RecordedRequest> HttpServer::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requests;
}

int HttpServer::connections() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->connections;
}

bool HttpServer::WaitForRequests(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->requests.size() >= count; });
}

}  // namespace herald::testing
