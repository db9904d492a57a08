// Client: a small synchronous RESP client over TCP, for tools, benchmarks and tests.
//
//   auto client = Client::Connect("127.0.0.1", 6379, std::chrono::seconds(2));
//   if (!client.ok()) return Fail(client.status().message());
//   auto reply = (*client)->Command({"SET", "k", "v"});   // Result<resp::Reply>
//
// Pipelining: Append() any number of commands, then ReadReplies(n). Pending commands are sent
// while replies are read, so a long pipeline cannot deadlock against a server that stops
// reading until its replies are taken.
//
// A server's error reply ("-ERR ...") is a successful exchange: it comes back as a Reply of
// type kError. A non-OK Status means the exchange itself failed; its code says how:
//   IOError        connecting, reading or writing failed, or the connection is closed
//                  ("connection closed: ..."; is_open() is then false)
//   TimedOut       the connect or I/O timeout passed
//   Corruption     the server sent something that is not RESP
//   InvalidArgument the call does not fit the client's state (replies of Append() unread)
// After a failed exchange the connection is closed and every later call fails with
// "connection closed: <why>", since the stream position is unknown.
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

#include "common/status.h"
#include "net/resp/reply.h"
#include "net/resp/reply_parser.h"

namespace herald::client {

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
  static Result<std::unique_ptr<Client>> Connect(const std::string& host, std::uint16_t port,
                                                 std::chrono::milliseconds timeout);
  static Result<std::unique_ptr<Client>> Connect(const std::string& host, std::uint16_t port,
                                                 const ClientOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one command and returns its reply. Fails with kUsage while replies of Append()ed
  // commands are unread.
  Result<resp::Reply> Command(const std::vector<std::string>& args);

  // Queues a command; it is sent by the next ReadReplies() or Command().
  void Append(const std::vector<std::string>& args);
  // Sends every queued command and reads `count` replies (more than were queued is fine, e.g.
  // for push messages; 0 only sends).
  Result<std::vector<resp::Reply>> ReadReplies(std::size_t count);
  // ReadReplies(1), unwrapped.
  Result<resp::Reply> ReadReply();

  // AUTH password / AUTH user password.
  Result<resp::Reply> Auth(std::string_view password);
  Result<resp::Reply> Auth(std::string_view user, std::string_view password);
  // HELLO protocol [AUTH user password]. Replies of either protocol are understood, so this
  // only changes what the server sends.
  Result<resp::Reply> Hello(int protocol,
                            std::optional<std::pair<std::string, std::string>> auth = std::nullopt);

  // ACKJOB id, or ACKJOB id RESULT value when `result` is set: completes a job taken with
  // GETJOB, recording `result` as its return value. The reply is 1 when the job was active
  // under a lease and is now completed, 0 when not (e.g. its lease expired).
  Result<resp::Reply> AckJob(std::string_view id,
                             std::optional<std::string_view> result = std::nullopt);

  // Commands queued by Append() whose replies were not read yet.
  std::size_t pending_replies() const { return pending_replies_; }
  bool is_open() const { return socket_.is_open(); }
  void set_io_timeout(std::chrono::milliseconds timeout) { options_.io_timeout = timeout; }
  // Closes the connection; later calls fail with kClosed.
  void Close();

 private:
  explicit Client(ClientOptions options);

  Status Open(const std::string& host, std::uint16_t port);
  // Runs handlers until *done or the deadline; false on timeout.
  bool RunUntil(const bool* done, std::chrono::steady_clock::time_point deadline);
  // Closes the socket, runs the handlers it cancels and drops what was queued or read.
  void CloseSocket();
  // CloseSocket(), recording `error` as the reason later calls give; returns it.
  Status Abort(Status error);
  Status ClosedError() const;

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
