// ServerFixture: the RESP server in-process on a free loopback port, over a broker with a real
// store in a fresh temp dir, with the project's client connected to it, helpers to send
// commands and read their replies, and RawConnection for bytes compared as sent.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/broker.h"
#include "net/client/client.h"
#include "net/commands/builtin_commands.h"
#include "net/resp_server.h"
#include "net/server_state.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace herald::net {

// A plain socket to the server on loopback, for requests and replies compared as raw bytes.
// Reads give up after 5 s.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    SetReadTimeout(std::chrono::seconds(5));
  }
  ~RawConnection() { close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void SetReadTimeout(std::chrono::microseconds timeout) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000000),
               static_cast<suseconds_t>(timeout.count() % 1000000)};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }

  void Send(const std::string& bytes) {
    EXPECT_EQ(send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  // Reads until the bytes received end with `suffix` (or the read times out, or the server
  // closes).
  std::string ReadUntil(const std::string& suffix) {
    std::string out;
    char buffer[4096];
    while (out.size() < suffix.size() ||
           out.compare(out.size() - suffix.size(), suffix.size(), suffix) != 0) {
      ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }

  // Sends `request` and returns exactly as many bytes as `expected` has (fewer on a timeout).
  std::string Exchange(const std::string& request, const std::string& expected) {
    Send(request);
    std::string out;
    char buffer[4096];
    while (out.size() < expected.size()) {
      ssize_t n = recv(fd_, buffer, std::min(sizeof(buffer), expected.size() - out.size()), 0);
      if (n <= 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }

  // Everything until the server closes the connection (or the read times out).
  std::string ReadToClose() {
    std::string out;
    char buffer[4096];
    while (true) {
      ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fd_;
};

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(ServerOptions{}); }
  void TearDown() override { StopServer(); }

  // Starts a server with `options` (on a free port, with 2 I/O threads) over a new broker
  // and store in the fixture's temp dir (the same store again after StopServer()), opened
  // with store_options_.
  void StartServer(ServerOptions options) {
    storage::StoreOptions store_options = store_options_;
    store_options.data_dir = dir_.Sub("db");
    options.fsync_mode = storage::FsyncModeName(store_options.fsync);
    store_ = std::move(storage::Store::Open(store_options)).value();
    engine::EngineConfig config;
    // On the fake clock nothing keeps the broker's time but the test.
    if (use_fake_clock_) config.scheduler_thread = false;
    Clock* clock = use_fake_clock_ ? static_cast<Clock*>(&fake_clock_) : &clock_;
    broker_ =
        std::move(engine::Broker::Create(store_.get(), config, clock, spdlog::default_logger()))
            .value();
    ASSERT_TRUE(broker_->Start().ok());
    table_ = std::make_unique<CommandTable>();
    AddBuiltinCommands(table_.get());
    std::string error;
    ASSERT_TRUE(table_->Freeze(&error)) << error;
    options.port = 0;
    options.io_threads = 2;
    state_ = std::make_unique<ServerState>(broker_.get(), table_.get(), options,
                                           spdlog::default_logger());
    server_ = std::make_unique<RespServer>(state_.get(), spdlog::default_logger());
    Status status = server_->Start();
    ASSERT_TRUE(status.ok()) << status.ToString();
    client_ = Connect();
  }

  void StopServer() {
    client_.reset();
    if (server_) server_->Stop();
    // Before the server goes: the broker's scheduler may be answering a parked GETJOB or
    // BLPOP at this moment, which posts onto the server's executor and can release the last
    // reference to a connection, whose destructor reaches the server state.
    if (broker_) broker_->Shutdown();
    server_.reset();
    state_.reset();
    broker_.reset();
    store_.reset();
  }

  std::unique_ptr<client::Client> Connect() {
    auto client = client::Client::Connect("127.0.0.1", server_->port(), std::chrono::seconds(5));
    EXPECT_TRUE(client.ok()) << client.status().message();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  // Sends one command (on the fixture's client unless another is given) and returns its reply.
  resp::Reply Cmd(std::vector<std::string> args, client::Client* client = nullptr) {
    client::Client* c = client != nullptr ? client : client_.get();
    auto reply = c->Command(args);
    EXPECT_TRUE(reply.ok()) << (reply.ok() ? "" : reply.status().message());
    return reply.ok() ? std::move(reply).value() : resp::Reply::Error("client error");
  }

  // The error text of a reply, or a description of what came instead.
  std::string Err(std::vector<std::string> args, client::Client* client = nullptr) {
    resp::Reply reply = Cmd(std::move(args), client);
    return reply.type == resp::ReplyType::kError ? reply.str : "not an error: " + reply.ToString();
  }

  // Sends `args` on `client` without waiting for the reply (read it later with ReadReplies).
  void SendOnly(client::Client* client, std::vector<std::string> args) {
    client->Append(args);
    auto sent = client->ReadReplies(0);
    ASSERT_TRUE(sent.ok()) << sent.status().message();
  }

  // Waits until the server counts `n` clients blocked in BLPOP/BRPOP/GETJOB (a sleep would
  // race a slow machine). False after 10 s.
  bool WaitForBlocked(int n) {
    const std::string want = "blocked_clients:" + std::to_string(n) + "\r\n";
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
         std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(std::chrono::milliseconds(5))) {
      if (Cmd({"INFO", "clients"}).str.find(want) != std::string::npos) return true;
    }
    return false;
  }

  // Sends raw bytes on a new socket and returns everything the server sends until it closes
  // the connection (or 2 s pass); with `expect_close` false, until 300 ms pass without a byte.
  std::string Raw(const std::string& bytes, bool expect_close = true) {
    RawConnection raw(server_->port());
    raw.SetReadTimeout(expect_close ? std::chrono::microseconds(2000000)
                                    : std::chrono::microseconds(300000));
    raw.Send(bytes);
    return raw.ReadToClose();
  }

  // On the fake clock: moves it on by `ms` and fires the server's timers it reached; returns
  // how many fired (their callbacks run on the connections' strands soon after).
  std::size_t AdvanceClock(std::int64_t ms) {
    fake_clock_.Advance(ms);
    return state_->timers().RunDue();
  }

  // Waits (up to 10 s) until the server has `n` timers pending: the connections have armed
  // what they arm after a command or a fired timer.
  bool WaitForTimers(std::size_t n) {
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
         std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(std::chrono::milliseconds(1))) {
      if (state_->timers().pending() == n) return true;
    }
    return state_->timers().pending() == n;
  }

  static storage::StoreOptions NoSyncStoreOptions() {
    storage::StoreOptions options;
    options.fsync = storage::FsyncMode::kNo;
    return options;
  }

  static resp::Reply Bulk(std::string s) { return resp::Reply::Bulk(std::move(s)); }
  static resp::Reply Int(std::int64_t i) { return resp::Reply::Integer(i); }
  static resp::Reply Ok() { return resp::Reply::SimpleString("OK"); }

  testing::TempDir dir_;
  storage::StoreOptions store_options_ = NoSyncStoreOptions();  // but data_dir
  SystemClock clock_;
  // With use_fake_clock_ set before StartServer(), the server and the broker read fake_clock_:
  // timeouts move when the test advances it and calls FireDueTimers().
  bool use_fake_clock_ = false;
  testing::FakeClock fake_clock_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<engine::Broker> broker_;
  std::unique_ptr<CommandTable> table_;
  std::unique_ptr<ServerState> state_;
  std::unique_ptr<RespServer> server_;
  std::unique_ptr<client::Client> client_;
};

}  // namespace herald::net
