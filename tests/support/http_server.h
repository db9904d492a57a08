// HttpServer: a tiny HTTP/1.1 server for tests (Boost.Beast), on 127.0.0.1 and a port the
// system picks, served by a background thread. Records every request and answers with a
// programmable sequence of statuses (then a default), one request per connection.
//
// Thread safety: thread-safe; the accessors may be called while the server runs.
#pragma once

#include <chrono>
#include <cstdint>
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
};

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port><path>"
  std::string Url(const std::string& path = "/") const;

  // The next requests are answered with these statuses in order, later ones with the default.
  void QueueStatuses(std::vector<unsigned> statuses);
  // Default: 200.
  void SetDefaultStatus(unsigned status);
  // The next `times` requests get no answer at all (the client has to time out).
  void StallNext(int times = 1);

  std::vector<RecordedRequest> requests() const;
  // True once at least `count` requests arrived, within `timeout`.
  bool WaitForRequests(std::size_t count, std::chrono::milliseconds timeout) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace herald::testing
