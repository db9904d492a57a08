// SmtpServer: a scriptable SMTP server for tests, on 127.0.0.1 and a port the system picks,
// served by a background thread (Boost.Asio). It speaks enough RFC 5321 for a client: greeting,
// EHLO (multi-line reply), HELO, MAIL FROM, RCPT TO, DATA (removes dot-stuffing), RSET, NOOP,
// QUIT, and records every accepted message with its envelope. With options it is a hosted
// provider's submission port: STARTTLS (RFC 3207) or TLS from the first byte, on the given
// certificate, and AUTH PLAIN / LOGIN (RFC 4954) against one user, required before MAIL FROM.
//
// Scripting: FailNext(stage, "451 4.7.1 Try again later", 2) answers the next two commands of
// that stage with the given reply instead of the normal one; StallNext(stage) makes the server
// say nothing at that stage (the client has to time out); CloseAt(stage) hangs up there.
//
// Thread safety: thread-safe; the accessors may be called while the server runs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace herald::testing {

enum class SmtpStage { kGreeting, kEhlo, kMailFrom, kRcptTo, kData, kMessage };

enum class SmtpServerTls { kNone, kStartTls, kImplicit };

struct SmtpServerOptions {
  // kStartTls announces STARTTLS and refuses MAIL FROM before it (530); kImplicit handshakes
  // first. Both need the certificate. Default: kNone.
  SmtpServerTls tls = SmtpServerTls::kNone;
  std::string cert_pem;  // the server certificate (test_certs.h)
  std::string key_pem;
  // When set, AUTH PLAIN and LOGIN are announced (after STARTTLS when it is on), and MAIL FROM
  // needs a successful AUTH (530); a wrong user or password is answered 535. Default: "".
  std::string user;
  std::string password;
};

struct ReceivedMail {
  std::string helo;
  bool tls = false;                  // the session was encrypted when the mail was sent
  std::string auth_user;             // who authenticated; "" without AUTH
  std::string auth_mechanism;        // "PLAIN" or "LOGIN"; "" without AUTH
  int connection = 0;                // 1 for the server's first connection, and so on
  std::string mail_from;             // without angle brackets
  std::vector<std::string> rcpt_to;  // without angle brackets
  std::string data;                  // the message, dot-stuffing removed, CRLF line ends
};

class SmtpServer {
 public:
  explicit SmtpServer(SmtpServerOptions options = {});
  ~SmtpServer();
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  std::uint16_t port() const { return port_; }

  // The next `times` times `stage` is reached, reply `reply` (one line, e.g. "550 5.1.1 No such
  // user") instead of the normal reply.
  void FailNext(SmtpStage stage, std::string reply, int times = 1);
  // The next `times` times `stage` is reached, reply nothing.
  void StallNext(SmtpStage stage, int times = 1);
  // The next `times` times `stage` is reached, close the connection instead of replying (kData:
  // when the client sends DATA; kMessage: after the message's final dot, before the 250).
  void CloseAt(SmtpStage stage, int times = 1);

  std::vector<ReceivedMail> mails() const;
  // Every command line, in order; AUTH lines show the mechanism only, not the credentials.
  std::vector<std::string> commands() const;
  int connections() const;
  int tls_handshakes() const;  // completed TLS handshakes
  // True once at least `count` mails were accepted, within `timeout`.
  bool WaitForMails(std::size_t count, std::chrono::milliseconds timeout) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace herald::testing
