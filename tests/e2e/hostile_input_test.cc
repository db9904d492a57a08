// Hostile input over the wire against the real binary: malformed RESP and HTTP, floods and
// stalls. Each is answered with an error or a close; after each a fresh client still gets
// PONG, and the server's resident memory stays bounded.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace herald::testing {
namespace {

using namespace std::chrono_literals;

// A raw TCP connection to 127.0.0.1:port.
class Raw {
 public:
  explicit Raw(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Raw() {
    if (fd_ >= 0) ::close(fd_);
  }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  bool connected() const { return connected_; }
  // False once the peer closed (EPIPE, ECONNRESET).
  bool Send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }
  // What arrives until `until` is in it, the peer closes, or `timeout` passes.
  std::string Read(const std::string& until, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!until.empty() && got_.find(until) != std::string::npos) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buffer[65536];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      got_.append(buffer, static_cast<std::size_t>(n));
    }
    return got_;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string got_;
};

std::uint64_t RssKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

class HostileInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    herald_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{HERALD_BINARY, "--data-dir", dir_.Sub("data"), "--port",
                                 std::to_string(port_), "--http-port", std::to_string(http_port_),
                                 "--workers", "0", "--log-level", "warn"},
        dir_.Sub("herald.log"));
    ASSERT_TRUE(WaitForPort(port_, 20s)) << herald_->Output();
    ASSERT_TRUE(WaitForPort(http_port_, 20s)) << herald_->Output();
    start_rss_kib_ = RssKiB(herald_->pid());
  }

  void TearDown() override {
    ExpectAlive();
    // Bounded: whatever came in, the server holds no more than a little over what it started
    // with (the floods are hundreds of MB).
    EXPECT_LT(RssKiB(herald_->pid()), start_rss_kib_ + 256 * 1024) << "RSS grew unbounded";
  }

  void ExpectAlive() {
    Raw fresh(port_);
    ASSERT_TRUE(fresh.connected());
    ASSERT_TRUE(fresh.Send("PING\r\n"));
    EXPECT_EQ(fresh.Read("\r\n", 5s), "+PONG\r\n");
  }

  // Sends `bytes` on a new connection; returns what came back until a close (or 5 s).
  std::string Exchange(const std::string& bytes, bool* closed = nullptr, int port = 0) {
    Raw raw(port == 0 ? port_ : port);
    EXPECT_TRUE(raw.connected());
    raw.Send(bytes);
    std::string got = raw.Read("", 3s);
    if (closed != nullptr) *closed = raw.closed();
    return got;
  }

  TempDir dir_;
  int port_ = FreePort();
  int http_port_ = FreePort();
  std::unique_ptr<ChildProcess> herald_;
  std::uint64_t start_rss_kib_ = 0;
};

TEST_F(HostileInputTest, BadLengthsGetAProtocolErrorAndAClose) {
  bool closed = false;
  EXPECT_EQ(Exchange("*99999999999\r\n", &closed),
            "-ERR Protocol error: invalid multibulk length\r\n");
  EXPECT_TRUE(closed);
  EXPECT_EQ(Exchange("*1\r\n$abc\r\n", &closed), "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_TRUE(closed);
  EXPECT_EQ(Exchange("*1\r\n$-7\r\n", &closed), "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_TRUE(closed);
  EXPECT_EQ(Exchange("*1\r\n$99999999999\r\n", &closed),
            "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_TRUE(closed);
  EXPECT_EQ(Exchange("*x\r\n", &closed), "-ERR Protocol error: invalid multibulk length\r\n");
  EXPECT_TRUE(closed);
  // As in Redis: a multibulk length of zero or less is an empty request, skipped; a bare LF
  // ends an inline command.
  EXPECT_EQ(Exchange("*-5\r\nPING\nPING\r\n"), "+PONG\r\n+PONG\r\n");
  // A bulk's two bytes after its length are taken as its CRLF whatever they are, as Redis
  // takes them.
  EXPECT_EQ(Exchange("*1\r\n$4\r\nPINGxx"), "+PONG\r\n");
}

TEST_F(HostileInputTest, AHundredMegabyteLineIsRefusedBeforeItIsHeld) {
  Raw raw(port_);
  ASSERT_TRUE(raw.connected());
  const std::string chunk(1 << 20, 'a');
  std::size_t sent = 0;
  while (sent < 100u * (1 << 20) && raw.Send(chunk)) sent += chunk.size();
  const std::string got = raw.Read("\r\n", 5s);
  EXPECT_EQ(got.rfind("-ERR Protocol error: too big inline request", 0), 0u) << got.substr(0, 200);
  EXPECT_LT(sent, 100u * (1 << 20)) << "the server read the whole line";
}

TEST_F(HostileInputTest, RandomBytesAndStalledHalfCommandsHurtNoOtherClient) {
  std::mt19937 random(7);
  for (int round = 0; round < 20; ++round) {
    std::string bytes(64 * 1024, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    Exchange(bytes);
  }
  // Half commands that stall, left open while others are served.
  std::vector<std::unique_ptr<Raw>> stalled;
  for (const char* half : {"*3\r\n$3\r\nSET\r\n$1\r\nk", "*2\r\n$4\r\nLP", "*5\r\n", "PIN"}) {
    stalled.push_back(std::make_unique<Raw>(port_));
    ASSERT_TRUE(stalled.back()->Send(half));
  }
  ExpectAlive();
}

TEST_F(HostileInputTest, NewQueueNamesStopAtMaxQueuesWithAnErrorThatSaysSo) {
  // Every new name would be a column family: a client naming queue after queue is bounded.
  herald_.reset();
  const std::string config = dir_.Sub("herald.toml");
  {
    std::ofstream out(config);
    out << "[engine]\nmax_queues = 3\n";
  }
  herald_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{HERALD_BINARY, "--config", config, "--data-dir", dir_.Sub("data2"),
                               "--port", std::to_string(port_), "--http-port",
                               std::to_string(http_port_), "--workers", "0", "--log-level", "warn"},
      dir_.Sub("herald2.log"));
  ASSERT_TRUE(WaitForPort(port_, 20s)) << herald_->Output();
  start_rss_kib_ = RssKiB(herald_->pid());
  Raw raw(port_);
  ASSERT_TRUE(raw.connected());
  std::string commands;
  for (int i = 0; i < 10; ++i)
    commands += "GETJOB NOHANG FROM hostile-" + std::to_string(i) + "\r\n";
  commands += "PING\r\n";
  ASSERT_TRUE(raw.Send(commands));
  const std::string got = raw.Read("+PONG\r\n", 30s);
  std::size_t refused = 0;
  for (std::size_t at = got.find("-ERR too many queues"); at != std::string::npos;
       at = got.find("-ERR too many queues", at + 1)) {
    ++refused;
  }
  EXPECT_EQ(refused, 7u) << got;
  EXPECT_NE(got.find("max_queues (3)"), std::string::npos) << got;
  // The queues of the config and the three made are there; the refused ones are not.
  Raw check(port_);
  ASSERT_TRUE(check.connected());
  ASSERT_TRUE(check.Send("QLEN hostile-2\r\nQLEN emails\r\nADDJOB hostile-9 x\r\n"));
  const std::string after = check.Read("too many queues", 10s);
  EXPECT_EQ(after.rfind(":0\r\n:0\r\n-ERR too many queues", 0), 0u) << after;
}

TEST_F(HostileInputTest, AHundredThousandPipelinedCommandsAreAllAnswered) {
  Raw raw(port_);
  ASSERT_TRUE(raw.connected());
  std::string pings;
  for (int i = 0; i < 100000; ++i) pings += "*1\r\n$4\r\nPING\r\n";
  ASSERT_TRUE(raw.Send(pings));
  std::string expected;
  for (int i = 0; i < 100000; ++i) expected += "+PONG\r\n";
  const std::string got = raw.Read(expected, 30s);
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_EQ(got, expected);
}

TEST_F(HostileInputTest, FiveThousandIdleConnectionsAreHeldAndServedAfter) {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_max < 6000) GTEST_SKIP() << "the descriptor limit is " << limit.rlim_max;
  limit.rlim_cur = std::max<rlim_t>(limit.rlim_cur, 6000);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  std::vector<std::unique_ptr<Raw>> idle;
  for (int i = 0; i < 5000; ++i) {
    idle.push_back(std::make_unique<Raw>(port_));
    ASSERT_TRUE(idle.back()->connected()) << i;
  }
  ExpectAlive();
  std::string info;
  for (int i = 0; i < 100; ++i) {
    info = RedisCli(port_, "INFO clients");
    if (info.find("connected_clients:500") != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(info.find("connected_clients:500"), std::string::npos) << info;
  idle.clear();
  for (int i = 0; i < 200; ++i) {
    info = RedisCli(port_, "INFO clients");
    if (info.find("connected_clients:1\r") != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(info.find("connected_clients:1\r"), std::string::npos) << info;
}

// A worker that fails a job with a 10 MiB reason: the job keeps the first 64 KiB of it.
TEST_F(HostileInputTest, ATenMegabyteFailureReasonIsCutInTheJob) {
  auto bulk = [](const std::string& s) {
    return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
  };
  Raw raw(port_);
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.Send("*5\r\n" + bulk("ADDJOB") + bulk("q") + bulk("x") + bulk("JOBID") +
                       bulk("big-1") + "*4\r\n" + bulk("GETJOB") + bulk("NOHANG") + bulk("FROM") +
                       bulk("q")));
  raw.Read("big-1\r\n$1\r\nx\r\n:1\r\n", 5s);
  Raw worker(port_);
  ASSERT_TRUE(worker.Send("*4\r\n" + bulk("NACK") + bulk("big-1") +
                          bulk(std::string(10 << 20, 'r')) + bulk("PERMANENT")));
  const std::string nacked = worker.Read("\r\n", 10s);
  EXPECT_NE(nacked.find(":1\r\n"), std::string::npos) << nacked.substr(0, 300);
  const std::string error = RedisCli(port_, "SHOW big-1");
  EXPECT_NE(error.find("state\nfailed"), std::string::npos) << nacked.substr(0, 300) << "\n"
                                                            << error.substr(0, 500);
  EXPECT_LT(error.size(), 200u * 1024) << "SHOW carries " << error.size() << " bytes";
  EXPECT_NE(error.find("(10485760 bytes, cut)"), std::string::npos);
}

TEST_F(HostileInputTest, HostileHttpIsRefusedAndTheServerKeepsServing) {
  // Headers without end: 431/413 once past the header limit, then a close.
  {
    Raw raw(http_port_);
    ASSERT_TRUE(raw.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    for (int i = 0; i < 2000 && raw.Send("X-Filler-" + std::to_string(i) + ": " +
                                         std::string(100, 'y') + "\r\n");
         ++i) {
    }
    const std::string got = raw.Read("\r\n\r\n", 5s);
    EXPECT_EQ(got.rfind("HTTP/1.1 413", 0), 0u) << got.substr(0, 200);
  }
  // Slowloris: many connections dripping a header; a fresh request is still served.
  std::vector<std::unique_ptr<Raw>> slow;
  for (int i = 0; i < 200; ++i) {
    slow.push_back(std::make_unique<Raw>(http_port_));
    slow.back()->Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a");
  }
  std::string health = Exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                nullptr, http_port_);
  EXPECT_EQ(health.rfind("HTTP/1.1 200", 0), 0u) << health.substr(0, 200);
  slow.clear();
  // Request smuggling shape: Content-Length with Transfer-Encoding is refused, and nothing
  // after it on the connection is read as a second request.
  bool closed = false;
  const std::string smuggled = Exchange(
      "POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
      &closed, http_port_);
  EXPECT_EQ(smuggled.rfind("HTTP/1.1 400", 0), 0u) << smuggled.substr(0, 300);
  EXPECT_EQ(smuggled.find("HTTP/1.1 200"), std::string::npos) << smuggled.substr(0, 300);
  // Path traversal in the dashboard's asset paths serves no file of the machine.
  for (const char* path :
       {"/queues/../../../../etc/passwd", "/queues/assets/..%2f..%2fetc%2fpasswd",
        "/queues/%2e%2e/%2e%2e/etc/passwd", "/../../etc/passwd"}) {
    const std::string got =
        Exchange(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 nullptr, http_port_);
    EXPECT_EQ(got.find("root:x:0:0"), std::string::npos) << path;
    EXPECT_EQ(got.rfind("HTTP/1.1 ", 0), 0u) << path;
  }
  // Deep JSON nesting in /events: a 400 naming the problem.
  const std::string nested(100000, '[');
  const std::string deep = Exchange(
      "POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/json\r\nConnection: close\r\nContent-Length: " +
          std::to_string(nested.size()) + "\r\n\r\n" + nested,
      nullptr, http_port_);
  EXPECT_EQ(deep.rfind("HTTP/1.1 400", 0), 0u) << deep.substr(0, 300);
  EXPECT_NE(deep.find("\"error\""), std::string::npos) << deep.substr(0, 300);
  health = Exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", nullptr,
                    http_port_);
  EXPECT_EQ(health.rfind("HTTP/1.1 200", 0), 0u) << health.substr(0, 200);
}

}  // namespace
}  // namespace herald::testing
