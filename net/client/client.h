// Client: a small synchronous RESP client over TCP, for tools, benchmarks and tests.
//
//   auto client = Client::Connect("127.0.0.1", 6379, std::chrono::seconds(2));
//   if (!client.ok()) return Fail(client.error().message);
//   auto reply = (*client)->Command({"SET", "k", "v"});   // ClientResult<resp::Reply>
//
// Pipelining: Append() any number of commands, then ReadReplies(n). Pending commands are sent
// while replies are read, so a long pipeline cannot deadlock against a server that stops
// reading until its replies are taken.
//
// A server's error reply ("-ERR ...") is a successful exchange: it comes back as a Reply of
// type kError. A ClientError means the exchange itself failed (connect, timeout, I/O, a reply
// that is not RESP); after one the connection is closed and every later call fails with
// kClosed, since the stream position is unknown.
//
// Timeouts: the connect timeout bounds resolving plus connecting; the I/O timeout bounds each
// wait for the server to take or send bytes (it restarts whenever bytes move).
//
// Never throws (Asio's error_code forms throughout; errors from construction are returned).
// Thread safety: none; use one Client from one thread at a time.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/resp/reply.h"
#include "net/resp/reply_parser.h"

namespace herald::client {

enum class ClientErrorCode {
  kConnect,   // resolving or connecting failed
  kTimedOut,  // the connect or I/O timeout passed
  kIO,        // reading or writing failed
  kClosed,    // the server closed the connection, or an earlier failure did
  kProtocol,  // the server sent something that is not RESP
  kUsage,     // the call does not fit the client's state (e.g. replies of Append() unread)
};

struct ClientError {
  ClientErrorCode code = ClientErrorCode::kIO;
  std::string message;
};

// A value or a ClientError. Access the value only after checking ok().
template <typename T>
class [[nodiscard]] ClientResult {
 public:
  ClientResult(T value) : value_(std::move(value)) {}            // NOLINT: implicit by design
  ClientResult(ClientError error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const ClientError& error() const { return error_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  ClientError error_;
};

struct ClientOptions {
  // Bound on resolving and connecting. Default: 5 s.
  std::chrono::milliseconds connect_timeout{5000};
  // Bound on each wait for the server to take or send bytes. Default: 5 s.
  std::chrono::milliseconds io_timeout{5000};
  // Limits on the replies accepted. Default: ReplyParserLimits's defaults.
  resp::ReplyParserLimits reply_limits;
};

class Client {
 public:
  // Connects to host:port; `timeout` is both the connect and the I/O timeout.
  static ClientResult<std::unique_ptr<Client>> Connect(const std::string& host, std::uint16_t port,
                                                       std::chrono::milliseconds timeout);
  static ClientResult<std::unique_ptr<Client>> Connect(const std::string& host, std::uint16_t port,
                                                       const ClientOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one command and returns its reply. Fails with kUsage while replies of Append()ed
  // commands are unread.
  ClientResult<resp::Reply> Command(const std::vector<std::string>& args);

  // Queues a command; it is sent by the next ReadReplies() or Command().
  void Append(const std::vector<std::string>& args);
  // Sends every queued command and reads `count` replies (more than were queued is fine, e.g.
  // for push messages; 0 only sends).
  ClientResult<std::vector<resp::Reply>> ReadReplies(std::size_t count);
  // ReadReplies(1), unwrapped.
  ClientResult<resp::Reply> ReadReply();

  // AUTH password / AUTH user password.
  ClientResult<resp::Reply> Auth(std::string_view password);
  ClientResult<resp::Reply> Auth(std::string_view user, std::string_view password);
  // HELLO protocol [AUTH user password]. Replies of either protocol are understood, so this
  // only changes what the server sends.
  ClientResult<resp::Reply> Hello(
      int protocol, std::optional<std::pair<std::string, std::string>> auth = std::nullopt);

  // ACKJOB id, or ACKJOB id RESULT value when `result` is set: completes a job taken with
  // GETJOB, recording `result` as its return value. The reply is 1 when the job was active
  // under a lease and is now completed, 0 when not (e.g. its lease expired).
  ClientResult<resp::Reply> AckJob(std::string_view id,
                                   std::optional<std::string_view> result = std::nullopt);

  // Commands queued by Append() whose replies were not read yet.
  std::size_t pending_replies() const { return pending_replies_; }
  bool is_open() const { return socket_.is_open(); }
  void set_io_timeout(std::chrono::milliseconds timeout) { options_.io_timeout = timeout; }
  // Closes the connection; later calls fail with kClosed.
  void Close();

 private:
  explicit Client(ClientOptions options);

  std::optional<ClientError> Open(const std::string& host, std::uint16_t port);
  // Runs handlers until *done or the deadline; false on timeout.
  bool RunUntil(const bool* done, std::chrono::steady_clock::time_point deadline);
  // Closes the socket and runs the handlers it cancels, then records why.
  ClientError Abort(ClientError error);
  ClientError ClosedError() const;

  ClientOptions options_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  resp::ReplyParser parser_;
  std::string output_;   // encoded commands not sent yet
  std::string writing_;  // commands being sent
  std::string input_;    // bytes received and not parsed yet
  std::array<char, 16 * 1024> read_chunk_;
  std::size_t pending_replies_ = 0;
  std::string closed_reason_ = "not connected";
};

}  // namespace herald::client
