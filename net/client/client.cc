#include "net/client/client.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <exception>

namespace herald::client {
namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

void AppendCommand(std::string* out, const std::vector<std::string>& args) {
  out->append("*" + std::to_string(args.size()) + "\r\n");
  for (const std::string& arg : args) {
    out->append("$" + std::to_string(arg.size()) + "\r\n");
    out->append(arg);
    out->append("\r\n");
  }
}

std::string Millis(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

}  // namespace

Client::Client(ClientOptions options)
    : options_(options), socket_(io_), parser_(options.reply_limits) {}

Client::~Client() { Close(); }

Result<std::unique_ptr<Client>> Client::Connect(const std::string& host, std::uint16_t port,
                                                std::chrono::milliseconds timeout) {
  ClientOptions options;
  options.connect_timeout = timeout;
  options.io_timeout = timeout;
  return Connect(host, port, options);
}

Result<std::unique_ptr<Client>> Client::Connect(const std::string& host, std::uint16_t port,
                                                const ClientOptions& options) {
  // The io_context may throw while acquiring its OS resources; nothing else here does.
  try {
    std::unique_ptr<Client> client(new Client(options));
    if (Status opened = client->Open(host, port); !opened.ok()) return opened;
    return client;
  } catch (const std::exception& e) {
    return Status::IOError("connecting to " + host + ":" + std::to_string(port) + ": " + e.what());
  }
}

bool Client::RunUntil(const bool* done, Clock::time_point deadline) {
  io_.restart();
  while (!*done) {
    if (io_.run_one_until(deadline) == 0 && !*done) return false;
  }
  return true;
}

Status Client::Open(const std::string& host, std::uint16_t port) {
  const std::string where = host + ":" + std::to_string(port);
  const Clock::time_point deadline = Clock::now() + options_.connect_timeout;

  tcp::resolver resolver(io_);
  tcp::resolver::results_type endpoints;
  error_code ec;
  bool done = false;
  resolver.async_resolve(host, std::to_string(port),
                         [&](const error_code& e, tcp::resolver::results_type results) {
                           ec = e;
                           endpoints = std::move(results);
                           done = true;
                         });
  if (!RunUntil(&done, deadline)) {
    resolver.cancel();
    io_.restart();
    io_.run();  // the cancelled handler refers to locals: let it finish here
    closed_reason_ = "resolving " + host + " timed out";
    return Status::TimedOut("resolving " + host + " timed out after " +
                            Millis(options_.connect_timeout));
  }
  if (ec) {
    closed_reason_ = "resolving " + host + " failed";
    return Status::IOError("resolving " + host + ": " + ec.message());
  }

  done = false;
  asio::async_connect(socket_, endpoints, [&](const error_code& e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  if (!RunUntil(&done, deadline)) {
    CloseSocket();
    closed_reason_ = "connecting to " + where + " timed out";
    return Status::TimedOut("connecting to " + where + " timed out after " +
                            Millis(options_.connect_timeout));
  }
  if (ec) {
    CloseSocket();
    closed_reason_ = "connecting to " + where + " failed";
    return Status::IOError("connecting to " + where + ": " + ec.message());
  }
  // Requests are small and a reply is awaited after each flush: Nagle would only add delay.
  socket_.set_option(tcp::no_delay(true), ec);
  closed_reason_.clear();
  return Status::Ok();
}

void Client::CloseSocket() {
  error_code ignored;
  socket_.close(ignored);
  // Cancelled operations complete with operation_aborted; their handlers refer to the
  // caller's locals, so they run now, before the caller returns.
  io_.restart();
  io_.run();
  output_.clear();
  writing_.clear();
  input_.clear();
  parser_.Reset();
  pending_replies_ = 0;
}

Status Client::Abort(Status error) {
  CloseSocket();
  closed_reason_ = error.message();
  return error;
}

Status Client::ClosedError() const {
  return Status::IOError("connection closed: " + closed_reason_);
}

void Client::Close() {
  if (!socket_.is_open()) return;
  CloseSocket();
  closed_reason_ = "closed by the client";
}

void Client::Append(const std::vector<std::string>& args) {
  AppendCommand(&output_, args);
  ++pending_replies_;
}

Result<resp::Reply> Client::Command(const std::vector<std::string>& args) {
  if (!socket_.is_open()) return ClosedError();
  if (pending_replies_ > 0) {
    return Status::InvalidArgument(std::to_string(pending_replies_) +
                                   " pipelined replies are unread; call ReadReplies() first");
  }
  Append(args);
  return ReadReply();
}

Result<resp::Reply> Client::ReadReply() {
  Result<std::vector<resp::Reply>> replies = ReadReplies(1);
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

Result<std::vector<resp::Reply>> Client::ReadReplies(std::size_t count) {
  if (!socket_.is_open()) return ClosedError();

  std::vector<resp::Reply> replies;
  replies.reserve(std::min<std::size_t>(count, 4096));

  // The queued commands are written while replies are read (see the header).
  writing_.clear();
  writing_.swap(output_);
  bool write_done = writing_.empty();
  error_code write_ec;
  if (!write_done) {
    asio::async_write(socket_, asio::buffer(writing_),
                      [&write_done, &write_ec](const error_code& e, std::size_t) {
                        write_ec = e;
                        write_done = true;
                      });
  }

  bool read_in_flight = false;
  error_code read_ec;
  Clock::time_point deadline = Clock::now() + options_.io_timeout;
  io_.restart();
  while (true) {
    std::size_t pos = 0;
    while (replies.size() < count && pos < input_.size()) {
      resp::Reply reply;
      const resp::ParseResult result = parser_.Parse(std::string_view(input_).substr(pos), &reply);
      pos += result.consumed;
      if (result.failed()) {
        return Abort(Status::Corruption("invalid reply from the server: " + result.error));
      }
      if (result.complete()) replies.push_back(std::move(reply));
    }
    input_.erase(0, pos);

    if (write_done && write_ec) {
      if (write_ec == asio::error::broken_pipe || write_ec == asio::error::connection_reset) {
        return Abort(Status::IOError("connection closed by the server"));
      }
      return Abort(Status::IOError("writing: " + write_ec.message()));
    }
    if (read_ec) {
      if (read_ec == asio::error::eof || read_ec == asio::error::connection_reset) {
        return Abort(Status::IOError("connection closed by the server"));
      }
      return Abort(Status::IOError("reading: " + read_ec.message()));
    }
    if (replies.size() == count && write_done) break;

    if (replies.size() < count && !read_in_flight) {
      read_in_flight = true;
      socket_.async_read_some(asio::buffer(read_chunk_), [this, &read_in_flight, &read_ec](
                                                             const error_code& e, std::size_t n) {
        read_in_flight = false;
        read_ec = e;
        input_.append(read_chunk_.data(), n);
      });
    }
    if (io_.stopped()) io_.restart();
    if (io_.run_one_until(deadline) == 0) {
      return Abort(
          Status::TimedOut("no reply from the server within " + Millis(options_.io_timeout)));
    }
    deadline = Clock::now() + options_.io_timeout;  // bytes moved: the wait starts over
  }
  pending_replies_ -= std::min(pending_replies_, count);
  return replies;
}

Result<resp::Reply> Client::Auth(std::string_view password) {
  return Command({"AUTH", std::string(password)});
}

Result<resp::Reply> Client::Auth(std::string_view user, std::string_view password) {
  return Command({"AUTH", std::string(user), std::string(password)});
}

Result<resp::Reply> Client::Hello(int protocol,
                                  std::optional<std::pair<std::string, std::string>> auth) {
  std::vector<std::string> args = {"HELLO", std::to_string(protocol)};
  if (auth) {
    args.push_back("AUTH");
    args.push_back(auth->first);
    args.push_back(auth->second);
  }
  return Command(args);
}

Result<resp::Reply> Client::AckJob(std::string_view id, std::optional<std::string_view> result) {
  std::vector<std::string> args = {"ACKJOB", std::string(id)};
  if (result) {
    args.push_back("RESULT");
    args.push_back(std::string(*result));
  }
  return Command(args);
}

}  // namespace herald::client
