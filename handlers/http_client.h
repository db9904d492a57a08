// HttpPoster: sends HTTP requests to webhooks and provider APIs over http:// or https:// (libcurl;
// certificates verified against the system CA store or a given CA file, with SNI) and returns
// the response, with one deadline over the whole exchange. Used for the push webhook, the
// helpdesk webhook and Firebase Cloud Messaging.
//
// Connections are kept alive: each concurrent request uses a connection of its own from the
// poster's pool, and the next request to the same host reuses it (no new TCP or TLS handshake)
// until it has been idle for `idle`.
//
// A poster with a signing secret signs every request as Stripe and GitHub sign theirs, so the
// receiver can check that Herald sent it and when:
//   X-Herald-Timestamp: <unix seconds>
//   X-Herald-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>.<body>")>
// The receiver recomputes v1 over the timestamp and the raw body and refuses old timestamps.
//
// The response body is read up to 64 KiB. A Retry-After header (seconds or an HTTP date) is
// returned as retry_after_ms, so a handler can delay its next attempt as a 429 or 503 asks.
//
// Thread safety: thread-safe; Send() and Post() may be called from several threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "handlers/curl_transfer.h"

namespace herald::handlers {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  unsigned status = 0;
  std::string body;  // at most 64 KiB
  // The Retry-After header in ms from now (0 or more, at most 24 h); -1 when there is none.
  std::int64_t retry_after_ms = -1;

  bool ok() const { return status >= 200 && status < 300; }
};

// The parts of an http:// or https:// URL a request needs.
struct HttpTarget {
  bool tls = false;         // https
  std::string host;         // for the resolver (IPv6 without brackets)
  std::string host_header;  // for the Host header ("example.com:8080", "[::1]:80")
  std::string port;         // "80" or "443" when the URL has none
  std::string target;       // path and query, "/" when empty
};

// InvalidArgument names the problem: "invalid URL 'x'", "only http:// and https:// URLs are
// supported, not 'ftp'", "URL 'x' has no host".
Result<HttpTarget> ParseHttpUrl(std::string_view url);

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::string content_type = "application/json";
  std::string body;
  HttpHeaders headers;  // besides the poster's own; values with control characters are cleaned
};

struct HttpPosterOptions {
  // Sent with every request (e.g. Authorization: Bearer …). Default: none.
  HttpHeaders headers;
  // HMAC-SHA256 key for the signature headers; empty: requests are not signed. Never logged.
  // Default: "".
  std::string signing_secret;
  // PEM file of the CA certificates to trust for https; empty: the system's CA store.
  // Default: "".
  std::string ca_file;
  // Skip certificate verification (a test endpoint with a self-signed certificate). The caller
  // logs a warning. Default: false.
  bool insecure = false;
  // An unused connection is closed after this long. Default: 30 s.
  std::chrono::seconds idle{30};
  // Where the signature's timestamp comes from; must outlive the poster. Default: null (the
  // system clock).
  Clock* clock = nullptr;
};

class HttpPoster {
 public:
  explicit HttpPoster(HttpPosterOptions options = {});

  // Sends `request`. Any status is a response: the caller decides what non-2xx means.
  // InvalidArgument for a bad URL; TimedOut at `deadline`; ShuttingDown when `stop` is
  // requested; IOError for resolve, connect, TLS (an unverifiable certificate too), send or
  // receive failures.
  Result<HttpResponse> Send(const HttpRequest& request,
                            std::chrono::steady_clock::time_point deadline,
                            std::stop_token stop = {});

  // POSTs `json` with Content-Type: application/json and the extra headers (e.g.
  // Idempotency-Key). As Send.
  Result<HttpResponse> Post(std::string_view url, std::string_view json, const HttpHeaders& headers,
                            std::chrono::steady_clock::time_point deadline,
                            std::stop_token stop = {});

  const HttpPosterOptions& options() const { return options_; }

 private:
  const HttpPosterOptions options_;
  SystemClock system_clock_;
  Clock* const clock_;
  CurlPool connections_;
};

// The signature header value for `body` at `unix_seconds` with `secret` (see above).
std::string WebhookSignature(std::string_view secret, std::int64_t unix_seconds,
                             std::string_view body);

// Reads a Retry-After value: delta-seconds or an HTTP date (RFC 9110 10.2.3), against
// `now_ms`. Returns ms from now, clamped to 0..24 h; -1 when it is neither.
std::int64_t ParseRetryAfter(std::string_view value, std::int64_t now_ms);

}  // namespace herald::handlers
