// HttpServer: a tiny HTTP/1.1 server for tests (Boost.Beast), on 127.0.0.1 and a port the
// system picks, served by a background thread; https on a given certificate when the options
// say so. Records every request and answers with a programmable sequence of responses, then
// a handler's, then a default status. Connections are kept alive as HTTP/1.1 keeps them, unless
// the client asks to close.
//
// Thread safety: thread-safe; the accessors may be called while the server runs. The handler
// runs on the server's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace herald::testing {

struct RecordedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  int connection = 0;  // 1 for the server's first connection, and so on
};

struct ScriptedResponse {
  unsigned status = 200;
  std::map<std::string, std::string> headers;  // e.g. {"Retry-After", "3"}
  // Empty: {"ok":true} for 2xx, {"ok":false} otherwise. Sent as application/json.
  std::string body;
  // Close the connection instead of answering (the request was read whole).
  bool close = false;
};

struct HttpServerOptions {
  // Serve https with this certificate and key (test_certs.h); empty: plain http.
  std::string cert_pem;
  std::string key_pem;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port><path>", or https://
  std::string Url(const std::string& path = "/") const;

  // The next requests are answered with these statuses in order, later ones with the default.
  void QueueStatuses(std::vector<unsigned> statuses);
  // The next requests are answered with these responses in order.
  void QueueResponses(std::vector<ScriptedResponse> responses);
  // Answers the requests nothing is queued for. Default: none (the default status).
  void SetHandler(std::function<ScriptedResponse(const RecordedRequest&)> handler);
  // Default: 200.
  void SetDefaultStatus(unsigned status);
  // The next `times` requests get no answer at all (the client has to time out).
  void StallNext(int times = 1);
  // The next `times` requests (after any queued responses) are read, then the connection is
  // closed without an answer.
  void CloseNext(int times = 1);

  std::vector<RecordedRequest> requests() const;
  int connections() const;
  // True once at least `count` requests arrived, within `timeout`.
  bool WaitForRequests(std::size_t count, std::chrono::milliseconds timeout) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
  bool tls_ = false;
};

}  // namespace herald::testing
