// Failover of the PostgreSQL store, against the real binary: 3 etcd + 3 Patroni (strict
// synchronous mode, deploy/patroni) + 2 Herald nodes on loopback; producers add jobs through
// both nodes and workers take and acknowledge them through both, while the primary's Patroni
// and PostgreSQL are killed with SIGKILL. Afterwards every add that was answered with its id
// is there (completed, or still queued), no job whose ACKJOB was answered is handed out again,
// the Herald nodes found the new primary by themselves, and the outage was reported: calls
// failed during it, and /readyz said not ready. CTest label "failover".
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "net/client/client.h"
#include "tests/support/patroni_cluster.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/show_reply.h"
#include "tests/support/temp_dir.h"

namespace herald::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using client::Client;

struct Node {
  std::unique_ptr<ChildProcess> process;
  int port = 0;
  int http_port = 0;
};

// What the producers and workers saw, shared between their threads.
struct Ledger {
  std::mutex mu;
  std::set<std::string> added;                     // answered with its id
  std::map<std::string, Clock::time_point> acked;  // ACKJOB answered 1, and when
  std::vector<std::string> delivered_after_ack;    // handed out again after that
  std::atomic<int> failed_calls{0};
  std::atomic<int> deliveries{0};
};

std::unique_ptr<Client> Connect(const Node& node) {
  auto client = Client::Connect("127.0.0.1", static_cast<std::uint16_t>(node.port), 2s);
  return client.ok() ? std::move(client).value() : nullptr;
}

class FailoverTest : public ::testing::Test {
 protected:
  Node StartNode(const std::string& name, const std::string& conninfo) {
    Node node;
    node.port = FreePort();
    node.http_port = FreePort();
    node.process = std::make_unique<ChildProcess>(
        std::vector<std::string>{
            HERALD_BINARY, "--config", config_, "--store-conninfo", conninfo, "--store-node", name,
            "--data-dir", dir_.Sub(name), "--port", std::to_string(node.port), "--http-port",
            std::to_string(node.http_port), "--workers", "0", "--log-level", "info"},
        dir_.Sub(name + ".log"));
    EXPECT_TRUE(node.process->WaitForOutput("herald ready", 60s)) << node.process->Output();
    return node;
  }

  TempDir dir_;
  std::string config_;
};

void Produce(const Node& node, const std::string& prefix, const std::atomic<bool>& stop,
             Ledger* ledger) {
  std::unique_ptr<Client> client;
  for (int n = 0; !stop.load(); ++n) {
    if (!client) client = Connect(node);
    if (!client) {
      std::this_thread::sleep_for(100ms);
      continue;
    }
    const std::string id = prefix + std::to_string(n);
    auto reply =
        client->Command({"ADDJOB", "work", "payload of " + id, "ATTEMPTS", "10", "JOBID", id});
    if (!reply.ok()) {
      client.reset();
      ledger->failed_calls.fetch_add(1);
      continue;
    }
    if (reply->str == id) {
      std::lock_guard lock(ledger->mu);
      ledger->added.insert(id);
    } else {
      ledger->failed_calls.fetch_add(1);
      std::this_thread::sleep_for(50ms);
    }
  }
}

void Work(const Node& node, const std::atomic<bool>& stop, Ledger* ledger) {
  std::unique_ptr<Client> client;
  while (!stop.load()) {
    if (!client) client = Connect(node);
    if (!client) {
      std::this_thread::sleep_for(100ms);
      continue;
    }
    auto taken = client->Command(
        {"GETJOB", "TIMEOUT", "300", "COUNT", "10", "LEASE", "5000", "FROM", "work"});
    if (!taken.ok()) {
      client.reset();
      ledger->failed_calls.fetch_add(1);
      continue;
    }
    if (taken->is_error()) {
      ledger->failed_calls.fetch_add(1);
      std::this_thread::sleep_for(50ms);
      continue;
    }
    for (const resp::Reply& job : taken->elements) {
      const std::string id = job.elements[1].str;
      ledger->deliveries.fetch_add(1);
      {
        std::lock_guard lock(ledger->mu);
        if (ledger->acked.count(id) > 0) ledger->delivered_after_ack.push_back(id);
      }
      auto acked = client->Command({"ACKJOB", id});
      if (!acked.ok()) {
        client.reset();
        ledger->failed_calls.fetch_add(1);
        break;
      }
      if (acked->integer == 1) {
        std::lock_guard lock(ledger->mu);
        ledger->acked.emplace(id, Clock::now());
      } else {
        ledger->failed_calls.fetch_add(1);
      }
    }
  }
}

TEST_F(FailoverTest, KillingThePrimaryUnderLoadLosesNoAcknowledgedJob) {
  std::string why_not;
  std::unique_ptr<PatroniCluster> cluster = PatroniCluster::Start(dir_.Sub("cluster"), &why_not);
  HERALD_SKIP_WITHOUT_POSTGRES(cluster, why_not);
  const int first = cluster->Primary();
  ASSERT_GE(first, 0);
  int code = 0;
  cluster->Psql(first, "CREATE DATABASE herald", "postgres", &code);
  ASSERT_EQ(code, 0) << cluster->Logs();
  config_ = WriteFile(dir_.Sub("herald.toml"),
                      "[store]\nheartbeat_ms = 500\nnode_timeout_ms = "
                      "60000\n[engine]\ncompleted_retention = 1000000\n");
  const std::string conninfo = cluster->ConnInfo("herald");
  Node a = StartNode("a", conninfo);
  Node b = StartNode("b", conninfo);

  Ledger ledger;
  std::atomic<bool> stop_producers{false};
  std::atomic<bool> stop_workers{false};
  std::vector<std::thread> threads;
  threads.emplace_back([&] { Produce(a, "a-", stop_producers, &ledger); });
  threads.emplace_back([&] { Produce(b, "b-", stop_producers, &ledger); });
  threads.emplace_back([&] { Work(a, stop_workers, &ledger); });
  threads.emplace_back([&] { Work(b, stop_workers, &ledger); });
  std::this_thread::sleep_for(4s);
  std::size_t added_before;
  {
    std::lock_guard lock(ledger.mu);
    added_before = ledger.added.size();
  }
  ASSERT_GT(added_before, 0u) << a.process->Output();

  // The primary goes, Patroni and PostgreSQL at once.
  const int failed_before = ledger.failed_calls.load();
  const auto killed_at = Clock::now();
  cluster->KillNode(first);
  bool saw_not_ready = false;
  bool ready_again = false;
  Clock::time_point recovered_at;
  while (Clock::now() - killed_at < 60s) {
    const std::string status =
        RunCommand("curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://127.0.0.1:" +
                   std::to_string(a.http_port) + "/readyz");
    if (status == "503") saw_not_ready = true;
    if (saw_not_ready && status == "200") {
      ready_again = true;
      recovered_at = Clock::now();
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  const int second = cluster->WaitForPrimary(30s, first);
  std::this_thread::sleep_for(3s);  // adds and acknowledgements through the new primary
  stop_producers = true;
  threads[0].join();
  threads[1].join();

  // Drain: the workers go on until every add answered is completed, or 30 s.
  std::set<std::string> added;
  {
    std::lock_guard lock(ledger.mu);
    added = ledger.added;
  }
  const auto drain_deadline = Clock::now() + 30s;
  while (Clock::now() < drain_deadline) {
    std::size_t acked;
    {
      std::lock_guard lock(ledger.mu);
      acked = 0;
      for (const std::string& id : added) acked += ledger.acked.count(id);
    }
    if (acked == added.size()) break;
    std::this_thread::sleep_for(200ms);
  }
  stop_workers = true;
  threads[2].join();
  threads[3].join();

  EXPECT_GE(second, 0) << cluster->Logs();
  EXPECT_NE(second, first);
  EXPECT_TRUE(saw_not_ready) << "/readyz never said not ready during the outage";
  EXPECT_TRUE(ready_again) << "/readyz not ready again within 60 s:\n" << a.process->Output();
  EXPECT_GT(ledger.failed_calls.load(), failed_before) << "no call failed during the outage";
  {
    std::lock_guard lock(ledger.mu);
    EXPECT_TRUE(ledger.delivered_after_ack.empty())
        << ledger.delivered_after_ack.size() << " acknowledged jobs handed out again, e.g. "
        << ledger.delivered_after_ack.front();
  }
  // Every add answered with its id is there, through either node.
  auto check = Connect(b);
  ASSERT_TRUE(check);
  int missing = 0, completed = 0;
  std::map<std::string, int> states;
  for (const std::string& id : added) {
    auto show = check->Command({"SHOW", id});
    ASSERT_TRUE(show.ok());
    const std::string state = ShowField(*show, "state");
    if (show->is_error() || state.empty()) {
      if (++missing <= 5) ADD_FAILURE() << "acknowledged add " << id << " lost: " << show->str;
      continue;
    }
    ++states[state];
    if (state == "completed") ++completed;
  }
  EXPECT_EQ(missing, 0);
  EXPECT_GT(added.size(), added_before);  // adds went on after the failover
  const auto outage_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(recovered_at - killed_at).count();
  RecordProperty("adds_acknowledged", static_cast<int>(added.size()));
  RecordProperty("completed", completed);
  RecordProperty("outage_ms", static_cast<int>(ready_again ? outage_ms : -1));
  std::printf(
      "failover: %zu adds acknowledged, %d completed, %d deliveries, %d calls failed, "
      "/readyz not ready for %lld ms (primary pg%d -> pg%d)\n",
      added.size(), completed, ledger.deliveries.load(), ledger.failed_calls.load(),
      static_cast<long long>(ready_again ? outage_ms : -1), first, second);
  EXPECT_EQ(static_cast<std::size_t>(completed), added.size())
      << "jobs by state at the end: " << [&] {
           std::string out;
           for (const auto& [state, n] : states) out += state + "=" + std::to_string(n) + " ";
           return out;
         }();
}

}  // namespace
}  // namespace herald::testing
