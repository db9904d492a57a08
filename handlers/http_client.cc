#include "handlers/http_client.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace herald::handlers {
namespace {

constexpr std::size_t kMaxResponseBody = 64 * 1024;
constexpr std::int64_t kMaxRetryAfterMs = 24LL * 3600 * 1000;

struct Received {
  std::string body;
  std::string retry_after;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* context) {
  auto* received = static_cast<Received*>(context);
  const std::size_t n = size * count;
  // Past the limit the rest is read and dropped: the status is what callers need.
  const std::size_t room = kMaxResponseBody - std::min(kMaxResponseBody, received->body.size());
  received->body.append(data, std::min(n, room));
  return n;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* context) {
  auto* received = static_cast<Received*>(context);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    received->retry_after.clear();  // a new response (after 100 Continue, say)
    return n;
  }
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (std::size_t i = 0; i < kName.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    }
    if (match) {
      std::string_view value = line.substr(kName.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n' ||
                                value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
      }
      received->retry_after = std::string(value);
    }
  }
  return n;
}

std::string Clean(std::string value) {
  // Header values come from event fields (the idempotency key is the event id): controls
  // would split the header, so they become spaces.
  for (char& c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return value;
}

}  // namespace

Result<HttpTarget> ParseHttpUrl(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return Status::InvalidArgument("invalid URL '" + std::string(url) +
                                   "': " + parsed.error().message());
  }
  const boost::urls::url_view& u = *parsed;
  if (u.scheme() != "http" && u.scheme() != "https") {
    return Status::InvalidArgument("only http:// and https:// URLs are supported, not '" +
                                   std::string(u.scheme()) + "' (URL '" + std::string(url) + "')");
  }
  if (u.encoded_host().empty()) {
    return Status::InvalidArgument("URL '" + std::string(url) + "' has no host");
  }
  HttpTarget target;
  target.tls = u.scheme() == "https";
  target.host = u.host_address();
  target.port = u.has_port() ? std::string(u.port()) : (target.tls ? "443" : "80");
  target.host_header = std::string(u.encoded_host_and_port());
  target.target = std::string(u.encoded_target());
  if (target.target.empty()) target.target = "/";
  if (target.target.front() != '/') target.target.insert(0, "/");
  return target;
}

std::string WebhookSignature(std::string_view secret, std::int64_t unix_seconds,
                             std::string_view body) {
  const std::string stamp = std::to_string(unix_seconds);
  std::string signed_part = stamp + "." + std::string(body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), digest,
       &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return "t=" + stamp + ",v1=" + hex;
}

std::int64_t ParseRetryAfter(std::string_view value, std::int64_t now_ms) {
  if (value.empty()) return -1;
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size()) {
    if (seconds < 0) return -1;
    return std::min(kMaxRetryAfterMs, seconds * 1000);
  }
  if (ec == std::errc::result_out_of_range) return kMaxRetryAfterMs;
  const std::string text(value);
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == -1) return -1;
  return std::clamp<std::int64_t>(static_cast<std::int64_t>(when) * 1000 - now_ms, 0,
                                  kMaxRetryAfterMs);
}

HttpPoster::HttpPoster(HttpPosterOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : &system_clock_) {}

Result<HttpResponse> HttpPoster::Post(std::string_view url, std::string_view json,
                                      const HttpHeaders& headers,
                                      std::chrono::steady_clock::time_point deadline,
                                      std::stop_token stop) {
  HttpRequest request;
  request.url = std::string(url);
  request.body = std::string(json);
  request.headers = headers;
  return Send(request, deadline, std::move(stop));
}

Result<HttpResponse> HttpPoster::Send(const HttpRequest& request,
                                      std::chrono::steady_clock::time_point deadline,
                                      std::stop_token stop) {
  HERALD_ASSIGN_OR_RETURN(HttpTarget target, ParseHttpUrl(request.url));
  const std::string peer = request.method + " " + request.url;
  HERALD_ASSIGN_OR_RETURN(CurlPool::Lease lease, connections_.Take());
  CURL* easy = lease->easy();

  CurlList headers;
  if (!request.content_type.empty()) headers.Append("Content-Type: " + request.content_type);
  headers.Append("Expect:");  // no 100-continue round trip
  for (const auto& [name, value] : options_.headers) headers.Append(name + ": " + Clean(value));
  for (const auto& [name, value] : request.headers) headers.Append(name + ": " + Clean(value));
  if (!options_.signing_secret.empty()) {
    const std::int64_t now_s = clock_->NowMs() / 1000;
    headers.Append("X-Herald-Timestamp: " + std::to_string(now_s));
    headers.Append("X-Herald-Signature: " +
                   WebhookSignature(options_.signing_secret, now_s, request.body));
  }

  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "herald/0.1");
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers.get());
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, options_.insecure ? 0L : 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, options_.insecure ? 0L : 2L);
  curl_easy_setopt(easy, CURLOPT_MAXAGE_CONN, static_cast<long>(options_.idle.count()));
  Received received;
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &received);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &received);

  lease->set_trace(nullptr, nullptr);
  const CurlRun run = lease->Run(deadline, std::chrono::milliseconds(0), std::move(stop));
  // The options point at this frame's strings: none may outlive it in the kept handle.
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, nullptr);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, nullptr);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, nullptr);

  if (run.stopped) return Status::ShuttingDown(peer + ": shutting down during the request");
  if (run.deadline) return Status::TimedOut(peer + ": timed out waiting for the response");
  switch (run.code) {
    case CURLE_OK:
      break;
    case CURLE_OPERATION_TIMEDOUT:
      return Status::TimedOut(peer + ": timed out: " + run.error);
    case CURLE_COULDNT_RESOLVE_HOST:
      return Status::IOError(peer + ": cannot resolve " + target.host + ": " + run.error);
    case CURLE_COULDNT_CONNECT:
      return Status::IOError(peer + ": cannot connect: " + run.error);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return Status::IOError(peer + ": TLS: " + run.error);
    default:
      return Status::IOError(peer + ": no valid response: " + run.error);
  }
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  HttpResponse response;
  response.status = static_cast<unsigned>(status);
  response.body = std::move(received.body);
  response.retry_after_ms = ParseRetryAfter(received.retry_after, clock_->NowMs());
  return response;
}

}  // namespace herald::handlers
