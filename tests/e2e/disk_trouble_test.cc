// Disk trouble against the real binary: its data directory on a small tmpfs of its own (mounted
// by the test, which needs root or CAP_SYS_ADMIN; skipped otherwise). With the disk full,
// writes over RESP and HTTP answer an error that names the cause, /readyz says why it is not
// ready, reads and the dashboard keep working; once there is room again writes resume by
// themselves, and after a kill -9 every add that was acknowledged is there. A data directory
// that is read-only from the start is refused with the cause named.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>

#include <boost/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/client/client.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/show_reply.h"
#include "tests/support/small_tmpfs.h"
#include "tests/support/temp_dir.h"

namespace herald::testing {
namespace {

using namespace std::chrono_literals;
using client::Client;

// RocksDB takes writes again a while after the disk has room (its recovery polls).
constexpr auto kRecoveryDeadline = 30s;

class DiskTroubleTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string why = tmpfs_.Mount("24m");
    if (!why.empty()) GTEST_SKIP() << "cannot mount a tmpfs here (" << why << ")";
    ASSERT_NO_FATAL_FAILURE(Start());
  }

  void Start() {
    herald_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{HERALD_BINARY, "--data-dir", tmpfs_.path() + "/data", "--port",
                                 std::to_string(port_), "--http-port", std::to_string(http_port_),
                                 "--workers", "0", "--fsync", GetParam(), "--log-level", "info"},
        dir_.Sub("herald-" + std::to_string(++starts_) + ".log"));
    ASSERT_TRUE(herald_->WaitForOutput("herald ready", 30s)) << herald_->Output();
    auto connected = Client::Connect("127.0.0.1", static_cast<std::uint16_t>(port_), 10s);
    ASSERT_TRUE(connected.ok()) << connected.status().message();
    client_ = std::move(connected).value();
    http_ = std::make_unique<HttpClient>(static_cast<std::uint16_t>(http_port_));
  }

  resp::Reply Call(const std::vector<std::string>& args) {
    auto reply = client_->Command(args);
    EXPECT_TRUE(reply.ok()) << reply.status().message();
    return reply.ok() ? std::move(reply).value() : resp::Reply{};
  }

  // ADDJOB of a 32 KiB job; its id when acknowledged, else the error text (in `error`).
  std::string Add(std::string* error) {
    resp::Reply reply = Call({"ADDJOB", "tickets", Payload(static_cast<int>(acked_.size()))});
    if (reply.type == resp::ReplyType::kError) {
      *error = reply.str;
      return "";
    }
    EXPECT_EQ(reply.type, resp::ReplyType::kBulk) << reply.str;
    acked_.push_back(reply.str);
    return reply.str;
  }

  static std::string Payload(int i) {
    return "ticket " + std::to_string(i) + " " +
           std::string(32 * 1024, static_cast<char>('a' + i % 26));
  }

  // Every acknowledged add is a waiting job with its payload.
  void ExpectEveryAckedJobWaiting() {
    for (std::size_t i = 0; i < acked_.size(); ++i) {
      resp::Reply show = Call({"SHOW", acked_[i]});
      ASSERT_EQ(ShowField(show, "state"), "waiting") << acked_[i];
      ASSERT_EQ(ShowField(show, "payload"), Payload(static_cast<int>(i))) << acked_[i];
    }
  }

  TempDir dir_;
  SmallTmpfs tmpfs_{dir_.Sub("small")};
  int port_ = FreePort();
  int http_port_ = FreePort();
  int starts_ = 0;
  std::unique_ptr<ChildProcess> herald_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<HttpClient> http_;
  std::vector<std::string> acked_;
};

TEST_P(DiskTroubleTest, AFullDiskFailsWritesWithTheCauseAndTheyResumeWhenThereIsRoom) {
  std::string error;
  for (int i = 0; i < 20; ++i) ASSERT_FALSE(Add(&error).empty()) << error;
  ASSERT_EQ(http_->Get("/readyz").status, 200u);

  // Full: the next writes fail, each with the cause named; nothing is acknowledged that the
  // store did not keep.
  ASSERT_TRUE(tmpfs_.Fill());
  for (int i = 0; i < 1000 && error.empty(); ++i) Add(&error);
  ASSERT_FALSE(error.empty()) << "the full disk took 32 MiB more";
  EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;
  error.clear();
  Add(&error);
  EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;

  HttpAnswer posted = http_->Post("/api/queues/tickets/jobs", R"({"data": {"subject": "full"}})");
  EXPECT_EQ(posted.status, 503u) << posted.body;
  EXPECT_NE(posted.error_message().find("No space left on device"), std::string::npos)
      << posted.body;
  HttpAnswer ready = http_->Get("/readyz");
  EXPECT_EQ(ready.status, 503u) << ready.body;
  EXPECT_NE(ready.error_message().find("store writes failing"), std::string::npos) << ready.body;
  EXPECT_NE(ready.error_message().find("No space left on device"), std::string::npos) << ready.body;

  // Reads go on: RESP, the JSON API and the dashboard page.
  resp::Reply stat = Call({"QSTAT", "tickets"});
  EXPECT_EQ(ShowField(stat, "waiting"), std::to_string(acked_.size()));
  ASSERT_NO_FATAL_FAILURE(ExpectEveryAckedJobWaiting());
  HttpAnswer queues = http_->Get("/api/queues");
  ASSERT_EQ(queues.status, 200u) << queues.body;
  EXPECT_NE(queues.body.find("\"tickets\""), std::string::npos);
  HttpAnswer job = http_->Get("/api/jobs/" + acked_.front());
  EXPECT_EQ(job.status, 200u) << job.body;
  HttpAnswer page = http_->Get("/queues");
  EXPECT_EQ(page.status, 200u);
  EXPECT_NE(page.body.find("<html"), std::string::npos);
  EXPECT_EQ(Call({"PING"}).str, "PONG");
  EXPECT_TRUE(herald_->running());

  // Room again: writes resume without a restart, over RESP and HTTP, and /readyz says so.
  ASSERT_TRUE(tmpfs_.Resize("96m")) << std::strerror(errno);
  std::string resumed;
  for (auto deadline = std::chrono::steady_clock::now() + kRecoveryDeadline;
       resumed.empty() && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(100ms);
    error.clear();
    resumed = Add(&error);
  }
  ASSERT_FALSE(resumed.empty()) << "writes did not resume: " << error;
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(Add(&error).empty()) << error;
  posted = http_->Post("/api/queues/tickets/jobs", R"({"data": {"subject": "room"}})");
  EXPECT_EQ(posted.status, 201u) << posted.body;
  EXPECT_EQ(http_->Get("/readyz").status, 200u);

  // kill -9: every acknowledged add is there after the restart (the HTTP one too).
  herald_->Signal(SIGKILL);
  herald_->Wait(10s);
  client_.reset();
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(ExpectEveryAckedJobWaiting());
  EXPECT_EQ(ShowField(Call({"QSTAT", "tickets"}), "waiting"), std::to_string(acked_.size() + 1));
}

INSTANTIATE_TEST_SUITE_P(Modes, DiskTroubleTest, ::testing::Values("always", "everysec"),
                         [](const ::testing::TestParamInfo<std::string>& mode) {
                           return mode.param;
                         });

// A data directory on a file system mounted read-only: herald refuses to start and says why.
TEST(ReadOnlyDataDirTest, HeraldRefusesToStartAndNamesTheCause) {
  TempDir dir;
  SmallTmpfs tmpfs(dir.Sub("small"));
  const std::string why = tmpfs.Mount("8m");
  if (!why.empty()) GTEST_SKIP() << "cannot mount a tmpfs here (" << why << ")";
  {
    // A store made once, so that it is an existing Herald's data directory that turns read-only.
    const int port = FreePort();
    ChildProcess herald({HERALD_BINARY, "--data-dir", tmpfs.path() + "/data", "--port",
                         std::to_string(port), "--http-port", "0", "--workers", "0"},
                        dir.Sub("first.log"));
    ASSERT_TRUE(herald.WaitForOutput("herald ready", 30s)) << herald.Output();
    herald.Signal(SIGTERM);
    ASSERT_EQ(herald.Wait(30s), 0) << herald.Output();
  }
  ASSERT_EQ(mount("tmpfs", tmpfs.path().c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, "size=8m"), 0)
      << std::strerror(errno);
  ChildProcess herald({HERALD_BINARY, "--data-dir", tmpfs.path() + "/data", "--port",
                       std::to_string(FreePort()), "--http-port", "0", "--workers", "0"},
                      dir.Sub("read-only.log"));
  const int status = herald.Wait(30s);
  EXPECT_NE(status, 0) << herald.Output();
  EXPECT_NE(status, -1) << "still running on a read-only data directory";
  EXPECT_NE(herald.Output().find("Read-only file system"), std::string::npos) << herald.Output();
}

}  // namespace
}  // namespace herald::testing
