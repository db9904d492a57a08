// HttpClient: a blocking HTTP/1.1 client for tests (Boost.Beast) on one kept-alive connection to
// 127.0.0.1:<port>, reconnecting when the server closed it. Answers carry the status, the
// headers (names lower-cased) and the body; a JSON body is parsed on demand.
//
// Thread safety: one thread per client.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace herald::testing {

struct HttpAnswer {
  unsigned status = 0;  // 0: no answer (connection failed or closed, or timed out)
  std::map<std::string, std::string> headers;
  std::string body;
  // The body as JSON (null when it is not JSON).
  boost::json::value json() const;
  // error.message of an API error body ("" when none).
  std::string error_message() const;
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Extra headers for every request (e.g. Authorization).
  void SetHeader(const std::string& name, const std::string& value);

  HttpAnswer Request(const std::string& method, const std::string& target,
                     const std::string& body = {},
                     const std::map<std::string, std::string>& headers = {});
  HttpAnswer Get(const std::string& target) { return Request("GET", target); }
  HttpAnswer Post(const std::string& target, const std::string& body = {}) {
    return Request("POST", target, body);
  }
  // Connections this client has opened (1 while keep-alive holds).
  int connects() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// "Basic base64(user:password)".
std::string BasicAuth(const std::string& user, const std::string& password);

}  // namespace herald::testing
