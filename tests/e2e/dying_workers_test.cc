// Workers that die, against the real binary: a remote worker process frozen with SIGSTOP
// holding jobs, a client that takes a job and disconnects, one that keeps its lease with
// WORKING, and a poison job that takes its worker down every time. A job comes back when its
// lease ends (not when a connection drops: its worker may still be running it).
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/client/client.h"
#include "tests/support/process.h"
#include "tests/support/show_reply.h"
#include "tests/support/temp_dir.h"

namespace herald::testing {
namespace {

using namespace std::chrono_literals;
using client::Client;

// The outcomes of a SHOW reply's history, oldest first ("stalled,completed").
std::string Outcomes(const resp::Reply& show) {
  std::string out;
  for (std::size_t i = 0; i + 1 < show.elements.size(); i += 2) {
    if (show.elements[i].str != "history") continue;
    for (const resp::Reply& attempt : show.elements[i + 1].elements) {
      out += (out.empty() ? "" : ",") + ShowField(attempt, "outcome");
    }
  }
  return out;
}

class DyingWorkersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    herald_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{HERALD_BINARY, "--data-dir", dir_.Sub("data"), "--port",
                                 std::to_string(port_), "--http-port", "0", "--workers", "0",
                                 "--log-level", "warn"},
        dir_.Sub("herald.log"));
    ASSERT_TRUE(WaitForPort(port_, 20s)) << herald_->Output();
  }

  std::unique_ptr<Client> Connect() {
    auto client = Client::Connect("127.0.0.1", static_cast<std::uint16_t>(port_), 10s);
    EXPECT_TRUE(client.ok());
    return std::move(client).value();
  }

  resp::Reply Call(Client& client, const std::vector<std::string>& args) {
    auto reply = client.Command(args);
    EXPECT_TRUE(reply.ok()) << reply.status().message();
    return reply.ok() ? std::move(reply).value() : resp::Reply{};
  }

  std::unique_ptr<ChildProcess> StartWorker(const std::string& name) {
    auto worker = std::make_unique<ChildProcess>(
        std::vector<std::string>{HERALD_BINARY, "--data-dir", dir_.Sub(name), "--workers", "2",
                                 "--log-level", "info", "worker", "--connect",
                                 "127.0.0.1:" + std::to_string(port_), "--queues", "tickets",
                                 "--lease-ms", "1000"},
        dir_.Sub(name + ".log"));
    EXPECT_TRUE(worker->WaitForOutput("herald ready", 20s)) << worker->Output();
    return worker;
  }

  // Polls SHOW until the job reaches `state`.
  resp::Reply WaitForState(Client& client, const std::string& id, const std::string& state,
                           std::chrono::milliseconds limit = 20s) {
    resp::Reply show;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      show = Call(client, {"SHOW", id});
      if (ShowField(show, "state") == state) break;
      std::this_thread::sleep_for(20ms);
    }
    return show;
  }

  TempDir dir_;
  int port_ = FreePort();
  std::unique_ptr<ChildProcess> herald_;
};

TEST_F(DyingWorkersTest, AFrozenWorkersJobsComeBackAfterTheLeaseAndAnotherCompletesThem) {
  auto frozen = StartWorker("w1");
  auto client = Connect();
  // Its two threads wait in GETJOB; frozen, the jobs handed to them are never acknowledged.
  for (int i = 0;
       i < 100 && RedisCli(port_, "INFO clients").find("blocked_clients:2") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(20ms);
  }
  frozen->Signal(SIGSTOP);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back("pay-" + std::to_string(i));
    auto added = Call(
        *client,
        {"EMIT",
         R"({"eventType":"payment.failed","eventId":")" + ids.back() +
             R"(","timestamp":"2026-01-01T10:00:00Z","data":{"paymentId":"p","bookingId":"b","userId":"u-1","amount":10,"reason":"card declined"}})"});
    EXPECT_EQ(added.str, ids.back());
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_NE(RedisCli(port_, "QSTAT tickets").find("active\n2"), std::string::npos)
      << RedisCli(port_, "QSTAT tickets");
  auto rescuer = StartWorker("w2");
  for (const std::string& id : ids) {
    resp::Reply show = WaitForState(*client, id, "completed");
    EXPECT_EQ(ShowField(show, "state"), "completed") << id << " " << show.ToString();
  }
  // The two the frozen worker held: their first attempt stalled, the second completed.
  int stalled = 0;
  for (const std::string& id : ids) {
    const std::string outcomes = Outcomes(Call(*client, {"SHOW", id}));
    if (outcomes == "stalled,completed") ++stalled;
  }
  EXPECT_EQ(stalled, 2);
  frozen->Signal(SIGCONT);
  frozen->Signal(SIGTERM);
  EXPECT_EQ(frozen->Wait(20s), 0) << frozen->Output();
  rescuer->Signal(SIGTERM);
  EXPECT_EQ(rescuer->Wait(20s), 0);
  // Every job completed once: the late acknowledgements of the thawed worker changed nothing.
  EXPECT_NE(RedisCli(port_, "QSTAT tickets").find("completed\n4"), std::string::npos);
}

TEST_F(DyingWorkersTest, AClientThatDisconnectsGivesItsJobBackWhenItsLeaseEnds) {
  auto producer = Connect();
  Call(*producer, {"ADDJOB", "q", "x", "JOBID", "d-1", "ATTEMPTS", "3"});
  {
    auto gone = Connect();
    ASSERT_EQ(Call(*gone, {"GETJOB", "NOHANG", "LEASE", "1000", "FROM", "q"}).elements.size(), 1u);
  }
  auto next = Connect();
  // Not before the lease ends (a worker that lost its connection may still be running it).
  EXPECT_TRUE(Call(*next, {"GETJOB", "NOHANG", "FROM", "q"}).elements.empty());
  resp::Reply taken;
  for (int i = 0; i < 200; ++i) {
    taken = Call(*next, {"GETJOB", "NOHANG", "FROM", "q"});
    if (!taken.elements.empty()) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(taken.elements.size(), 1u);
  EXPECT_EQ(taken.elements[0].elements[3].integer, 2);  // the first attempt counts
  EXPECT_EQ(Call(*next, {"ACKJOB", "d-1"}).integer, 1);
  EXPECT_EQ(Outcomes(Call(*next, {"SHOW", "d-1"})), "stalled,completed");
}

TEST_F(DyingWorkersTest, WorkingKeepsTheLeaseOfALongJob) {
  auto producer = Connect();
  Call(*producer, {"ADDJOB", "q", "long", "JOBID", "l-1"});
  auto holder = Connect();
  ASSERT_EQ(Call(*holder, {"GETJOB", "NOHANG", "LEASE", "1000", "FROM", "q"}).elements.size(), 1u);
  auto other = Connect();
  for (int i = 0; i < 10; ++i) {  // 3 s, three times the lease
    std::this_thread::sleep_for(300ms);
    EXPECT_GT(Call(*holder, {"WORKING", "l-1"}).integer, 0);
    EXPECT_TRUE(Call(*other, {"GETJOB", "NOHANG", "FROM", "q"}).elements.empty());
  }
  EXPECT_EQ(Call(*holder, {"ACKJOB", "l-1"}).integer, 1);
  EXPECT_EQ(ShowField(Call(*holder, {"SHOW", "l-1"}), "attempts-made"), "1");
}

TEST_F(DyingWorkersTest, APoisonJobThatKillsItsWorkerEveryTimeEndsFailedWithTheReason) {
  auto producer = Connect();
  Call(*producer, {"ADDJOB", "q", "poison", "JOBID", "p-1", "ATTEMPTS", "3"});
  int takes = 0;
  for (int i = 0; i < 300 && ShowField(Call(*producer, {"SHOW", "p-1"}), "state") != "failed";
       ++i) {
    auto victim = Connect();
    if (!Call(*victim, {"GETJOB", "NOHANG", "LEASE", "1000", "FROM", "q"}).elements.empty()) {
      ++takes;
    }
    // The worker dies holding it; the job comes back when its lease ends.
    std::this_thread::sleep_for(50ms);
  }
  resp::Reply show = Call(*producer, {"SHOW", "p-1"});
  EXPECT_EQ(ShowField(show, "state"), "failed");
  EXPECT_EQ(takes, 3);
  EXPECT_EQ(ShowField(show, "attempts-made"), "3");
  EXPECT_EQ(Outcomes(show), "stalled,stalled,stalled");
  EXPECT_FALSE(ShowField(show, "last-error").empty());
}

}  // namespace
}  // namespace herald::testing
