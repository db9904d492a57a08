// kill -9 of the real herald binary at `--fsync always` while clients pipeline writes: every
// reply that confirmed a write stays true after the restart. Adds and pushes that were
// acknowledged are there; jobs whose ACKJOB (or GETJOB ACK) was acknowledged are never handed
// out again; every other job is handed out again (at least once), unless an acknowledgement
// whose reply the kill cut off completed it.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <set>
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

class DurableCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Completed jobs are kept, so that SHOW can tell an acknowledged job from a lost one.
    const std::string config = dir_.Sub("herald.toml");
    ASSERT_EQ(
        std::system(("printf '[engine]\\ncompleted_retention = 1000000\\n' > " + config).c_str()),
        0);
    config_ = config;
    Start();
  }

  void Start() {
    herald_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{HERALD_BINARY, "--config", config_, "--data-dir", dir_.Sub("data"),
                                 "--port", std::to_string(port_), "--http-port", "0", "--fsync",
                                 "always", "--workers", "0", "--log-level", "warn"},
        dir_.Sub("herald.log"));
    ASSERT_TRUE(WaitForPort(port_, 20s)) << herald_->Output();
  }

  void KillAndRestart() {
    herald_->Signal(SIGKILL);
    herald_->Wait(20s);
    Start();
  }

  std::unique_ptr<Client> Connect() {
    auto client = Client::Connect("127.0.0.1", static_cast<std::uint16_t>(port_), 10s);
    EXPECT_TRUE(client.ok()) << client.status().message();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  // Kills the server after a random 150-450 ms.
  void KillSoon() {
    std::mt19937 random(std::random_device{}());
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + random() % 300));
    KillAndRestart();
  }

  TempDir dir_;
  std::string config_;
  int port_ = FreePort();
  std::unique_ptr<ChildProcess> herald_;
};

TEST_F(DurableCrashTest, AcknowledgedPipelinedAddsAndPushesSurviveKillNine) {
  constexpr int kProducers = 3;
  constexpr int kBatch = 25;  // ADDJOBs and RPUSHes per pipeline, each
  for (int round = 0; round < 3; ++round) {
    std::mutex mu;
    std::vector<std::string> added;   // ids whose ADDJOB reply came back
    std::vector<std::string> pushed;  // elements whose RPUSH reply came back
    std::vector<std::jthread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        auto client = Connect();
        if (!client) return;
        for (int batch = 0;; ++batch) {
          std::vector<std::string> ids;
          for (int i = 0; i < kBatch; ++i) {
            const std::string tag = std::to_string(round) + "-" + std::to_string(p) + "-" +
                                    std::to_string(batch) + "-" + std::to_string(i);
            ids.push_back(tag);
            client->Append({"ADDJOB", "crash", "payload " + tag, "JOBID", "job-" + tag});
            client->Append({"RPUSH", "log", tag});
          }
          auto replies = client->ReadReplies(2 * kBatch);
          if (!replies.ok()) return;  // killed
          std::lock_guard lock(mu);
          for (int i = 0; i < kBatch; ++i) {
            const auto& job = (*replies)[2 * static_cast<std::size_t>(i)];
            const auto& push = (*replies)[2 * static_cast<std::size_t>(i) + 1];
            ASSERT_EQ(job.str, "job-" + ids[static_cast<std::size_t>(i)]) << job.ToString();
            ASSERT_EQ(push.type, resp::ReplyType::kInteger) << push.ToString();
            added.push_back(job.str);
            pushed.push_back(ids[static_cast<std::size_t>(i)]);
          }
        }
      });
    }
    KillSoon();
    producers.clear();  // joined: each saw its connection break
    ASSERT_FALSE(added.empty()) << "nothing was acknowledged before the kill";

    auto client = Connect();
    ASSERT_TRUE(client);
    for (const std::string& id : added) {
      auto show = client->Command({"SHOW", id});
      ASSERT_TRUE(show.ok());
      ASSERT_FALSE(show->is_null()) << "acknowledged add " << id << " lost (round " << round << ")";
    }
    auto log = client->Command({"LRANGE", "log", "0", "-1"});
    ASSERT_TRUE(log.ok());
    std::set<std::string> in_list;
    for (const auto& element : log->elements) in_list.insert(element.str);
    for (const std::string& tag : pushed) {
      ASSERT_TRUE(in_list.count(tag))
          << "acknowledged push " << tag << " lost (round " << round << ")";
    }
  }
}

TEST_F(DurableCrashTest, AnAcknowledgedAckIsNeverDeliveredAgainAndEveryOtherJobIs) {
  constexpr int kJobs = 4000;
  std::set<std::string> all;
  {
    auto client = Connect();
    ASSERT_TRUE(client);
    for (int i = 0; i < kJobs; ++i) {
      const std::string id = "ack-" + std::to_string(i);
      all.insert(id);
      // Attempts left, so that a job active at the kill is waiting again after it.
      client->Append({"ADDJOB", "work", "x", "JOBID", id, "ATTEMPTS", "5"});
    }
    auto replies = client->ReadReplies(kJobs);
    ASSERT_TRUE(replies.ok());
  }
  std::mutex mu;
  std::set<std::string> acked;  // a reply confirmed the job's completion
  std::vector<std::jthread> workers;
  // Takes ten at a time and pipelines their ACKJOBs.
  workers.emplace_back([&] {
    auto client = Connect();
    if (!client) return;
    while (true) {
      auto taken = client->Command({"GETJOB", "NOHANG", "COUNT", "10", "FROM", "work"});
      if (!taken.ok() || taken->elements.empty()) return;
      for (const auto& job : taken->elements) client->Append({"ACKJOB", job.elements[1].str});
      auto replies = client->ReadReplies(taken->elements.size());
      if (!replies.ok()) return;
      std::lock_guard lock(mu);
      for (std::size_t i = 0; i < replies->size(); ++i) {
        if ((*replies)[i].integer == 1) acked.insert(taken->elements[i].elements[1].str);
      }
    }
  });
  // The worker's loop of `herald worker`: each GETJOB acknowledges the job before.
  workers.emplace_back([&] {
    auto client = Connect();
    if (!client) return;
    std::string holding;
    while (true) {
      std::vector<std::string> command = {"GETJOB", "NOHANG"};
      if (!holding.empty()) command.insert(command.end(), {"ACK", holding});
      command.insert(command.end(), {"FROM", "work"});
      auto taken = client->Command(command);
      if (!taken.ok() || taken->is_error()) return;
      if (!holding.empty()) {
        std::lock_guard lock(mu);
        acked.insert(holding);
      }
      if (taken->elements.empty()) return;
      holding = taken->elements[0].elements[1].str;
    }
  });
  KillSoon();
  workers.clear();
  ASSERT_FALSE(acked.empty()) << "nothing was acknowledged before the kill";

  // After the restart every job not acknowledged is waiting (those active at the kill too);
  // none that was acknowledged is.
  auto client = Connect();
  ASSERT_TRUE(client);
  std::set<std::string> again;
  while (true) {
    auto taken = client->Command({"GETJOB", "NOHANG", "COUNT", "1000", "FROM", "work"});
    ASSERT_TRUE(taken.ok());
    ASSERT_FALSE(taken->is_error()) << taken->str;
    if (taken->elements.empty()) break;
    for (const auto& job : taken->elements) again.insert(job.elements[1].str);
  }
  for (const std::string& id : acked) {
    EXPECT_EQ(again.count(id), 0u) << "acknowledged job " << id << " delivered again";
    auto show = client->Command({"SHOW", id});
    ASSERT_TRUE(show.ok());
    EXPECT_EQ(ShowField(*show, "state"), "completed") << id << ": " << show->ToString();
  }
  // The others are back, or were completed by an acknowledgement whose reply the kill cut off.
  for (const std::string& id : all) {
    if (acked.count(id) || again.count(id)) continue;
    auto show = client->Command({"SHOW", id});
    ASSERT_TRUE(show.ok());
    EXPECT_EQ(ShowField(*show, "state"), "completed")
        << "job " << id << " lost: " << show->ToString();
  }
}

}  // namespace
}  // namespace herald::testing
