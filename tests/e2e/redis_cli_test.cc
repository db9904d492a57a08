// The real herald binary driven by the real redis-cli, as a user would.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace herald::testing {
namespace {

using namespace std::chrono_literals;

class RedisCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int code = 0;
    RunCommand("command -v redis-cli", &code);
    if (code != 0) GTEST_SKIP() << "redis-cli is not installed (tools/herald-dev setup does it)";
    Start();
  }

  void Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {HERALD_BINARY, "--data-dir",          dir_.Sub("data"),
                                     "--port",      std::to_string(port_), "--http-port",
                                     "0",           "--log-level",         "warn"};
    args.insert(args.end(), extra.begin(), extra.end());
    herald_ = std::make_unique<ChildProcess>(args, dir_.Sub("herald.log"));
    ASSERT_TRUE(WaitForPort(port_, 20s)) << herald_->Output();
  }

  void Restart(int signal_number) {
    herald_->Signal(signal_number);
    herald_->Wait(20s);
    Start();
  }

  // Runs redis-cli with `args` (shell words) and returns its output without the last newline.
  std::string Cli(const std::string& args) { return RedisCli(port_, args); }

  TempDir dir_;
  int port_ = FreePort();
  std::unique_ptr<ChildProcess> herald_;
};

TEST_F(RedisCliTest, PingAnswersPong) { EXPECT_EQ(Cli("PING"), "PONG"); }

TEST_F(RedisCliTest, JobRoundTripAddTakeAck) {
  std::string id = Cli("ADDJOB sms hello");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Cli("QLEN sms"), "1");
  std::string job = Cli("GETJOB NOHANG FROM sms");
  EXPECT_EQ(job, "sms\n" + id + "\nhello\n1");
  EXPECT_EQ(Cli("ACKJOB " + id), "1");
  EXPECT_EQ(Cli("QLEN sms"), "0");
  EXPECT_NE(Cli("SHOW " + id).find("completed"), std::string::npos);
}

TEST_F(RedisCliTest, EmitRoutesAnEventAndRefusesABadOne) {
  std::string id =
      Cli("EMIT '{\"eventType\":\"payment.failed\",\"eventId\":\"pay-1\",\"data\":{\"paymentId\":"
          "\"p1\",\"bookingId\":\"b1\",\"userId\":\"u1\",\"amount\":10,\"reason\":\"declined\"}}'");
  EXPECT_EQ(id, "pay-1");
  EXPECT_EQ(Cli("EMIT '{\"eventType\":\"nope\",\"eventId\":\"x\",\"data\":{}}'"),
            "ERR unknown event type 'nope'");
}

TEST_F(RedisCliTest, UnknownCommandAndWrongArityReadLikeRedis) {
  EXPECT_EQ(Cli("FOO bar"), "ERR unknown command 'FOO', with args beginning with: 'bar' ");
  EXPECT_EQ(Cli("GET"), "ERR wrong number of arguments for 'get' command");
}

TEST_F(RedisCliTest, ListsAndStringsSurviveKillNine) {
  EXPECT_EQ(Cli("RPUSH mylist a b c"), "3");
  EXPECT_EQ(Cli("SET greeting hello"), "OK");
  std::string id = Cli("ADDJOB emails durable");
  Restart(SIGKILL);
  EXPECT_EQ(Cli("LRANGE mylist 0 -1"), "a\nb\nc");
  EXPECT_EQ(Cli("GET greeting"), "hello");
  EXPECT_NE(Cli("SHOW " + id).find("durable"), std::string::npos);
}

TEST_F(RedisCliTest, DatabaseNineIsItsOwnKeyspaceAndSurvivesKillNine) {
  EXPECT_EQ(Cli("-n 9 SET greeting nine"), "OK");
  EXPECT_EQ(Cli("SET greeting zero"), "OK");
  EXPECT_EQ(Cli("-n 9 RPUSH mylist a b"), "2");
  EXPECT_EQ(Cli("-n 9 GET greeting"), "nine");
  EXPECT_EQ(Cli("GET greeting"), "zero");
  EXPECT_EQ(Cli("-n 9 DBSIZE"), "2");
  EXPECT_EQ(Cli("DBSIZE"), "1");
  Restart(SIGKILL);
  EXPECT_EQ(Cli("-n 9 LRANGE mylist 0 -1"), "a\nb");
  EXPECT_EQ(Cli("-n 9 GET greeting"), "nine");
  EXPECT_EQ(Cli("GET greeting"), "zero");
  EXPECT_EQ(Cli("LLEN mylist"), "0");
  const std::string keyspace = Cli("INFO keyspace");
  EXPECT_NE(keyspace.find("db0:keys=1,expires=0,avg_ttl=0"), std::string::npos) << keyspace;
  EXPECT_NE(keyspace.find("db9:keys=2,expires=0,avg_ttl=0"), std::string::npos) << keyspace;
  EXPECT_EQ(Cli("-n 9 FLUSHDB"), "OK");
  EXPECT_EQ(Cli("GET greeting"), "zero");
}

// Polls a command until its output contains `needle` (the workers run on their own time).
#define EXPECT_EVENTUALLY_CONTAINS(command, needle)                               \
  do {                                                                            \
    std::string out_;                                                             \
    for (int i_ = 0; i_ < 200; ++i_) {                                            \
      out_ = Cli(command);                                                        \
      if (out_.find(needle) != std::string::npos) break;                          \
      std::this_thread::sleep_for(std::chrono::milliseconds(50));                 \
    }                                                                             \
    EXPECT_NE(out_.find(needle), std::string::npos) << command << " -> " << out_; \
  } while (0)

TEST_F(RedisCliTest, DevicesCommandsKeepAUsersPushTokens) {
  EXPECT_EQ(Cli("DEVICES.ADD u3 fcm-token-1 android"), "1");
  EXPECT_EQ(Cli("DEVICES.ADD u3 fcm-token-1 android"), "0");
  EXPECT_EQ(Cli("DEVICES.ADD u3 fcm-token-2"), "1");
  const std::string list = Cli("DEVICES.LIST u3");
  EXPECT_EQ(list.rfind("token\nfcm-token-1\nplatform\nandroid\naddedAt\n", 0), 0u) << list;
  EXPECT_NE(list.find("token\nfcm-token-2\nplatform\n\naddedAt\n"), std::string::npos) << list;
  EXPECT_EQ(Cli("DEVICES.ADD u3 tok nokia"), "ERR unknown platform 'nokia' (android, ios or web)");
  EXPECT_EQ(Cli("DEVICES.ADD u3").rfind("ERR wrong number of arguments", 0), 0u);
  EXPECT_EQ(Cli("DEVICES.DEL u3 fcm-token-1"), "1");
  EXPECT_EQ(Cli("DEVICES.DEL u3 fcm-token-1"), "0");
  EXPECT_EQ(Cli("DEVICES.LIST nobody"), "");
}

TEST_F(RedisCliTest, NotificationCommandsShowWhatTheHandlersDid) {
  EXPECT_EQ(Cli("PREFS.SET u2 email off"), "OK");
  EXPECT_EQ(Cli("PREFS.GET u2"), "email\noff\ninapp\non\npush\non");
  EXPECT_EQ(Cli("PREFS.SET u2 fax off").rfind("ERR", 0), 0u);
  // An email to a user who turned email off is skipped, and the delivery log says so.
  Cli("EMIT '{\"eventType\":\"booking.created\",\"eventId\":\"bk-2\",\"data\":"
      "{\"bookingId\":\"b2\",\"userId\":\"u2\",\"userEmail\":\"u2@example.com\"}}'");
  EXPECT_EVENTUALLY_CONTAINS("SENT u2", "skipped");
  // A reminder lands in the in-app inbox.
  Cli("EMIT '{\"eventType\":\"booking.reminder\",\"eventId\":\"rm-2\",\"data\":"
      "{\"bookingId\":\"b2\",\"userId\":\"u2\"}}'");
  EXPECT_EVENTUALLY_CONTAINS("INBOX u2", "rm-2");
  // A failed payment opens a support ticket.
  Cli("EMIT '{\"eventType\":\"payment.failed\",\"eventId\":\"pf-2\",\"data\":"
      "{\"paymentId\":\"p2\",\"bookingId\":\"b2\",\"userId\":\"u2\",\"amount\":9,"
      "\"reason\":\"card declined\"}}'");
  EXPECT_EVENTUALLY_CONTAINS("TICKETS 5", "card declined");
  EXPECT_EQ(Cli("TICKETS 0").rfind("ERR count", 0), 0u);
}

TEST_F(RedisCliTest, RemoteWorkerRunsTheHandlersOverResp) {
  herald_->Signal(SIGTERM);
  herald_->Wait(20s);
  Start({"--workers", "0"});
  // The worker keeps its records in the broker and opens no store: its --data-dir is only where
  // its e-mail outbox would go.
  ChildProcess worker({HERALD_BINARY, "worker", "--connect", "127.0.0.1:" + std::to_string(port_),
                       "--data-dir", dir_.Sub("worker-data"), "--workers", "2"},
                      dir_.Sub("worker.log"));
  ASSERT_TRUE(worker.WaitForOutput("herald ready", 20s)) << worker.Output();
  Cli("EMIT '{\"eventType\":\"payment.failed\",\"eventId\":\"pf-9\",\"data\":"
      "{\"paymentId\":\"p9\",\"bookingId\":\"b9\",\"userId\":\"u9\",\"amount\":1,"
      "\"reason\":\"expired card\"}}'");
  EXPECT_EVENTUALLY_CONTAINS("SHOW pf-9", "completed");
  // The ticket handler's return value, the ticket id, came back with ACKJOB ... RESULT.
  EXPECT_NE(Cli("SHOW pf-9").find("result\nTKT-"), std::string::npos) << Cli("SHOW pf-9");
  // What the worker's handlers recorded is the broker's: the ticket, an in-app notification
  // and the delivery log of an e-mail to a user who turned e-mail off.
  EXPECT_NE(Cli("TICKETS 5").find("expired card"), std::string::npos) << Cli("TICKETS 5");
  Cli("EMIT '{\"eventType\":\"booking.reminder\",\"eventId\":\"rm-9\",\"data\":"
      "{\"bookingId\":\"b9\",\"userId\":\"u9\"}}'");
  EXPECT_EVENTUALLY_CONTAINS("INBOX u9", "rm-9");
  EXPECT_EQ(Cli("PREFS.SET u9 email off"), "OK");
  Cli("EMIT '{\"eventType\":\"booking.created\",\"eventId\":\"bk-9\",\"data\":"
      "{\"bookingId\":\"b9\",\"userId\":\"u9\",\"userEmail\":\"u9@example.com\"}}'");
  EXPECT_EVENTUALLY_CONTAINS("SENT u9", "user u9 turned off email");
  worker.Signal(SIGTERM);
  EXPECT_EQ(worker.Wait(20s), 0) << worker.Output();
  EXPECT_NE(worker.Output().find("3 completed"), std::string::npos) << worker.Output();
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("worker-data") + "/CURRENT"));
}

TEST_F(RedisCliTest, ShutdownCommandStopsTheServerCleanly) {
  Cli("SHUTDOWN");
  EXPECT_EQ(herald_->Wait(20s), 0) << herald_->Output();
}

TEST_F(RedisCliTest, InfoHasTheSectionsClientsLookFor) {
  std::string info = Cli("INFO");
  for (const char* needle : {"# Server", "redis_version:", "# Clients", "connected_clients:",
                             "# Memory", "maxmemory_policy:noeviction", "# Persistence",
                             "loading:0", "# Stats", "# Queues", "queue_emails:", "# Keyspace"}) {
    EXPECT_NE(info.find(needle), std::string::npos) << needle;
  }
}

TEST_F(RedisCliTest, TimeoutFlagIsReportedByConfigGet) {
  EXPECT_EQ(Cli("CONFIG GET timeout"), "timeout\n0");
  herald_->Signal(SIGTERM);
  herald_->Wait(20s);
  Start({"--timeout", "300"});
  EXPECT_EQ(Cli("CONFIG GET timeout"), "timeout\n300");
}

TEST_F(RedisCliTest, RequirepassGuardsEveryCommandButAuth) {
  herald_->Signal(SIGTERM);
  herald_->Wait(20s);
  Start({"--requirepass", "s3cret"});
  EXPECT_EQ(Cli("PING"), "NOAUTH Authentication required.");
  EXPECT_EQ(Cli("-a s3cret --no-auth-warning PING"), "PONG");
  EXPECT_EQ(Cli("-a wrong --no-auth-warning PING"), "NOAUTH Authentication required.");
}

}  // namespace
}  // namespace herald::testing
