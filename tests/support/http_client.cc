#include "tests/support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include <optional>

namespace herald::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

boost::json::value HttpAnswer::json() const {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(body, ec);
  if (ec) return nullptr;
  return value;
}

std::string HttpAnswer::error_message() const {
  boost::json::value value = json();
  if (!value.is_object()) return {};
  const boost::json::value* error = value.get_object().if_contains("error");
  if (error == nullptr || !error->is_object()) return {};
  const boost::json::value* message = error->get_object().if_contains("message");
  return message != nullptr && message->is_string() ? std::string(message->get_string()) : "";
}

struct HttpClient::Impl {
  std::uint16_t port;
  std::chrono::milliseconds timeout;
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  std::map<std::string, std::string> headers;
  int connects = 0;

  bool Connect() {
    stream.emplace(io);
    beast::error_code ec;
    stream->expires_after(timeout);
    stream->connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    if (ec) {
      stream.reset();
      return false;
    }
    ++connects;
    buffer.clear();
    return true;
  }

  // One exchange on the open connection; false when it failed before an answer.
  bool Exchange(http::request<http::string_body>& request, HttpAnswer* answer) {
    beast::error_code ec;
    stream->expires_after(timeout);
    http::write(*stream, request, ec);
    if (ec) return false;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ULL << 30);
    if (request.method() == http::verb::head) parser.skip(true);
    http::read(*stream, buffer, parser, ec);
    if (ec) return false;
    auto& response = parser.get();
    answer->status = response.result_int();
    for (const auto& field : response) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      answer->headers[name] = std::string(field.value());
    }
    answer->body = response.body();
    if (!response.keep_alive()) stream.reset();
    return true;
  }
};

HttpClient::HttpClient(std::uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  impl_->timeout = timeout;
}

HttpClient::~HttpClient() = default;

void HttpClient::SetHeader(const std::string& name, const std::string& value) {
  impl_->headers[name] = value;
}

int HttpClient::connects() const { return impl_->connects; }

HttpAnswer HttpClient::Request(const std::string& method, const std::string& target,
                               const std::string& body,
                               const std::map<std::string, std::string>& headers) {
  http::request<http::string_body> request(http::string_to_verb(method), target, 11);
  request.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : impl_->headers) request.set(name, value);
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty() || method == "POST" || method == "PUT") {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
  }
  request.keep_alive(true);
  HttpAnswer answer;
  // A kept-alive connection the server closed meanwhile fails at once: once more on a new one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = !impl_->stream.has_value();
    if (fresh && !impl_->Connect()) return answer;
    if (impl_->Exchange(request, &answer)) return answer;
    impl_->stream.reset();
    if (fresh) break;
  }
  return answer;
}

std::string BasicAuth(const std::string& user, const std::string& password) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = user + ":" + password;
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    std::uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                      (static_cast<unsigned char>(in[i + 1]) << 8) |
                      static_cast<unsigned char>(in[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(n >> shift) & 63]);
  }
  if (i + 1 == in.size()) {
    std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out += "==";
  } else if (i + 2 == in.size()) {
    std::uint32_t n =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back('=');
  }
  return "Basic " + out;
}

}  // namespace herald::testing
