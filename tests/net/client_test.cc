#include "net/client/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "net/resp/reply_writer.h"
#include "net/resp/request_parser.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace herald::resp {
void PrintTo(const Reply& reply, std::ostream* os) { *os << reply.ToString(); }
}  // namespace herald::resp

namespace herald::client {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using resp::Reply;
using resp::ReplyType;

constexpr const char* kRedisServer = "/usr/bin/redis-server";

// A listening socket on 127.0.0.1 that never says anything. The kernel completes handshakes
// for up to `backlog` + 1 connections that nobody has accepted yet.
class SilentServer {
 public:
  explicit SilentServer(int backlog = 16) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, backlog), 0);
    socklen_t length = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() {
    for (int fd : accepted_) close(fd);
    close(fd_);
  }
  std::uint16_t port() const { return port_; }
  // Accepts one pending connection and keeps it open, silent.
  void AcceptOne() {
    const int fd = accept(fd_, nullptr, nullptr);
    EXPECT_GE(fd, 0);
    accepted_.push_back(fd);
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> accepted_;
};

// Sends raw bytes on a fresh connection and returns everything the server sends back until it
// closes the connection (or 5 s pass).
std::string RawExchange(int port, const std::string& bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "<connect failed>";
  }
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string received;
  char chunk[4096];
  while (true) {
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    received.append(chunk, static_cast<std::size_t>(n));
  }
  close(fd);
  return received;
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kRedisServer, X_OK) != 0) GTEST_SKIP() << kRedisServer << " is not installed";
    port_ = testing::FreePort();
    redis_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{kRedisServer, "--port", std::to_string(port_), "--bind",
                                 "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                                 dir_.path()},
        dir_.Sub("redis.log"));
    ASSERT_TRUE(testing::WaitForPort(port_, 10s)) << redis_->Output();
  }

  std::unique_ptr<Client> Connect(std::chrono::milliseconds timeout = 5s) {
    auto client = Client::Connect("127.0.0.1", static_cast<std::uint16_t>(port_), timeout);
    EXPECT_TRUE(client.ok()) << client.status().message();
    if (!client.ok()) return nullptr;
    return std::move(client).value();
  }

  Reply Run(Client& client, const std::vector<std::string>& args) {
    auto reply = client.Command(args);
    EXPECT_TRUE(reply.ok()) << reply.status().message();
    return reply.ok() ? *reply : Reply::Error("client error: " + reply.status().message());
  }

  testing::TempDir dir_;
  int port_ = 0;
  std::unique_ptr<testing::ChildProcess> redis_;
};

TEST_F(ClientTest, PingGetsPong) {
  auto client = Connect();
  ASSERT_TRUE(client);
  EXPECT_TRUE(client->is_open());
  EXPECT_EQ(Run(*client, {"PING"}), Reply::SimpleString("PONG"));
  EXPECT_EQ(Run(*client, {"PING", "hello"}), Reply::Bulk("hello"));
}

TEST_F(ClientTest, SetAndGetBinaryValues) {
  auto client = Connect();
  ASSERT_TRUE(client);
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte.push_back(static_cast<char>(i));
  const std::string with_crlf = "a\r\nb\r\n\0*1\r\n$3\r\n"s;
  const std::string large(3 << 20, 'L');
  for (const std::string& value : {every_byte, with_crlf, large, ""s}) {
    EXPECT_EQ(Run(*client, {"SET", "key\r\n\0"s, value}), Reply::SimpleString("OK"));
    EXPECT_EQ(Run(*client, {"GET", "key\r\n\0"s}), Reply::Bulk(value));
  }
  EXPECT_EQ(Run(*client, {"GET", "missing"}), Reply::Null());
}

TEST_F(ClientTest, PipelinesTenThousandCommands) {
  auto client = Connect();
  ASSERT_TRUE(client);
  constexpr int kCount = 10000;
  for (int i = 0; i < kCount; ++i) client->Append({"INCR", "counter"});
  EXPECT_EQ(client->pending_replies(), static_cast<std::size_t>(kCount));
  auto replies = client->ReadReplies(kCount);
  ASSERT_TRUE(replies.ok()) << replies.status().message();
  ASSERT_EQ(replies->size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) ASSERT_EQ((*replies)[i], Reply::Integer(i + 1));
  EXPECT_EQ(client->pending_replies(), 0u);

  // Large requests and replies in flight together: the client writes while it reads.
  const std::string value(64 * 1024, 'v');
  for (int i = 0; i < 200; ++i) {
    client->Append({"SET", "k" + std::to_string(i), value});
    client->Append({"GET", "k" + std::to_string(i)});
  }
  replies = client->ReadReplies(400);
  ASSERT_TRUE(replies.ok()) << replies.status().message();
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ((*replies)[2 * i], Reply::SimpleString("OK"));
    ASSERT_EQ((*replies)[2 * i + 1], Reply::Bulk(value));
  }
}

TEST_F(ClientTest, ReadRepliesCanBeSplitAcrossCalls) {
  auto client = Connect();
  ASSERT_TRUE(client);
  for (int i = 0; i < 5; ++i) client->Append({"ECHO", std::to_string(i)});
  auto first = client->ReadReplies(2);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)[1], Reply::Bulk("1"));
  EXPECT_EQ(client->pending_replies(), 3u);
  auto rest = client->ReadReplies(3);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ((*rest)[2], Reply::Bulk("4"));
}

TEST_F(ClientTest, CommandRefusesWhilePipelinedRepliesAreUnread) {
  auto client = Connect();
  ASSERT_TRUE(client);
  client->Append({"PING"});
  auto reply = client->Command({"PING"});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Status::Code::kInvalidArgument);
  auto pong = client->ReadReply();
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(*pong, Reply::SimpleString("PONG"));
  EXPECT_EQ(Run(*client, {"PING"}), Reply::SimpleString("PONG"));
}

TEST_F(ClientTest, ErrorRepliesAreRepliesAndTheConnectionStaysUsable) {
  auto client = Connect();
  ASSERT_TRUE(client);
  const Reply unknown = Run(*client, {"NOSUCHCOMMAND", "a"});
  EXPECT_TRUE(unknown.is_error());
  EXPECT_EQ(unknown.str.rfind("ERR unknown command 'NOSUCHCOMMAND'", 0), 0u) << unknown.str;
  const Reply arity = Run(*client, {"GET"});
  EXPECT_EQ(arity, Reply::Error("ERR wrong number of arguments for 'get' command"));
  Run(*client, {"LPUSH", "list", "x"});
  const Reply wrongtype = Run(*client, {"GET", "list"});
  EXPECT_EQ(wrongtype,
            Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value"));
  EXPECT_EQ(Run(*client, {"PING"}), Reply::SimpleString("PONG"));
}

TEST_F(ClientTest, HelloSwitchesToResp3AndRepliesAreStillUnderstood) {
  auto client = Connect();
  ASSERT_TRUE(client);
  auto hello = client->Hello(3);
  ASSERT_TRUE(hello.ok()) << hello.status().message();
  ASSERT_EQ(hello->type, ReplyType::kMap) << hello->ToString();
  ASSERT_NE(hello->Find("proto"), nullptr);
  EXPECT_EQ(hello->Find("proto")->integer, 3);
  EXPECT_EQ(hello->Find("server")->str, "redis");

  EXPECT_EQ(Run(*client, {"GET", "missing"}), Reply::Null());
  Run(*client, {"SADD", "set", "a"});
  EXPECT_EQ(Run(*client, {"SMEMBERS", "set"}), Reply::Set({Reply::Bulk("a")}));
  Run(*client, {"ZADD", "z", "1.5", "m"});
  EXPECT_EQ(Run(*client, {"ZSCORE", "z", "m"}), Reply::Double(1.5, "1.5"));
  Run(*client, {"HSET", "h", "f", "v"});
  EXPECT_EQ(Run(*client, {"HGETALL", "h"}), Reply::Map({{Reply::Bulk("f"), Reply::Bulk("v")}}));

  hello = client->Hello(2);
  ASSERT_TRUE(hello.ok());
  EXPECT_EQ(hello->type, ReplyType::kArray);
  EXPECT_EQ(Run(*client, {"ZSCORE", "z", "m"}), Reply::Bulk("1.5"));
}

TEST_F(ClientTest, AuthAndHelloAuthenticate) {
  auto admin = Connect();
  ASSERT_TRUE(admin);
  EXPECT_EQ(Run(*admin, {"CONFIG", "SET", "requirepass", "secret"}), Reply::SimpleString("OK"));

  auto client = Connect();
  ASSERT_TRUE(client);
  const Reply refused = Run(*client, {"GET", "k"});
  EXPECT_EQ(refused, Reply::Error("NOAUTH Authentication required.")) << refused.ToString();
  auto reply = client->Auth("wrong");
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(reply->is_error()) << reply->ToString();
  reply = client->Auth("secret");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(*reply, Reply::SimpleString("OK"));
  EXPECT_EQ(Run(*client, {"PING"}), Reply::SimpleString("PONG"));

  auto other = Connect();
  ASSERT_TRUE(other);
  reply = other->Auth("default", "secret");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(*reply, Reply::SimpleString("OK"));

  auto third = Connect();
  ASSERT_TRUE(third);
  reply = third->Hello(3, std::make_pair("default"s, "secret"s));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->type, ReplyType::kMap) << reply->ToString();
  EXPECT_EQ(Run(*third, {"PING"}), Reply::SimpleString("PONG"));
}

TEST_F(ClientTest, ServerClosingTheConnectionIsReported) {
  auto client = Connect();
  ASSERT_TRUE(client);
  EXPECT_EQ(Run(*client, {"QUIT"}), Reply::SimpleString("OK"));
  auto reply = client->Command({"PING"});
  ASSERT_FALSE(reply.ok());
  EXPECT_TRUE(reply.status().IsIOError()) << reply.status().message();
  EXPECT_EQ(reply.status().message(), "connection closed by the server");
  EXPECT_FALSE(client->is_open());
  reply = client->Command({"PING"});
  ASSERT_FALSE(reply.ok());
  EXPECT_TRUE(reply.status().IsIOError());
  EXPECT_EQ(reply.status().message(), "connection closed: connection closed by the server");
}

// Redis's replies to malformed requests match "-ERR Protocol error: " plus RequestParser's
// error, written by ReplyWriter.
TEST_F(ClientTest, ProtocolErrorsMatchRedisServer) {
  const std::vector<std::string> inputs = {
      "*abc\r\n",
      "*3000000000\r\n",
      "*1\r\n$-1\r\n",
      "*1\r\n$abc\r\n",
      "*1\r\n$536870913\r\n",
      "*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
      "*1\r\n\r\n",
      "SET \"abc\r\n",
      "SET 'a'b\r\n",
      std::string(70000, 'a'),
      "*" + std::string(70000, '1'),
      "*1\r\n$" + std::string(70000, '1'),
  };
  for (const std::string& input : inputs) {
    SCOPED_TRACE(input.substr(0, 40));
    resp::RequestParser parser;
    std::vector<std::string> args;
    resp::ParseResult result = parser.Parse(input, &args);
    ASSERT_TRUE(result.failed());
    std::string expected;
    resp::ReplyWriter writer(&expected, 2);
    writer.Error("ERR Protocol error: " + result.error);
    EXPECT_EQ(RawExchange(port_, input), expected);
  }
}

// Valid but unusual requests parse to what redis-server sees: ECHO returns its argument.
TEST_F(ClientTest, InlineQuotingMatchesRedisServer) {
  const std::vector<std::string> lines = {
      "ECHO \"a\\x41\\n\\\"b\"\r\n", "ECHO 'it\\'s'\r\n", "ECHO a\"b c\"\r\n",
      "  ECHO   plain  \n",          "ECHO \"\"\r\n",
  };
  for (const std::string& line : lines) {
    SCOPED_TRACE(line);
    resp::RequestParser parser;
    std::vector<std::string> args;
    ASSERT_TRUE(parser.Parse(line, &args).complete());
    ASSERT_EQ(args.size(), 2u);
    std::string expected;
    resp::ReplyWriter writer(&expected, 2);
    writer.Bulk(args[1]);
    // QUIT makes the server close the connection after answering.
    EXPECT_EQ(RawExchange(port_, line + "QUIT\r\n"), expected + "+OK\r\n");
  }
}

TEST(ClientTimeoutTest, SilentServerTimesOut) {
  SilentServer server;
  auto client = Client::Connect("127.0.0.1", server.port(), 300ms);
  ASSERT_TRUE(client.ok()) << client.status().message();
  server.AcceptOne();
  const auto start = std::chrono::steady_clock::now();
  auto reply = (*client)->Command({"PING"});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Status::Code::kTimedOut) << reply.status().message();
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 5s);
  EXPECT_FALSE((*client)->is_open());
  reply = (*client)->Command({"PING"});
  ASSERT_FALSE(reply.ok());
  EXPECT_TRUE(reply.status().IsIOError());
  EXPECT_EQ(reply.status().message().rfind("connection closed: no reply from the server within", 0),
            0u)
      << reply.status().message();
}

TEST(ClientTimeoutTest, IoTimeoutCanBeChanged) {
  SilentServer server;
  auto client = Client::Connect("127.0.0.1", server.port(), 5s);
  ASSERT_TRUE(client.ok()) << client.status().message();
  (*client)->set_io_timeout(100ms);
  const auto start = std::chrono::steady_clock::now();
  auto reply = (*client)->Command({"PING"});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Status::Code::kTimedOut);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(ClientTimeoutTest, ConnectToAClosedPortFails) {
  const int port = testing::FreePort();
  auto client = Client::Connect("127.0.0.1", static_cast<std::uint16_t>(port), 2s);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), Status::Code::kIOError) << client.status().message();
}

TEST(ClientTimeoutTest, UnknownHostFails) {
  auto client = Client::Connect("no-such-host.invalid", 6379, 2s);
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(client.status().code() == Status::Code::kIOError ||
              client.status().code() == Status::Code::kTimedOut)
      << client.status().message();
}

TEST(ClientTimeoutTest, ConnectTimesOutWhenTheBacklogIsFull) {
  // With a full accept queue Linux drops new SYNs, so the next connect hangs.
  SilentServer server(/*backlog=*/0);
  std::vector<std::unique_ptr<Client>> fillers;
  for (int i = 0; i < 4; ++i) {
    auto filler = Client::Connect("127.0.0.1", server.port(), 200ms);
    if (!filler.ok()) {
      EXPECT_EQ(filler.status().code(), Status::Code::kTimedOut) << filler.status().message();
      return;  // the queue is full: this connect timed out, as it should
    }
    fillers.push_back(std::move(filler).value());
  }
  GTEST_SKIP() << "the kernel kept accepting connections; cannot provoke a connect timeout";
}

}  // namespace
}  // namespace herald::client
