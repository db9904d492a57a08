// FcmClient: sends push notifications to devices through Firebase Cloud Messaging's HTTP v1 API.
//
// Credentials are a Google service account (the JSON key file the Firebase console downloads).
// The client signs a JWT with the account's RSA key (RS256, OpenSSL), trades it at the OAuth2
// token endpoint for an access token (grant type jwt-bearer, scope firebase.messaging), and
// keeps that token until a minute before it expires; concurrent senders share one refresh. Each
// message is one POST to .../v1/projects/{project}/messages:send with `Authorization: Bearer`.
// Both URLs are configurable (a regional endpoint, a proxy, a test server).
//
// Outcomes of a send (FCM's error codes, firebase.google.com/docs/cloud-messaging/error-codes):
//   200                                   kSent; detail is the message name
//   404, UNREGISTERED, SENDER_ID_MISMATCH kUnregistered: the device token is dead, drop it
//   401                                   kTransient: the access token is dropped and fetched anew
//   429, 5xx, timeouts, I/O, TLS          kTransient, with the Retry-After the answer carried
//   other 4xx (INVALID_ARGUMENT, ...)     kPermanent: the message itself is refused
// The token endpoint refusing the account (4xx, e.g. invalid_grant) is kPermanent: retrying with
// the same key cannot succeed; its 5xx and network errors are kTransient.
//
// The private key and the access token are never logged nor part of a result.
//
// Thread safety: thread-safe; Send() may be called from several threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "handlers/http_client.h"

namespace herald::handlers {

// The fields of a service-account key file that FCM needs.
struct ServiceAccount {
  std::string project_id;
  std::string client_email;
  std::string private_key_id;
  std::string private_key;  // PEM (PKCS#8); a secret
  std::string token_uri;    // "https://oauth2.googleapis.com/token" when the file has none
};

// Reads a service-account key file's JSON. InvalidArgument names the problem ("service account
// JSON has no client_email", "service account type is 'x', not 'service_account'"); the key
// never appears in it.
Result<ServiceAccount> ParseServiceAccount(std::string_view json);

struct FcmOptions {
  ServiceAccount account;
  // The Firebase project. Default: "" (the account's project_id).
  std::string project_id;
  // Where access tokens come from. Default: "" (the account's token_uri).
  std::string token_url;
  // Where messages go; "{project}" is replaced by the project id. Default: "" (
  // "https://fcm.googleapis.com/v1/projects/{project}/messages:send").
  std::string send_url;
  // PEM file of the CA certificates to trust; empty: the system's CA store. Default: "".
  std::string ca_file;
  // Skip certificate verification (test endpoints). The caller logs a warning. Default: false.
  bool insecure = false;
  // What the JWT's iat/exp and the token's expiry are read from; must outlive the client.
  // Default: null (the system clock).
  Clock* clock = nullptr;
};

struct FcmMessage {
  std::string title;
  std::string body;
  // FCM's data payload: string values only. Default: none.
  std::vector<std::pair<std::string, std::string>> data;
};

struct FcmResult {
  enum class Kind : std::uint8_t { kSent, kUnregistered, kTransient, kPermanent };
  Kind kind = Kind::kTransient;
  unsigned status = 0;  // the HTTP status of the answer that decided; 0 when there was none
  // Sent: the message name ("projects/p/messages/0:123"); otherwise what failed, e.g. "fcm
  // answered 404 NOT_FOUND (UNREGISTERED): Requested entity was not found."
  std::string detail;
  // The Retry-After of a 429/503 in ms; -1 when there was none.
  std::int64_t retry_after_ms = -1;
};

class FcmClient {
 public:
  // InvalidArgument when the private key is not a PEM RSA key or a URL is invalid.
  static Result<std::unique_ptr<FcmClient>> Create(FcmOptions options);
  ~FcmClient();
  FcmClient(const FcmClient&) = delete;
  FcmClient& operator=(const FcmClient&) = delete;

  // Sends `message` to the device with `device_token`, fetching an access token first when the
  // cached one is missing or about to expire. Gives up (kTransient) at `deadline` or on `stop`.
  FcmResult Send(std::string_view device_token, const FcmMessage& message,
                 std::chrono::steady_clock::time_point deadline, std::stop_token stop = {});

  // The signed JWT the token request carries, issued at `now_s` (Unix seconds), valid for an
  // hour: header {"alg":"RS256","typ":"JWT","kid":<private_key_id>}, claims {iss, scope, aud,
  // iat, exp}.
  std::string Assertion(std::int64_t now_s) const;

  const std::string& project_id() const { return project_id_; }
  const std::string& send_url() const { return send_url_; }

  struct Key;

 private:
  FcmClient(FcmOptions options, std::unique_ptr<Key> key);

  // The cached access token, or a new one. On failure fills `failure` and returns "".
  std::string AccessToken(std::chrono::steady_clock::time_point deadline, std::stop_token stop,
                          FcmResult* failure);
  void DropToken(const std::string& token);

  const FcmOptions options_;
  std::string project_id_;
  std::string token_url_;
  std::string send_url_;
  std::unique_ptr<Key> key_;
  SystemClock system_clock_;
  Clock* const clock_;
  HttpPoster poster_;

  // One refresh at a time; the others wait for its token instead of asking too.
  std::mutex refresh_mu_;
  Mutex mu_;
  std::string token_ GUARDED_BY(mu_);
  std::int64_t token_expires_ms_ GUARDED_BY(mu_) = 0;
};

// The OAuth2 scope of the access token.
inline constexpr std::string_view kFcmScope = "https://www.googleapis.com/auth/firebase.messaging";

}  // namespace herald::handlers
