// The HTTP server itself over real sockets: keep-alive, limits, malformed requests, the
// password and the read-only password, the connection limit and the idle timeout, and answers
// in `always` mode waiting for the WAL sync.
#include <boost/json.hpp>

#include <atomic>

#include "tests/net/http_fixture.h"

namespace herald::net::http {
namespace {

using testing::BasicAuth;
using testing::HttpAnswer;
using testing::HttpClient;

class HttpServerTest : public HttpFixture {};

TEST_F(HttpServerTest, KeepsTheConnectionAliveAcrossRequests) {
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Get("/healthz").status, 200u);
  EXPECT_EQ(http_client_->connects(), 1);
  EXPECT_EQ(http_->stats().requests.load(), 5u);
}

TEST_F(HttpServerTest, ClosesAfterConnectionClose) {
  RawConnection raw(http_->port());
  raw.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string answer = raw.ReadToClose();
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("{\"status\":\"ok\"}"), std::string::npos);
}

TEST_F(HttpServerTest, MalformedRequestIs400AndClosed) {
  RawConnection raw(http_->port());
  raw.Send("NOT A REQUEST\r\n\r\n");
  std::string answer = raw.ReadToClose();
  EXPECT_EQ(answer.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("malformed HTTP request"), std::string::npos);
  // The server goes on serving others.
  EXPECT_EQ(Get("/healthz").status, 200u);
}

TEST_F(HttpServerTest, OversizedBodyIs413BeforeItIsRead) {
  http_options_.body_limit = 1024;
  RestartHttp();
  HttpAnswer answer = Post("/events", std::string(2000, ' '));
  EXPECT_EQ(answer.status, 413u);
  EXPECT_EQ(answer.json().at("error").at("code"), "payload_too_large");
  EXPECT_EQ(answer.error_message(), "request body larger than 1024 bytes");
  // Announced and never sent: refused on the header alone.
  RawConnection raw(http_->port());
  raw.Send("POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n");
  EXPECT_EQ(raw.ReadToClose().rfind("HTTP/1.1 413 ", 0), 0u);
}

TEST_F(HttpServerTest, OversizedHeaderIs413) {
  http_options_.header_limit = 512;
  RestartHttp();
  HttpAnswer answer =
      http_client_->Request("GET", "/healthz", {}, {{"X-Padding", std::string(1000, 'p')}});
  EXPECT_EQ(answer.status, 413u);
  EXPECT_EQ(answer.error_message(), "request header larger than 512 bytes");
}

TEST_F(HttpServerTest, BadPercentEncodingIs400) {
  RawConnection raw(http_->port());
  raw.Send("GET /api/jobs/%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string answer = raw.ReadUntil("}}");
  EXPECT_EQ(answer.rfind("HTTP/1.1 400 ", 0), 0u) << answer;
  EXPECT_NE(answer.find("malformed request target"), std::string::npos);
}

TEST_F(HttpServerTest, ExpectContinueGetsTheBodyRead) {
  RawConnection raw(http_->port());
  raw.Send("POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(raw.ReadUntil("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  raw.Send("[]");
  EXPECT_EQ(raw.ReadUntil("}}").rfind("HTTP/1.1 400 ", 0), 0u);
}

TEST_F(HttpServerTest, PasswordIsNeededExceptForHealthChecks) {
  StopAll();
  ServerOptions options;
  options.requirepass = "s3cret";
  http_options_.readonly_password = "look";
  StartAll(options);

  HttpAnswer none = Get("/api/queues");
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(none.headers["www-authenticate"], "Basic realm=\"herald\", charset=\"UTF-8\"");
  EXPECT_EQ(none.error_message(), "a password is required (HTTP Basic or Bearer)");
  EXPECT_EQ(Get("/healthz").status, 200u);
  EXPECT_EQ(Get("/readyz").status, 200u);
  EXPECT_EQ(Get("/metrics").status, 401u);

  HttpAnswer wrong =
      http_client_->Request("GET", "/api/queues", {}, {{"Authorization", BasicAuth("x", "nope")}});
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(wrong.error_message(), "wrong password");
  EXPECT_EQ(http_client_
                ->Request("GET", "/api/queues", {}, {{"Authorization", BasicAuth("any", "s3cret")}})
                .status,
            200u);
  EXPECT_EQ(
      http_client_->Request("GET", "/api/queues", {}, {{"Authorization", "Bearer s3cret"}}).status,
      200u);

  // The read-only password reads, and is refused every change.
  http_client_->SetHeader("Authorization", BasicAuth("viewer", "look"));
  EXPECT_EQ(Get("/api/queues").status, 200u);
  HttpAnswer write = Post("/api/queues/emails/jobs", R"({"data":1})");
  EXPECT_EQ(write.status, 403u);
  EXPECT_EQ(write.error_message(), "the read-only password cannot change anything");
  EXPECT_EQ(broker_->Counts("emails")->waiting, 0u);
  http_client_->SetHeader("Authorization", "Bearer s3cret");
  EXPECT_EQ(Post("/api/queues/emails/jobs", R"({"data":1})").status, 201u);
}

TEST_F(HttpServerTest, PasswordSetAtRunTimeHoldsAtOnce) {
  EXPECT_EQ(Get("/api/queues").status, 200u);
  std::vector<std::string> change = {"requirepass", "later"};
  ASSERT_TRUE(state_->SetConfig(change).ok());
  EXPECT_EQ(Get("/api/queues").status, 401u);
  http_client_->SetHeader("Authorization", "Bearer later");
  EXPECT_EQ(Get("/api/queues").status, 200u);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitAre503) {
  http_options_.max_connections = 2;
  RestartHttp();
  HttpClient first(http_->port()), second(http_->port());
  EXPECT_EQ(first.Get("/healthz").status, 200u);
  EXPECT_EQ(second.Get("/healthz").status, 200u);
  RawConnection third(http_->port());
  std::string refused = third.ReadToClose();
  EXPECT_EQ(refused.rfind("HTTP/1.1 503 ", 0), 0u) << refused;
  EXPECT_NE(refused.find("too many HTTP connections"), std::string::npos);
  EXPECT_EQ(http_->stats().connections_rejected.load(), 1u);
  EXPECT_EQ(first.Get("/healthz").status, 200u);
}

TEST_F(HttpServerTest, IdleConnectionIsClosed) {
  http_options_.idle_timeout_ms = 200;
  RestartHttp();
  RawConnection raw(http_->port());
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(raw.ReadToClose(), "");  // closed by the server, long before the 5 s read limit
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_EQ(Get("/healthz").status, 200u);
}

TEST_F(HttpServerTest, StopClosesOpenConnections) {
  EXPECT_EQ(Get("/healthz").status, 200u);
  RawConnection idle(http_->port());
  http_->Stop();
  EXPECT_EQ(idle.ReadToClose(), "");
  EXPECT_EQ(http_->connections(), 0u);
}

// Reads messages from `raw` into *received until it holds `needle` (or reads time out).
bool ReadUntilFound(RawConnection& raw, const std::string& needle, std::string* received) {
  for (int i = 0; i < 200 && received->find(needle) == std::string::npos; ++i) {
    std::string part = raw.ReadUntil("\n\n");
    if (part.empty()) break;
    *received += part;
  }
  return received->find(needle) != std::string::npos;
}

TEST_F(HttpServerTest, EventStreamSendsCountsThenJobChanges) {
  RawConnection raw(http_->port());
  raw.Send("GET /api/events/stream HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string received;
  ASSERT_TRUE(ReadUntilFound(raw, "}]}\n\n", &received)) << received;
  EXPECT_EQ(received.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << received;
  EXPECT_NE(received.find("Content-Type: text/event-stream\r\n"), std::string::npos);
  EXPECT_NE(received.find("event: counts\ndata: {\"queues\":[{\"name\":\"emails\""),
            std::string::npos)
      << received;
  EXPECT_EQ(http_->stats().streams.load(), 1u);
  std::string id = AddJob("live", "x");
  ASSERT_TRUE(ReadUntilFound(raw, "\"id\":\"" + id + "\"", &received)) << received;
  EXPECT_NE(received.find("event: jobs\ndata: [{\"type\":\"added\",\"queue\":\"live\""),
            std::string::npos)
      << received;
}

// A socket that reads nothing after the header, with a small receive buffer.
class StalledReader {
 public:
  explicit StalledReader(std::uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    int small = 4096;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    const std::string request = "GET /api/events/stream HTTP/1.1\r\nHost: x\r\n\r\n";
    EXPECT_EQ(send(fd_, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
  }
  ~StalledReader() { close(fd_); }

 private:
  int fd_;
};

TEST_F(HttpServerTest, EventStreamDropsAClientThatStopsReadingWhileOthersGoOn) {
  http_options_.stream_stall_ms = 300;
  http_options_.stream_tick_ms = 20;
  RestartHttp();
  StalledReader stalled(http_->port());
  RawConnection reader(http_->port());
  reader.Send("GET /api/events/stream HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string opening;
  ASSERT_TRUE(ReadUntilFound(reader, "}]}\n\n", &opening));
  // Enough events (long ids) to fill the stalled client's buffers many times over.
  constexpr int kBatches = 40;
  auto id_of = [](int batch, int i) {
    return std::string(200, static_cast<char>('a' + batch % 26)) + "-" +
           std::to_string(batch * 1000 + i);
  };
  const std::string last = id_of(kBatches - 1, 249);
  std::thread producer([&] {
    for (int batch = 0; batch < kBatches; ++batch) {
      std::vector<std::pair<std::string, engine::JobOptions>> jobs;
      for (int i = 0; i < 250; ++i) {
        engine::JobOptions options;
        options.id = id_of(batch, i);
        jobs.emplace_back("{}", options);
      }
      EXPECT_TRUE(broker_->AddMany("flood", std::move(jobs)).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  });
  // The reading client gets every message while the other is dropped.
  std::string tail;
  bool seen_last = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline &&
         (!seen_last || http_->stats().streams_dropped.load() < 1)) {
    std::string part = reader.ReadUntil("\n\n");
    if (part.empty()) break;
    tail += part;
    seen_last = seen_last || tail.find(last) != std::string::npos;
    if (tail.size() > 8192) tail.erase(0, tail.size() - 4096);
  }
  producer.join();
  EXPECT_TRUE(seen_last) << "the reading client missed the last job";
  EXPECT_EQ(http_->stats().streams_dropped.load(), 1u);
  EXPECT_EQ(http_->stats().streams.load(), 1u);
}

// `always` mode: a write's answer leaves after the WAL sync that covers it; a failed sync
// turns it into 503 and makes the server not ready.
class HttpAlwaysTest : public HttpFixture {
 protected:
  void SetUp() override {
    store_options_.fsync = storage::FsyncMode::kAlways;
    store_options_.before_wal_sync = [this]() -> Status {
      if (fail_syncs_) return Status::IOError("injected sync failure");
      return Status::Ok();
    };
    HttpFixture::SetUp();
  }
  std::atomic<bool> fail_syncs_{false};
};

TEST_F(HttpAlwaysTest, WriteAnswersAfterTheSyncAnd503WhenItFails) {
  std::uint64_t syncs = store_->WalSyncs();
  HttpAnswer added = Post("/api/queues/d/jobs", R"({"data":1})");
  EXPECT_EQ(added.status, 201u) << added.body;
  EXPECT_GT(store_->WalSyncs(), syncs);
  EXPECT_EQ(Get("/readyz").status, 200u);

  fail_syncs_ = true;
  HttpAnswer failed = Post("/api/queues/d/jobs", R"({"data":2})");
  EXPECT_EQ(failed.status, 503u) << failed.body;
  EXPECT_EQ(failed.json().at("error").at("code"), "storage_error");
  HttpAnswer ready = Get("/readyz");
  EXPECT_EQ(ready.status, 503u) << ready.body;
  EXPECT_NE(ready.error_message().find("store writes failing"), std::string::npos);
}

}  // namespace
}  // namespace herald::net::http
