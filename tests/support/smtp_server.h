// SmtpServer: a scriptable SMTP server for tests, on 127.0.0.1 and a port the system picks,
// served by a background thread (Boost.Asio). It speaks enough RFC 5321 for a client: greeting,
// EHLO (multi-line reply), HELO, MAIL FROM, RCPT TO, DATA (removes dot-stuffing), RSET, NOOP,
// QUIT, and records every accepted message with its envelope.
//
// Scripting: FailNext(stage, "451 4.7.1 Try again later", 2) answers the next two commands of
// that stage with the given reply instead of the normal one; StallNext(stage) makes the server
// say nothing at that stage (the client has to time out).
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

struct ReceivedMail {
  std::string helo;
  std::string mail_from;             // without angle brackets
  std::vector<std::string> rcpt_to;  // without angle brackets
  std::string data;                  // the message, dot-stuffing removed, CRLF line ends
};

class SmtpServer {
 public:
  SmtpServer();
  ~SmtpServer();
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  std::uint16_t port() const { return port_; }

  // The next `times` times `stage` is reached, reply `reply` (one line, e.g. "550 5.1.1 No such
  // user") instead of the normal reply.
  void FailNext(SmtpStage stage, std::string reply, int times = 1);
  // The next `times` times `stage` is reached, reply nothing.
  void StallNext(SmtpStage stage, int times = 1);

  std::vector<ReceivedMail> mails() const;
  std::vector<std::string> commands() const;  // every command line, in order
  int connections() const;
  // True once at least `count` mails were accepted, within `timeout`.
  bool WaitForMails(std::size_t count, std::chrono::milliseconds timeout) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace herald::testing
