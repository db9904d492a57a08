// SmtpClient: sends messages through an SMTP server (RFC 5321): a local relay in plain SMTP,
// or a hosted provider (Amazon SES, SendGrid, Mailgun, Postmark) over STARTTLS on port 587
// (RFC 3207) or implicit TLS on port 465, with AUTH PLAIN or LOGIN (RFC 4954). Built on
// libcurl, which speaks all of these, verifies certificates against the system CA store or a
// given CA file (with SNI), and keeps the session open after a message: the next Send on the
// same client reuses it (MAIL FROM again, no new connect, TLS handshake or AUTH) until it has
// been idle for `idle`. Each concurrent Send uses a session of its own, so 5 workers sending a
// burst of 1000 emails open 5 sessions.
//
// Outcomes: a 4xx reply, a timeout, a refused or dropped connection, a TLS failure (including
// an unverifiable certificate) is transient (retry later); a 5xx reply (a wrong password is 535)
// is permanent (retrying will not help).
//
// Thread safety: thread-safe; Send() may be called from several threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string>
#include <vector>

#include "handlers/curl_transfer.h"

namespace herald::handlers {

// How the connection is secured.
enum class SmtpTls : std::uint8_t {
  kNone,      // plain SMTP (a relay on a trusted network)
  kStartTls,  // plain connect, then STARTTLS, required (port 587)
  kImplicit,  // TLS from the first byte (SMTPS, port 465)
};

// The AUTH mechanism, when a username is set.
enum class SmtpAuth : std::uint8_t {
  kAuto,   // the best the server offers
  kPlain,  // AUTH PLAIN
  kLogin,  // AUTH LOGIN
};

struct SmtpOptions {
  // Relay host name or address. Required.
  std::string host;
  // Default: 25.
  std::uint16_t port = 25;
  // The EHLO/HELO argument. Default: "herald.local".
  std::string helo_name = "herald.local";
  // Limit for each step: connecting, and waiting for each reply. Default: 10 s.
  std::chrono::milliseconds timeout{10000};
  // Default: kNone.
  SmtpTls tls = SmtpTls::kNone;
  // AUTH user name; empty: no AUTH. Default: "".
  std::string username;
  // AUTH password. Never logged nor part of a result. Default: "".
  std::string password;
  // Default: kAuto.
  SmtpAuth auth = SmtpAuth::kAuto;
  // PEM file of the CA certificates to trust; empty: the system's CA store. Default: "".
  std::string ca_file;
  // Skip certificate verification (a test relay with a self-signed certificate). The caller
  // logs a warning. Default: false.
  bool insecure = false;
  // An unused session is closed after this long. Default: 30 s.
  std::chrono::seconds idle{30};
};

struct SmtpEnvelope {
  std::string mail_from;             // bare address
  std::vector<std::string> rcpt_to;  // bare addresses, at least one
  std::string message;               // RFC 5322 text (BuildRfc5322); dot-stuffed by Send
};

struct SmtpResult {
  enum class Kind : std::uint8_t { kSent, kTransient, kPermanent };
  Kind kind = Kind::kTransient;
  int code = 0;  // the last SMTP reply code; 0 when there was none (timeout, I/O error)
  // "250 2.0.0 Ok: queued" when sent; otherwise what failed, e.g. "smtp 127.0.0.1:2525
  // answered 451 4.7.1 Try again later to MAIL FROM".
  std::string detail;

  bool sent() const { return kind == Kind::kSent; }
};

class SmtpClient {
 public:
  explicit SmtpClient(SmtpOptions options) : options_(std::move(options)) {}

  // Delivers `envelope`. Gives up (transient) at `deadline` or when `stop` is requested, even
  // when the step timeout has not passed.
  SmtpResult Send(const SmtpEnvelope& envelope, std::chrono::steady_clock::time_point deadline,
                  std::stop_token stop = {});

  const SmtpOptions& options() const { return options_; }

 private:
  const SmtpOptions options_;
  CurlPool sessions_;
};

}  // namespace herald::handlers
