#include "tests/support/smtp_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <optional>

namespace herald::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string Upper(std::string text) {
  for (char& c : text) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return text;
}

std::string Bracketed(const std::string& arg) {
  const auto open = arg.find('<');
  const auto close = arg.rfind('>');
  if (open == std::string::npos || close == std::string::npos || close < open) return arg;
  return arg.substr(open + 1, close - open - 1);
}

}  // namespace

struct SmtpServer::Impl {
  struct Action {
    bool stall = false;
    std::string reply;
  };

  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::map<SmtpStage, std::deque<Action>> script;
  std::vector<ReceivedMail> mails;
  std::vector<std::string> commands;
  int connections = 0;
  int queued = 0;

  // nullopt: the normal reply; "" : stay silent; otherwise the scripted reply.
  std::optional<std::string> Scripted(SmtpStage stage) {
    std::lock_guard<std::mutex> lock(mu);
    auto& actions = script[stage];
    if (actions.empty()) return std::nullopt;
    Action action = actions.front();
    actions.pop_front();
    return action.stall ? std::string() : action.reply;
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      {
        std::lock_guard<std::mutex> lock(mu);
        ++connections;
      }
      asio::co_spawn(io, Session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    std::string input;
    bool open = true;
    // Sends the reply for `stage`: scripted, silent, or `normal`. Returns false when silent,
    // which ends the session's progress (the client times out and closes).
    auto reply = [&](SmtpStage stage, const std::string& normal) -> asio::awaitable<bool> {
      std::optional<std::string> scripted = Scripted(stage);
      if (scripted && scripted->empty()) co_return false;
      const std::string text = (scripted ? *scripted : normal) + "\r\n";
      auto [ec, n] = co_await asio::async_write(socket, asio::buffer(text),
                                                asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (ec) open = false;
      co_return scripted.has_value() ? false : true;
    };
    auto read_line = [&]() -> asio::awaitable<std::optional<std::string>> {
      auto [ec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(input), "\r\n",
                                                     asio::as_tuple(asio::use_awaitable));
      if (ec) co_return std::nullopt;
      std::string line = input.substr(0, n - 2);
      input.erase(0, n);
      co_return line;
    };
    // Waits for the client to give up (EOF or error) after a stall.
    auto drain = [&]() -> asio::awaitable<void> {
      while (co_await read_line()) {
      }
    };

    if (!co_await reply(SmtpStage::kGreeting, "220 test.local ESMTP ready")) {
      co_await drain();
      co_return;
    }
    ReceivedMail mail;
    std::string helo;
    while (open) {
      std::optional<std::string> line = co_await read_line();
      if (!line) co_return;
      {
        std::lock_guard<std::mutex> lock(mu);
        commands.push_back(*line);
      }
      const std::string verb = Upper(line->substr(0, line->find(' ')));
      const std::string arg =
          line->find(' ') == std::string::npos ? std::string() : line->substr(line->find(' ') + 1);
      if (verb == "EHLO" || verb == "HELO") {
        helo = arg;
        const std::string normal =
            verb == "EHLO" ? "250-test.local greets you\r\n250-8BITMIME\r\n250 SIZE 1048576"
                           : "250 test.local";
        co_await reply(SmtpStage::kEhlo, normal);
      } else if (verb == "MAIL") {
        if (co_await reply(SmtpStage::kMailFrom, "250 2.1.0 Ok")) {
          mail = ReceivedMail{};
          mail.helo = helo;
          mail.mail_from = Bracketed(arg);
        }
      } else if (verb == "RCPT") {
        if (co_await reply(SmtpStage::kRcptTo, "250 2.1.5 Ok")) {
          mail.rcpt_to.push_back(Bracketed(arg));
        }
      } else if (verb == "DATA") {
        if (!co_await reply(SmtpStage::kData, "354 End data with <CR><LF>.<CR><LF>")) continue;
        std::string data;
        for (;;) {
          std::optional<std::string> data_line = co_await read_line();
          if (!data_line) co_return;
          if (*data_line == ".") break;
          if (!data_line->empty() && data_line->front() == '.') data_line->erase(0, 1);
          data += *data_line + "\r\n";
        }
        mail.data = std::move(data);
        int id = 0;
        {
          std::lock_guard<std::mutex> lock(mu);
          id = ++queued;
        }
        if (co_await reply(SmtpStage::kMessage, "250 2.0.0 Ok: queued as " + std::to_string(id))) {
          std::lock_guard<std::mutex> lock(mu);
          mails.push_back(mail);
          cv.notify_all();
        }
        mail = ReceivedMail{};
      } else if (verb == "RSET" || verb == "NOOP") {
        mail = ReceivedMail{};
        const std::string ok = "250 2.0.0 Ok\r\n";
        co_await asio::async_write(socket, asio::buffer(ok), asio::as_tuple(asio::use_awaitable));
      } else if (verb == "QUIT") {
        const std::string bye = "221 2.0.0 Bye\r\n";
        co_await asio::async_write(socket, asio::buffer(bye), asio::as_tuple(asio::use_awaitable));
        co_return;
      } else {
        const std::string unknown = "502 5.5.2 Error: command not recognized\r\n";
        co_await asio::async_write(socket, asio::buffer(unknown),
                                   asio::as_tuple(asio::use_awaitable));
      }
    }
  }
};

SmtpServer::SmtpServer() : impl_(std::make_unique<Impl>()) {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

SmtpServer::~SmtpServer() {
  impl_->io.stop();
  impl_->thread.join();
}

void SmtpServer::FailNext(SmtpStage stage, std::string reply, int times) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (int i = 0; i < times; ++i) impl_->script[stage].push_back({false, reply});
}

void SmtpServer::StallNext(SmtpStage stage, int times) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (int i = 0; i < times; ++i) impl_->script[stage].push_back({true, {}});
}

std::vector<ReceivedMail> SmtpServer::mails() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->mails;
}

std::vector<std::string> SmtpServer::commands() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->commands;
}

int SmtpServer::connections() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->connections;
}

bool SmtpServer::WaitForMails(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->mails.size() >= count; });
}

}  // namespace herald::testing
