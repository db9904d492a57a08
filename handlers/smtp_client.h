// SmtpClient: sends one message to an SMTP relay (RFC 5321): greeting, EHLO (HELO when EHLO is
// refused), MAIL FROM, RCPT TO for each recipient, DATA with dot-stuffing, QUIT. Synchronous
// for the caller, built on Boost.Asio with a deadline on every step (connect, each reply), so a
// silent or slow relay costs at most the step timeout, never a hung worker.
//
// Outcomes: a 4xx reply, a timeout, a refused or dropped connection or an unparsable reply is
// transient (retry later); a 5xx reply is permanent (retrying will not help). STARTTLS and AUTH
// are not implemented: point Herald at a relay on a trusted network (e.g. a local Postfix)
// that relays onward over TLS.
//
// Thread safety: immutable; Send() may be called from several threads at once (each call uses
// its own connection and io_context).
#pragma once

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string>
#include <vector>

namespace herald::handlers {

struct SmtpOptions {
  // Relay host name or address. Required.
  std::string host;
  // Default: 25.
  std::uint16_t port = 25;
  // The EHLO/HELO argument. Default: "herald.local".
  std::string helo_name = "herald.local";
  // Limit for each step: connecting, and waiting for each reply. Default: 10 s.
  std::chrono::milliseconds timeout{10000};
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
                  std::stop_token stop = {}) const;

  const SmtpOptions& options() const { return options_; }

 private:
  SmtpOptions options_;
};

}  // namespace herald::handlers
