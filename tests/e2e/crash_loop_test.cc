// Crash loops over the wire, in each fsync mode: producers (pipelined and one by one), remote
// workers (GETJOB ... ACK, GETJOB COUNT with pipelined ACKJOBs, some NACKs) and the server's
// own workers (a noop handler) run while the driver sends SIGKILL at random moments and
// restarts the real binary, HERALD_CRASH_KILLS times (default 30; 300 or more on demand).
// Then every queue is drained and checked:
//   * every add that got a reply is completed (or failed with its attempts used up): 0 lost;
//   * no job whose acknowledgement got a reply is delivered again;
//   * no delivery of a job that was never added;
//   * no delivery with more attempts made than the job's maximum;
//   * redeliveries (at-least-once: a job active at a kill comes back) are counted.
// A kill -9 loses nothing in any mode (the log is in the OS's cache); the everysec and no
// modes' window is a machine crash, which this does not make (README.md "Durability").
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
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

constexpr int kMaxAttempts = 5;

// What the clients saw, across every kill.
struct Ledger {
  std::mutex mu;
  std::set<std::string> sent;   // every id an ADDJOB was sent for
  std::set<std::string> added;  // ids whose ADDJOB reply came back
  std::set<std::string> acked;  // ids whose acknowledgement's reply said it was completed
  std::map<std::string, int> deliveries;
  std::vector<std::string> violations;
  std::uint64_t delivered = 0;

  void Delivered(const std::string& id, std::int64_t attempts) {
    std::lock_guard lock(mu);
    ++delivered;
    ++deliveries[id];
    if (!sent.count(id)) violations.push_back("delivered " + id + ", which was never added");
    if (acked.count(id)) violations.push_back("delivered " + id + " again after its ack");
    if (attempts > kMaxAttempts) {
      violations.push_back(id + " delivered with " + std::to_string(attempts) + " attempts made");
    }
  }
};

class CrashLoopTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    config_ = WriteFile(dir_.Sub("herald.toml"),
                        "[engine]\ncompleted_retention = 10000000\n"
                        "[handlers]\nqueues = { local = \"noop\" }\n");
    Start();
  }

  void Start() {
    herald_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{HERALD_BINARY, "--config", config_, "--data-dir", dir_.Sub("data"),
                                 "--port", std::to_string(port_), "--http-port", "0", "--fsync",
                                 GetParam(), "--workers", "2", "--log-level", "warn"},
        dir_.Sub("herald.log"));
    ASSERT_TRUE(WaitForPort(port_, 30s)) << herald_->Output();
  }

  std::unique_ptr<Client> Connect() {
    auto client = Client::Connect("127.0.0.1", static_cast<std::uint16_t>(port_), 10s);
    return client.ok() ? std::move(client).value() : nullptr;
  }

  // One life of the server: the load until the kill.
  void Life(int life, std::mt19937& random) {
    std::atomic<bool> stop{false};
    std::vector<std::jthread> threads;
    // Pipelined adds, 20 at a time, to both queues.
    threads.emplace_back([&, life] {
      auto client = Connect();
      for (int batch = 0; client && !stop; ++batch) {
        std::vector<std::string> ids;
        for (int i = 0; i < 20; ++i) {
          ids.push_back((i % 2 ? "r-" : "l-") + std::to_string(life) + "-" + std::to_string(batch) +
                        "-" + std::to_string(i));
          {
            std::lock_guard lock(ledger_.mu);
            ledger_.sent.insert(ids.back());
          }
          client->Append({"ADDJOB", i % 2 ? "remote" : "local", "x", "JOBID", ids.back(),
                          "ATTEMPTS", std::to_string(kMaxAttempts), "BACKOFF", "fixed", "0"});
        }
        auto replies = client->ReadReplies(ids.size());
        if (!replies.ok()) return;
        std::lock_guard lock(ledger_.mu);
        for (std::size_t i = 0; i < ids.size(); ++i) {
          if ((*replies)[i].str == ids[i]) ledger_.added.insert(ids[i]);
        }
      }
    });
    // One by one.
    threads.emplace_back([&, life] {
      auto client = Connect();
      for (int n = 0; client && !stop; ++n) {
        const std::string id = "o-" + std::to_string(life) + "-" + std::to_string(n);
        {
          std::lock_guard lock(ledger_.mu);
          ledger_.sent.insert(id);
        }
        auto reply = client->Command({"ADDJOB", "remote", "x", "JOBID", id, "ATTEMPTS",
                                      std::to_string(kMaxAttempts), "BACKOFF", "fixed", "0"});
        if (!reply.ok()) return;
        if (reply->str == id) {
          std::lock_guard lock(ledger_.mu);
          ledger_.added.insert(id);
        }
      }
    });
    // A worker's loop: each GETJOB acknowledges the job before; one in ten is NACKed.
    threads.emplace_back([&, seed = random()] {
      std::mt19937 dice(seed);
      auto client = Connect();
      std::string holding;
      while (client && !stop) {
        std::vector<std::string> command = {"GETJOB", "TIMEOUT", "50"};
        if (!holding.empty()) command.insert(command.end(), {"ACK", holding});
        command.insert(command.end(), {"FROM", "remote"});
        auto taken = client->Command(command);
        if (!taken.ok()) return;
        if (!holding.empty() && !taken->is_error()) {
          std::lock_guard lock(ledger_.mu);
          ledger_.acked.insert(holding);
        }
        holding.clear();
        if (taken->is_error() || taken->elements.empty()) continue;
        const resp::Reply& job = taken->elements[0];
        ledger_.Delivered(job.elements[1].str, job.elements[3].integer);
        if (dice() % 10 == 0) {
          if (!client->Command({"NACK", job.elements[1].str, "transient"}).ok()) return;
        } else {
          holding = job.elements[1].str;
        }
      }
    });
    // Takes five at a time and pipelines their ACKJOBs.
    threads.emplace_back([&] {
      auto client = Connect();
      while (client && !stop) {
        auto taken = client->Command({"GETJOB", "TIMEOUT", "50", "COUNT", "5", "FROM", "remote"});
        if (!taken.ok()) return;
        if (taken->is_error() || taken->elements.empty()) continue;
        for (const auto& job : taken->elements) {
          ledger_.Delivered(job.elements[1].str, job.elements[3].integer);
          client->Append({"ACKJOB", job.elements[1].str});
        }
        auto replies = client->ReadReplies(taken->elements.size());
        if (!replies.ok()) return;
        std::lock_guard lock(ledger_.mu);
        for (std::size_t i = 0; i < replies->size(); ++i) {
          if ((*replies)[i].integer == 1) ledger_.acked.insert(taken->elements[i].elements[1].str);
        }
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + random() % 300));
    herald_->Signal(SIGKILL);
    herald_->Wait(20s);
    stop = true;
    threads.clear();
    Start();
  }

  TempDir dir_;
  std::string config_;
  int port_ = FreePort();
  std::unique_ptr<ChildProcess> herald_;
  Ledger ledger_;
};

TEST_P(CrashLoopTest, NothingAcknowledgedIsLostOrRedeliveredAcrossKills) {
  const char* env = std::getenv("HERALD_CRASH_KILLS");
  const int kills = env != nullptr ? std::atoi(env) : 30;
  std::mt19937 random(std::random_device{}());
  for (int life = 0; life < kills; ++life) ASSERT_NO_FATAL_FAILURE(Life(life, random));

  // Drain: the remote queue by hand, the local one by the server's workers.
  auto client = Connect();
  ASSERT_TRUE(client);
  for (int idle = 0; idle < 20;) {
    auto taken = client->Command({"GETJOB", "TIMEOUT", "50", "COUNT", "100", "FROM", "remote"});
    ASSERT_TRUE(taken.ok());
    if (taken->elements.empty()) {
      ++idle;
      continue;
    }
    idle = 0;
    for (const auto& job : taken->elements) {
      ledger_.Delivered(job.elements[1].str, job.elements[3].integer);
      client->Append({"ACKJOB", job.elements[1].str});
    }
    ASSERT_TRUE(client->ReadReplies(taken->elements.size()).ok());
    std::lock_guard lock(ledger_.mu);
    for (const auto& job : taken->elements) ledger_.acked.insert(job.elements[1].str);
  }
  for (int i = 0; i < 500; ++i) {
    const std::string stat = RedisCli(port_, "QSTAT local");
    if (stat.find("waiting\n0\nactive\n0\ndelayed\n0") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }

  std::uint64_t lost = 0, completed = 0, failed = 0;
  for (const std::string& id : ledger_.added) client->Append({"SHOW", id});
  auto shows = client->ReadReplies(ledger_.added.size());
  ASSERT_TRUE(shows.ok());
  std::size_t i = 0;
  for (const std::string& id : ledger_.added) {
    const resp::Reply& show = (*shows)[i++];
    const std::string state = ShowField(show, "state");
    if (state == "completed") {
      ++completed;
    } else if (state == "failed" &&
               ShowField(show, "attempts-made") == std::to_string(kMaxAttempts)) {
      ++failed;
    } else {
      ++lost;
      if (lost <= 10) ADD_FAILURE() << "acknowledged add " << id << " is " << show.ToString();
    }
  }
  std::uint64_t redelivered = 0;
  for (const auto& [id, n] : ledger_.deliveries) redelivered += static_cast<std::uint64_t>(n - 1);
  for (std::size_t v = 0; v < ledger_.violations.size() && v < 10; ++v) {
    ADD_FAILURE() << ledger_.violations[v];
  }
  EXPECT_TRUE(ledger_.violations.empty()) << ledger_.violations.size() << " violations";
  EXPECT_EQ(lost, 0u);
  EXPECT_GT(ledger_.acked.size(), 0u);
  std::printf(
      "crash loop, fsync %s: %d kills, %zu adds acknowledged and checked (%llu completed, "
      "%llu failed after %d attempts, %llu lost), %llu deliveries to remote workers, %llu "
      "of them again (after a NACK or a kill), %zu acknowledgements confirmed, %zu violations\n",
      GetParam().c_str(), kills, ledger_.added.size(), static_cast<unsigned long long>(completed),
      static_cast<unsigned long long>(failed), kMaxAttempts, static_cast<unsigned long long>(lost),
      static_cast<unsigned long long>(ledger_.delivered),
      static_cast<unsigned long long>(redelivered), ledger_.acked.size(),
      ledger_.violations.size());
}

INSTANTIATE_TEST_SUITE_P(Modes, CrashLoopTest, ::testing::Values("always", "everysec", "no"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

}  // namespace
}  // namespace herald::testing
