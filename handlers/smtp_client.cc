#include "handlers/smtp_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <optional>
#include <string_view>

#include "handlers/email_message.h"
#include "handlers/io_deadline.h"

namespace herald::handlers {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Replies longer than this are a broken or hostile server, not SMTP.
constexpr std::size_t kMaxReplyBytes = 64 * 1024;

struct Reply {
  int code = 0;
  std::string text;  // lines joined by a space, codes stripped

  std::string ToString() const { return std::to_string(code) + (text.empty() ? "" : " " + text); }
};

class Session {
 public:
  Session(const SmtpOptions& options, Clock::time_point deadline, std::stop_token stop)
      : options_(options),
        deadline_(deadline),
        waiter_(&io_, std::move(stop)),
        peer_("smtp " + options.host + ":" + std::to_string(options.port)) {}

  SmtpResult Run(const SmtpEnvelope& envelope) {
    if (envelope.rcpt_to.empty()) return Permanent(0, "no recipient");
    for (const std::string& address : envelope.rcpt_to) {
      if (!IsPlausibleAddress(address)) return Permanent(0, "invalid recipient '" + address + "'");
    }
    if (!IsPlausibleAddress(envelope.mail_from)) {
      return Permanent(0, "invalid sender '" + envelope.mail_from + "'");
    }
    if (options_.helo_name.empty() ||
        options_.helo_name.find_first_of(" \r\n\t") != std::string::npos) {
      return Permanent(0, "invalid EHLO name '" + options_.helo_name + "'");
    }
    if (auto failed = Connect()) return *failed;
    Reply reply;
    if (auto failed = Expect("the greeting", {220}, &reply)) return *failed;
    if (auto failed = Command("EHLO " + options_.helo_name, "EHLO", {250}, &reply)) {
      // Very old relays only know HELO; a 5xx to EHLO is the signal to fall back.
      if (reply.code < 500 || reply.code > 504) return *failed;
      if (auto helo = Command("HELO " + options_.helo_name, "HELO", {250}, &reply)) {
        return *helo;
      }
    }
    if (auto failed =
            Command("MAIL FROM:<" + envelope.mail_from + ">", "MAIL FROM", {250}, &reply)) {
      return Quit(*failed);
    }
    for (const std::string& rcpt : envelope.rcpt_to) {
      if (auto failed = Command("RCPT TO:<" + rcpt + ">", "RCPT TO", {250, 251}, &reply)) {
        return Quit(*failed);
      }
    }
    if (auto failed = Command("DATA", "DATA", {354}, &reply)) return Quit(*failed);
    if (auto failed = Write(DotStuff(envelope.message), "the message")) return *failed;
    if (auto failed = Expect("the end of the message", {250}, &reply)) return Quit(*failed);
    SmtpResult result{SmtpResult::Kind::kSent, reply.code, reply.ToString()};
    Quit(result);
    return result;
  }

 private:
  Clock::time_point StepDeadline() const {
    return std::min(deadline_, Clock::now() + options_.timeout);
  }

  SmtpResult Transient(int code, const std::string& what) const {
    return {SmtpResult::Kind::kTransient, code, peer_ + ": " + what};
  }
  SmtpResult Permanent(int code, const std::string& what) const {
    return {SmtpResult::Kind::kPermanent, code, peer_ + ": " + what};
  }

  void Cancel() {
    boost::system::error_code ignored;
    resolver_.cancel();
    socket_.close(ignored);
  }

  std::optional<SmtpResult> Waited(IoDeadline::Wait wait, const std::string& what) {
    switch (wait) {
      case IoDeadline::Wait::kDone:
        return std::nullopt;
      case IoDeadline::Wait::kTimedOut:
        return Transient(0, "timed out after " + std::to_string(options_.timeout.count()) +
                                " ms waiting for " + what);
      case IoDeadline::Wait::kStopped:
        return Transient(0, "shutting down during " + what);
    }
    return std::nullopt;
  }

  std::optional<SmtpResult> Connect() {
    bool done = false;
    boost::system::error_code error;
    tcp::resolver::results_type endpoints;
    resolver_.async_resolve(options_.host, std::to_string(options_.port),
                            [&](boost::system::error_code ec, tcp::resolver::results_type r) {
                              error = ec;
                              endpoints = std::move(r);
                              done = true;
                            });
    if (auto failed =
            Waited(waiter_.Run(&done, StepDeadline(), [this] { Cancel(); }), "name resolution")) {
      return failed;
    }
    if (error) return Transient(0, "cannot resolve " + options_.host + ": " + error.message());
    done = false;
    asio::async_connect(socket_, endpoints,
                        [&](boost::system::error_code ec, const tcp::endpoint&) {
                          error = ec;
                          done = true;
                        });
    if (auto failed =
            Waited(waiter_.Run(&done, StepDeadline(), [this] { Cancel(); }), "the connection")) {
      return failed;
    }
    if (error) return Transient(0, "cannot connect: " + error.message());
    return std::nullopt;
  }

  std::optional<SmtpResult> Write(const std::string& data, const std::string& what) {
    bool done = false;
    boost::system::error_code error;
    asio::async_write(socket_, asio::buffer(data), [&](boost::system::error_code ec, std::size_t) {
      error = ec;
      done = true;
    });
    if (auto failed =
            Waited(waiter_.Run(&done, StepDeadline(), [this] { Cancel(); }), "sending " + what)) {
      return failed;
    }
    if (error) return Transient(0, "connection lost sending " + what + ": " + error.message());
    return std::nullopt;
  }

  // Reads one (possibly multi-line) reply: "250-first\r\n250-second\r\n250 last\r\n".
  std::optional<SmtpResult> Read(const std::string& what, Reply* reply) {
    reply->code = 0;
    reply->text.clear();
    for (;;) {
      bool done = false;
      boost::system::error_code error;
      std::size_t length = 0;
      asio::async_read_until(socket_, asio::dynamic_buffer(input_, kMaxReplyBytes), "\r\n",
                             [&](boost::system::error_code ec, std::size_t n) {
                               error = ec;
                               length = n;
                               done = true;
                             });
      if (auto failed = Waited(waiter_.Run(&done, StepDeadline(), [this] { Cancel(); }),
                               "the reply to " + what)) {
        return failed;
      }
      if (error) {
        return Transient(
            0, "connection lost waiting for the reply to " + what + ": " + error.message());
      }
      const std::string line = input_.substr(0, length - 2);
      input_.erase(0, length);
      if (line.size() < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
          line[2] < '0' || line[2] > '9' || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
        return Transient(0, "malformed reply to " + what + ": '" + line.substr(0, 80) + "'");
      }
      reply->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
      if (line.size() > 4) {
        if (!reply->text.empty()) reply->text += ' ';
        reply->text += line.substr(4);
      }
      if (line.size() <= 3 || line[3] == ' ') return std::nullopt;
    }
  }

  std::optional<SmtpResult> Expect(const std::string& what, std::initializer_list<int> codes,
                                   Reply* reply) {
    if (auto failed = Read(what, reply)) return failed;
    for (int code : codes) {
      if (reply->code == code) return std::nullopt;
    }
    const std::string text = "answered " + reply->ToString() + " to " + what;
    if (reply->code >= 500) return Permanent(reply->code, text);
    return Transient(reply->code, text);
  }

  std::optional<SmtpResult> Command(const std::string& line, const std::string& name,
                                    std::initializer_list<int> codes, Reply* reply) {
    reply->code = 0;
    if (auto failed = Write(line + "\r\n", name)) return failed;
    return Expect(name, codes, reply);
  }

  // Ends the session politely after a refused command; the outcome stays `result`.
  SmtpResult Quit(SmtpResult result) {
    if (!socket_.is_open()) return result;
    const auto saved = deadline_;
    deadline_ = std::min(deadline_, Clock::now() + std::chrono::seconds(1));
    Reply ignored;
    if (!Write("QUIT\r\n", "QUIT")) (void)Read("QUIT", &ignored);
    deadline_ = saved;
    return result;
  }

  const SmtpOptions& options_;
  Clock::time_point deadline_;
  asio::io_context io_;
  tcp::socket socket_{io_};
  tcp::resolver resolver_{io_};
  IoDeadline waiter_;
  std::string input_;
  std::string peer_;
};

}  // namespace

SmtpResult SmtpClient::Send(const SmtpEnvelope& envelope,
                            std::chrono::steady_clock::time_point deadline,
                            std::stop_token stop) const {
  Session session(options_, deadline, std::move(stop));
  return session.Run(envelope);
}

}  // namespace herald::handlers
