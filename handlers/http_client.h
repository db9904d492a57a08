// HttpPoster: POSTs a JSON body to an http:// URL (Boost.Beast client, URL parsed with
// Boost.URL) and returns the response status, with one deadline over the whole exchange.
// Used for the push webhook and the helpdesk webhook.
//
// Plain http only: https is refused with InvalidArgument. Point Herald at a webhook on a trusted
// network, or at a local TLS-terminating proxy. The response body is read up to 64 KiB.
//
// Thread safety: stateless; Post() may be called from several threads at once.
#pragma once

#include <chrono>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace herald::handlers {

struct HttpResponse {
  unsigned status = 0;
  std::string body;  // at most 64 KiB

  bool ok() const { return status >= 200 && status < 300; }
};

// The parts of an http:// URL a request needs.
struct HttpTarget {
  std::string host;         // for the resolver (IPv6 without brackets)
  std::string host_header;  // for the Host header ("example.com:8080", "[::1]:80")
  std::string port;         // "80" when the URL has none
  std::string target;       // path and query, "/" when empty
};

// InvalidArgument names the problem: "invalid URL 'x'", "only http:// URLs are supported, not
// 'https'", "URL 'x' has no host".
Result<HttpTarget> ParseHttpUrl(std::string_view url);

class HttpPoster {
 public:
  // POSTs `json` with Content-Type: application/json and the extra headers (e.g.
  // Idempotency-Key). Any status is a response: the caller decides what non-2xx means.
  // InvalidArgument for a bad URL; TimedOut at `deadline`; ShuttingDown when `stop` is
  // requested; IOError for resolve, connect, send or receive failures.
  static Result<HttpResponse> Post(std::string_view url, std::string_view json,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   std::chrono::steady_clock::time_point deadline,
                                   std::stop_token stop = {});
};

}  // namespace herald::handlers
