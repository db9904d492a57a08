#include "tests/support/smtp_server.h"

#include <openssl/evp.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <optional>
#include <stdexcept>
#include <tuple>

namespace herald::testing {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
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

// Standard base64 (AUTH's encoding); nullopt when it is not.
std::optional<std::string> Base64Decode(const std::string& text) {
  if (text.empty()) return std::string();
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t size = static_cast<std::size_t>(n);
  if (text.back() == '=') --size;
  if (text[text.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

// One client connection: plain until StartTls() succeeds, encrypted after.
class Wire {
 public:
  explicit Wire(tcp::socket socket) : socket_(std::move(socket)) {}

  bool tls() const { return tls_.has_value(); }

  asio::awaitable<bool> StartTls(ssl::context& context) {
    // What the client sent before the handshake must not be read as encrypted commands.
    input_.clear();
    tls_.emplace(std::move(socket_), context);
    auto [ec] = co_await tls_->async_handshake(ssl::stream_base::server,
                                               asio::as_tuple(asio::use_awaitable));
    co_return !ec;
  }

  asio::awaitable<bool> Write(std::string text) {
    boost::system::error_code ec;
    if (tls_) {
      std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, asio::buffer(text),
                                                             asio::as_tuple(asio::use_awaitable));
    } else {
      std::tie(ec, std::ignore) = co_await asio::async_write(socket_, asio::buffer(text),
                                                             asio::as_tuple(asio::use_awaitable));
    }
    co_return !ec;
  }

  // Closes the connection at once (the peer sees EOF or a reset).
  void Close() {
    boost::system::error_code ec;
    if (tls_) {
      tls_->lowest_layer().close(ec);
    } else {
      socket_.close(ec);
    }
  }

  asio::awaitable<std::optional<std::string>> ReadLine() {
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls_) {
      std::tie(ec, n) = co_await asio::async_read_until(*tls_, asio::dynamic_buffer(input_), "\r\n",
                                                        asio::as_tuple(asio::use_awaitable));
    } else {
      std::tie(ec, n) = co_await asio::async_read_until(
          socket_, asio::dynamic_buffer(input_), "\r\n", asio::as_tuple(asio::use_awaitable));
    }
    if (ec) co_return std::nullopt;
    std::string line = input_.substr(0, n - 2);
    input_.erase(0, n);
    co_return line;
  }

 private:
  tcp::socket socket_;
  std::optional<ssl::stream<tcp::socket>> tls_;
  std::string input_;
};

}  // namespace

struct SmtpServer::Impl {
  explicit Impl(SmtpServerOptions opts) : options(std::move(opts)) {
    if (options.tls == SmtpServerTls::kNone) return;
    boost::system::error_code ec;
    tls_context.use_certificate_chain(asio::buffer(options.cert_pem), ec);
    if (!ec) tls_context.use_private_key(asio::buffer(options.key_pem), ssl::context::pem, ec);
    if (ec) throw std::runtime_error("SmtpServer: bad certificate or key: " + ec.message());
  }

  struct Action {
    bool stall = false;
    bool close = false;
    std::string reply;
  };

  const SmtpServerOptions options;
  ssl::context tls_context{ssl::context::tls_server};
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::map<SmtpStage, std::deque<Action>> script;
  std::vector<ReceivedMail> mails;
  std::vector<std::string> commands;
  int connections = 0;
  int tls_handshakes = 0;
  int queued = 0;

  void Record(std::string command) {
    std::lock_guard<std::mutex> lock(mu);
    commands.push_back(std::move(command));
  }

  bool Accepts(const std::string& user, const std::string& password) const {
    return user == options.user && password == options.password;
  }

  // nullopt: the normal reply; otherwise the scripted action.
  std::optional<Action> Scripted(SmtpStage stage) {
    std::lock_guard<std::mutex> lock(mu);
    auto& actions = script[stage];
    if (actions.empty()) return std::nullopt;
    Action action = actions.front();
    actions.pop_front();
    return action;
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      int number = 0;
      {
        std::lock_guard<std::mutex> lock(mu);
        number = ++connections;
      }
      asio::co_spawn(io, Session(std::move(socket), number), asio::detached);
    }
  }

  asio::awaitable<void> Session(tcp::socket socket, int connection) {
    Wire wire(std::move(socket));
    bool open = true;
    // Sends the reply for `stage`: scripted, silent, or `normal`. Returns false when silent or
    // scripted, which skips the stage's normal effect (a silent server makes the client time
    // out and close).
    auto reply = [&](SmtpStage stage, std::string normal) -> asio::awaitable<bool> {
      std::optional<Action> scripted = Scripted(stage);
      if (scripted && scripted->close) {
        wire.Close();
        open = false;
        co_return false;
      }
      if (scripted && scripted->stall) co_return false;
      if (!co_await wire.Write((scripted ? scripted->reply : normal) + "\r\n")) open = false;
      co_return scripted.has_value() ? false : true;
    };
    auto say = [&](std::string text) -> asio::awaitable<void> {
      if (!co_await wire.Write(text + "\r\n")) open = false;
    };
    // Waits for the client to give up (EOF or error) after a stall.
    auto drain = [&]() -> asio::awaitable<void> {
      while (co_await wire.ReadLine()) {
      }
    };

    if (options.tls == SmtpServerTls::kImplicit) {
      if (!co_await wire.StartTls(tls_context)) co_return;
      std::lock_guard<std::mutex> lock(mu);
      ++tls_handshakes;
    }
    if (!co_await reply(SmtpStage::kGreeting, "220 test.local ESMTP ready")) {
      co_await drain();
      co_return;
    }
    const bool needs_auth = !options.user.empty();
    ReceivedMail mail;
    std::string helo;
    std::string auth_user;
    std::string auth_mechanism;
    while (open) {
      std::optional<std::string> line = co_await wire.ReadLine();
      if (!line) co_return;
      const std::string verb = Upper(line->substr(0, line->find(' ')));
      const std::string arg =
          line->find(' ') == std::string::npos ? std::string() : line->substr(line->find(' ') + 1);
      if (verb == "AUTH") {
        Record("AUTH " + Upper(arg.substr(0, arg.find(' '))));
      } else {
        Record(*line);
      }
      const bool must_start_tls = options.tls == SmtpServerTls::kStartTls && !wire.tls();
      if (verb == "EHLO" || verb == "HELO") {
        helo = arg;
        std::string normal = "250 test.local";
        if (verb == "EHLO") {
          normal = "250-test.local greets you\r\n250-8BITMIME\r\n";
          if (must_start_tls) normal += "250-STARTTLS\r\n";
          if (needs_auth && !must_start_tls) normal += "250-AUTH PLAIN LOGIN\r\n";
          normal += "250 SIZE 1048576";
        }
        co_await reply(SmtpStage::kEhlo, normal);
      } else if (verb == "STARTTLS") {
        if (!must_start_tls) {
          co_await say("503 5.5.1 TLS already active or not offered");
          continue;
        }
        co_await say("220 2.0.0 Ready to start TLS");
        if (!open || !co_await wire.StartTls(tls_context)) co_return;
        {
          std::lock_guard<std::mutex> lock(mu);
          ++tls_handshakes;
        }
        // RFC 3207: the client starts over with EHLO.
        helo.clear();
      } else if (verb == "AUTH") {
        if (!needs_auth || must_start_tls) {
          co_await say("503 5.5.1 AUTH not available");
          continue;
        }
        const std::string mechanism = Upper(arg.substr(0, arg.find(' ')));
        std::string initial =
            arg.find(' ') == std::string::npos ? std::string() : arg.substr(arg.find(' ') + 1);
        std::optional<std::string> user;
        std::optional<std::string> password;
        if (mechanism == "PLAIN") {
          if (initial.empty()) {
            co_await say("334 ");
            std::optional<std::string> response = co_await wire.ReadLine();
            if (!response) co_return;
            initial = *response;
          }
          // authzid \0 authcid \0 password
          std::optional<std::string> decoded = Base64Decode(initial);
          if (decoded) {
            const auto first = decoded->find('\0');
            const auto second = first == std::string::npos ? first : decoded->find('\0', first + 1);
            if (second != std::string::npos) {
              user = decoded->substr(first + 1, second - first - 1);
              password = decoded->substr(second + 1);
            }
          }
        } else if (mechanism == "LOGIN") {
          if (initial.empty()) {
            co_await say("334 VXNlcm5hbWU6");  // "Username:"
            std::optional<std::string> response = co_await wire.ReadLine();
            if (!response) co_return;
            initial = *response;
          }
          user = Base64Decode(initial);
          co_await say("334 UGFzc3dvcmQ6");  // "Password:"
          std::optional<std::string> response = co_await wire.ReadLine();
          if (!response) co_return;
          password = Base64Decode(*response);
        } else {
          co_await say("504 5.5.4 Unrecognized authentication type");
          continue;
        }
        if (user && password && Accepts(*user, *password)) {
          auth_user = *user;
          auth_mechanism = mechanism;
          co_await say("235 2.7.0 Authentication successful");
        } else {
          co_await say("535 5.7.8 Authentication credentials invalid");
        }
      } else if (verb == "MAIL") {
        if (must_start_tls) {
          co_await say("530 5.7.0 Must issue a STARTTLS command first");
        } else if (needs_auth && auth_user.empty()) {
          co_await say("530 5.7.0 Authentication required");
        } else if (co_await reply(SmtpStage::kMailFrom, "250 2.1.0 Ok")) {
          mail = ReceivedMail{};
          mail.helo = helo;
          mail.tls = wire.tls();
          mail.auth_user = auth_user;
          mail.auth_mechanism = auth_mechanism;
          mail.connection = connection;
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
          std::optional<std::string> data_line = co_await wire.ReadLine();
          if (!data_line) co_return;
          if (*data_line == ".") break;
          if (!data_line->empty() && data_line->front() == '.') data_line->erase(0, 1);
          data += *data_line + "\r\n";
        }
        mail.data = std::move(data);
        // Recorded before the reply goes out: a client that has its 250 finds the mail here.
        std::optional<Action> scripted = Scripted(SmtpStage::kMessage);
        if (scripted && scripted->close) {
          wire.Close();
          co_return;
        }
        if (scripted && scripted->stall) {
          co_await drain();
          co_return;
        }
        int id = 0;
        if (!scripted) {
          std::lock_guard<std::mutex> lock(mu);
          id = ++queued;
          mails.push_back(mail);
          cv.notify_all();
        }
        const std::string answer =
            scripted ? scripted->reply : "250 2.0.0 Ok: queued as " + std::to_string(id);
        co_await say(answer);
        mail = ReceivedMail{};
      } else if (verb == "RSET" || verb == "NOOP") {
        mail = ReceivedMail{};
        co_await say("250 2.0.0 Ok");
      } else if (verb == "QUIT") {
        co_await say("221 2.0.0 Bye");
        co_return;
      } else {
        co_await say("502 5.5.2 Error: command not recognized");
      }
    }
  }
};

SmtpServer::SmtpServer(SmtpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
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
  for (int i = 0; i < times; ++i) impl_->script[stage].push_back({false, false, reply});
}

void SmtpServer::StallNext(SmtpStage stage, int times) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (int i = 0; i < times; ++i) impl_->script[stage].push_back({true, false, {}});
}

void SmtpServer::CloseAt(SmtpStage stage, int times) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (int i = 0; i < times; ++i) impl_->script[stage].push_back({false, true, {}});
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

int SmtpServer::tls_handshakes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->tls_handshakes;
}

bool SmtpServer::WaitForMails(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->mails.size() >= count; });
}

}  // namespace herald::testing
