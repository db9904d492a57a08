// Several Herald nodes on one PostgreSQL database (the postgres store backend), against the real
// binary: a job added on one node is taken and acknowledged on another; a GETJOB blocked on one
// node wakes when another adds (LISTEN/NOTIFY); a node killed with leased jobs loses none of
// them (the other node puts them back once its heartbeat is old, and completes them); lists
// and strings are refused with a clear error.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "net/client/client.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/show_reply.h"
#include "tests/support/temp_dir.h"

namespace herald::testing {
namespace {

using namespace std::chrono_literals;
using client::Client;

// Polls `condition` every 20 ms until it holds; false once `within` passed.
template <typename Condition>
bool Eventually(Condition condition, std::chrono::milliseconds within) {
  for (auto deadline = std::chrono::steady_clock::now() + within;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
    if (condition()) return true;
  }
  return condition();
}

class PostgresNodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    PostgresServer* server = SharedPostgresServer(&why_not);
    HERALD_SKIP_WITHOUT_POSTGRES(server, why_not);
    static int databases = 0;
    const std::string db = "nodes_" + std::to_string(++databases);
    ASSERT_EQ(server->CreateDatabase(db), "");
    server_ = server;
    db_ = db;
    conninfo_ = server->ConnInfo(db);
    // Quick heartbeats, so that a stopped node's jobs come back within a few seconds.
    config_ =
        WriteFile(dir_.Sub("herald.toml"), "[store]\nheartbeat_ms = 200\nnode_timeout_ms = 2000\n");
  }

  struct Node {
    std::unique_ptr<ChildProcess> process;
    int port = 0;
  };

  // A node on the database of the test (--store-conninfo), or, with `config` given, on what
  // that file says (a cluster map).
  Node StartNode(const std::string& name, const std::string& config = "") {
    Node node;
    node.port = FreePort();
    std::vector<std::string> argv{HERALD_BINARY, "--config", config.empty() ? config_ : config};
    if (config.empty()) argv.insert(argv.end(), {"--store-conninfo", conninfo_});
    argv.insert(argv.end(), {"--store-node", name, "--data-dir", dir_.Sub(name), "--port",
                             std::to_string(node.port), "--http-port", "0", "--workers", "0",
                             "--log-level", "info"});
    node.process = std::make_unique<ChildProcess>(argv, dir_.Sub(name + ".log"));
    EXPECT_TRUE(node.process->WaitForOutput("herald ready", 30s)) << node.process->Output();
    return node;
  }

  std::unique_ptr<Client> Connect(const Node& node) {
    auto client = Client::Connect("127.0.0.1", static_cast<std::uint16_t>(node.port), 10s);
    EXPECT_TRUE(client.ok());
    return client.ok() ? std::move(client).value() : nullptr;
  }

  resp::Reply Call(Client& client, const std::vector<std::string>& args) {
    auto reply = client.Command(args);
    EXPECT_TRUE(reply.ok()) << reply.status().message();
    return reply.ok() ? std::move(reply).value() : resp::Reply{};
  }

  TempDir dir_;
  PostgresServer* server_ = nullptr;
  std::string db_;
  std::string conninfo_;
  std::string config_;
};

TEST_F(PostgresNodesTest, AJobAddedOnOneNodeIsTakenAndAcknowledgedOnTheOther) {
  Node a = StartNode("a");
  Node b = StartNode("b");
  auto on_a = Connect(a);
  auto on_b = Connect(b);
  ASSERT_TRUE(on_a && on_b);
  resp::Reply added = Call(*on_a, {"ADDJOB", "emails", R"({"to":"u-1"})", "JOBID", "evt-1"});
  ASSERT_EQ(added.str, "evt-1") << added.ToString();
  resp::Reply taken = Call(*on_b, {"GETJOB", "NOHANG", "FROM", "emails"});
  ASSERT_EQ(taken.elements.size(), 1u) << taken.ToString();
  EXPECT_EQ(taken.elements[0].elements[1].str, "evt-1");
  EXPECT_EQ(taken.elements[0].elements[2].str, R"({"to":"u-1"})");
  // Node a sees it active, and can't end it: b holds it.
  EXPECT_EQ(ShowField(Call(*on_a, {"SHOW", "evt-1"}), "state"), "active");
  resp::Reply not_mine = Call(*on_a, {"ACKJOB", "evt-1"});
  EXPECT_EQ(ShowField(Call(*on_a, {"SHOW", "evt-1"}), "state"), "active") << not_mine.ToString();
  resp::Reply acked = Call(*on_b, {"ACKJOB", "evt-1"});
  EXPECT_EQ(acked.integer, 1) << acked.ToString();
  EXPECT_EQ(ShowField(Call(*on_a, {"SHOW", "evt-1"}), "state"), "completed");
  // The same id again on b: the job exists; nothing new.
  resp::Reply again = Call(*on_b, {"ADDJOB", "emails", "{}", "JOBID", "evt-1"});
  EXPECT_EQ(again.str, "evt-1");
  EXPECT_TRUE(Call(*on_a, {"GETJOB", "NOHANG", "FROM", "emails"}).elements.empty());
}

TEST_F(PostgresNodesTest, AGetjobBlockedOnOneNodeWakesWhenTheOtherAdds) {
  Node a = StartNode("a");
  Node b = StartNode("b");
  auto on_a = Connect(a);
  auto on_b = Connect(b);
  ASSERT_TRUE(on_a && on_b);
  // The queue exists on both before the wait (a GETJOB names queues it knows or makes).
  Call(*on_a, {"ADDJOB", "tickets", "first"});
  ASSERT_EQ(Call(*on_b, {"GETJOB", "NOHANG", "FROM", "tickets"}).elements.size(), 1u);
  auto waited = std::async(std::launch::async, [&] {
    const auto start = std::chrono::steady_clock::now();
    resp::Reply r = Call(*on_b, {"GETJOB", "TIMEOUT", "20000", "FROM", "tickets"});
    return std::make_pair(r, std::chrono::steady_clock::now() - start);
  });
  std::this_thread::sleep_for(500ms);  // b's GETJOB is parked by now
  Call(*on_a, {"ADDJOB", "tickets", "second"});
  ASSERT_EQ(waited.wait_for(15s), std::future_status::ready);
  auto [reply, took] = waited.get();
  ASSERT_EQ(reply.elements.size(), 1u) << reply.ToString();
  EXPECT_EQ(reply.elements[0].elements[2].str, "second");
  EXPECT_LT(took, 10s);  // woken by the notification, not by its 20 s timeout
}

TEST_F(PostgresNodesTest, AKilledNodesLeasedJobsComeBackThroughTheOther) {
  Node a = StartNode("a");
  Node b = StartNode("b");
  auto on_a = Connect(a);
  auto on_b = Connect(b);
  ASSERT_TRUE(on_a && on_b);
  for (int i = 0; i < 5; ++i) {
    Call(*on_b, {"ADDJOB", "notifications", "n" + std::to_string(i), "ATTEMPTS", "3", "JOBID",
                 "job-" + std::to_string(i)});
  }
  // a takes three with a long lease and dies holding them.
  resp::Reply taken =
      Call(*on_a, {"GETJOB", "NOHANG", "COUNT", "3", "LEASE", "600000", "FROM", "notifications"});
  ASSERT_EQ(taken.elements.size(), 3u) << taken.ToString();
  a.process->Signal(SIGKILL);
  a.process->Wait(10s);
  // b takes what is waiting, then the three once a's heartbeat is old enough.
  std::vector<std::string> done;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (done.size() < 5 && std::chrono::steady_clock::now() < deadline) {
    resp::Reply got =
        Call(*on_b, {"GETJOB", "TIMEOUT", "1000", "COUNT", "5", "FROM", "notifications"});
    for (const resp::Reply& job : got.elements) {
      EXPECT_EQ(Call(*on_b, {"ACKJOB", job.elements[1].str}).integer, 1);
      done.push_back(job.elements[1].str);
    }
  }
  ASSERT_EQ(done.size(), 5u) << b.process->Output();
  for (const resp::Reply& job : taken.elements) {
    resp::Reply show = Call(*on_b, {"SHOW", job.elements[1].str});
    EXPECT_EQ(ShowField(show, "state"), "completed") << show.ToString();
    EXPECT_EQ(ShowField(show, "attempts-made"), "2") << show.ToString();
  }
  EXPECT_TRUE(b.process->WaitForOutput("node a stopped with 3 active jobs; put back", 5s))
      << b.process->Output();
}

// Two clusters by a queue map (here two databases of the test's server): a GETJOB over queues
// of both, on one node, gets the jobs the other node adds to each; ids and records go where
// the map says.
TEST_F(PostgresNodesTest, AGetjobAcrossQueuesOnTwoClustersServesBoth) {
  std::string why_not;
  PostgresServer* server = SharedPostgresServer(&why_not);
  ASSERT_NE(server, nullptr) << why_not;
  static int maps = 0;
  const std::string east = "east_" + std::to_string(++maps);
  const std::string west = "west_" + std::to_string(maps);
  ASSERT_EQ(server->CreateDatabase(east), "");
  ASSERT_EQ(server->CreateDatabase(west), "");
  const std::string config = WriteFile(
      dir_.Sub("map.toml"),
      "[store]\nbackend = \"postgres\"\nheartbeat_ms = 200\n"
      "node_timeout_ms = 2000\n\n"
      "[[store.clusters]]\nname = \"east\"\nconninfo = \"" +
          server->ConnInfo(east) + "\"\n\n[[store.clusters]]\nname = \"west\"\nconninfo = \"" +
          server->ConnInfo(west) +
          "\"\n\n[store.queues]\nemails = \"east\"\ntickets = "
          "\"west\"\n");
  Node a = StartNode("a", config);
  Node b = StartNode("b", config);
  auto on_a = Connect(a);
  auto on_b = Connect(b);
  ASSERT_TRUE(on_a && on_b);
  EXPECT_TRUE(a.process->WaitForOutput(
      "a map of 2 postgres clusters (east, west); emails on east, tickets on west; the other", 1s))
      << a.process->Output();
  // Both queues known on a before it waits.
  Call(*on_b, {"ADDJOB", "emails", "e0"});
  Call(*on_b, {"ADDJOB", "tickets", "t0"});
  resp::Reply first = Call(*on_a, {"GETJOB", "NOHANG", "COUNT", "10", "FROM", "emails", "tickets"});
  ASSERT_EQ(first.elements.size(), 2u) << first.ToString();
  for (const resp::Reply& job : first.elements) Call(*on_a, {"ACKJOB", job.elements[1].str});
  for (const std::string queue : {"tickets", "emails"}) {
    auto waited = std::async(std::launch::async, [&] {
      return Call(*on_a, {"GETJOB", "TIMEOUT", "20000", "FROM", "emails", "tickets"});
    });
    std::this_thread::sleep_for(300ms);  // a's GETJOB is parked by now
    resp::Reply added = Call(*on_b, {"ADDJOB", queue, "for " + queue});
    ASSERT_FALSE(added.is_error()) << added.ToString();
    ASSERT_EQ(waited.wait_for(15s), std::future_status::ready) << queue;
    resp::Reply got = waited.get();
    ASSERT_EQ(got.elements.size(), 1u) << got.ToString();
    EXPECT_EQ(got.elements[0].elements[0].str, queue);
    EXPECT_EQ(got.elements[0].elements[1].str, added.str);
    // east (position 0) makes even ids, west odd ones.
    EXPECT_EQ(std::stoull(added.str) % 2, queue == "emails" ? 0u : 1u) << added.str;
    Call(*on_b, {"ACKJOB", added.str});  // a holds it: not b's to end
    EXPECT_EQ(ShowField(Call(*on_b, {"SHOW", added.str}), "state"), "active");
    EXPECT_EQ(Call(*on_a, {"ACKJOB", added.str}).integer, 1);
    EXPECT_EQ(ShowField(Call(*on_b, {"SHOW", added.str}), "state"), "completed");
  }
  EXPECT_EQ(server->Psql("SELECT count(*) FROM herald_jobs WHERE queue = 'tickets'", east), "0");
  EXPECT_EQ(server->Psql("SELECT count(*) FROM herald_jobs WHERE queue = 'tickets'", west), "2");
  EXPECT_EQ(server->Psql("SELECT count(*) FROM herald_jobs WHERE queue = 'emails'", east), "2");
}

// "store_writes:N" of INFO persistence: the store's transactions so far.
std::uint64_t StoreWrites(const resp::Reply& info) {
  const std::size_t at = info.str.find("store_writes:");
  return at == std::string::npos ? 0 : std::stoull(info.str.substr(at + 13));
}

// The ADDJOBs that follow each other in a pipeline go to the database together (a commit for
// many, not one each), and every reply keeps its place: an ADDJOB that is refused answers its
// error where it stands, and a command after the adds sees them.
TEST_F(PostgresNodesTest, APipelinesAddjobsShareCommitsAndEveryReplyKeepsItsPlace) {
  Node a = StartNode("a");
  auto on_a = Connect(a);
  ASSERT_TRUE(on_a);
  ASSERT_FALSE(Call(*on_a, {"ADDJOB", "emails", "first"}).is_error());
  const std::uint64_t writes_before = StoreWrites(Call(*on_a, {"INFO", "persistence"}));
  constexpr int kAdds = 200;
  for (int i = 0; i < kAdds; ++i) {
    if (i == 100) {
      on_a->Append({"ADDJOB", "emails", "bad", "DELAY", "-1"});
    } else {
      on_a->Append({"ADDJOB", i % 2 == 0 ? "emails" : "tickets", "job " + std::to_string(i)});
    }
  }
  on_a->Append({"ADDJOB", "tickets", "named", "JOBID", "ticket-1"});
  on_a->Append({"SHOW", "ticket-1"});
  on_a->Append({"QLEN", "emails"});
  auto replies = on_a->ReadReplies(kAdds + 3);
  ASSERT_TRUE(replies.ok()) << replies.status().message();
  std::set<std::string> ids;
  for (int i = 0; i < kAdds; ++i) {
    const resp::Reply& r = (*replies)[static_cast<std::size_t>(i)];
    if (i == 100) {
      EXPECT_TRUE(r.is_error()) << r.ToString();
      EXPECT_NE(r.str.find("DELAY must be an integer"), std::string::npos) << r.ToString();
      continue;
    }
    ASSERT_FALSE(r.is_error()) << i << ": " << r.ToString();
    EXPECT_TRUE(ids.insert(r.str).second) << r.str;
  }
  EXPECT_EQ((*replies)[kAdds].str, "ticket-1");
  EXPECT_EQ(ShowField((*replies)[kAdds + 1], "state"), "waiting")
      << (*replies)[kAdds + 1].ToString();
  EXPECT_EQ((*replies)[kAdds + 2].integer,
            1 + kAdds / 2 - 1);  // "first", and the even ones but 100
  const std::uint64_t writes = StoreWrites(Call(*on_a, {"INFO", "persistence"})) - writes_before;
  EXPECT_GT(writes, 0u);
  EXPECT_LT(writes, 40u) << "the 200 adds of a pipeline took " << writes << " transactions";
  // Each job is there, once, with its payload.
  resp::Reply shown = Call(*on_a, {"SHOW", *ids.begin()});
  EXPECT_NE(ShowField(shown, "payload").rfind("job ", 0), std::string::npos) << shown.ToString();
}

// Acknowledgements that wait for the database (here: a lock another session holds on the jobs
// table) wait on the broker's store-call threads, not on the I/O threads: eight of them wait
// at once, more than this machine has I/O threads, and other clients are still answered.
TEST_F(PostgresNodesTest, AcksWaitingForTheDatabaseLeaveTheIoThreadsFree) {
  Node a = StartNode("a");
  constexpr int kWorkers = 8;
  std::vector<std::unique_ptr<Client>> workers;
  std::vector<std::string> ids;
  for (int i = 0; i < kWorkers; ++i) {
    workers.push_back(Connect(a));
    ASSERT_TRUE(workers.back());
    ASSERT_FALSE(Call(*workers.back(), {"ADDJOB", "emails", "{}"}).is_error());
    resp::Reply taken = Call(*workers.back(), {"GETJOB", "NOHANG", "FROM", "emails"});
    ASSERT_EQ(taken.elements.size(), 1u) << taken.ToString();
    ids.push_back(taken.elements[0].elements[1].str);
  }
  const std::string bin_dir = server_->Psql("select setting from pg_config where name = 'BINDIR'");
  ASSERT_FALSE(bin_dir.empty());
  ChildProcess locker({"/usr/bin/env", "-i", bin_dir + "/psql", "-X", "-d", conninfo_, "-c",
                       "BEGIN; LOCK TABLE herald_jobs IN EXCLUSIVE MODE; SELECT pg_sleep(120)"},
                      dir_.Sub("locker.out"));
  const std::string waiting_for_lock = "select count(*) from pg_stat_activity where datname = '" +
                                       db_ + "' and wait_event_type = 'Lock'";
  const std::string holding =
      "select count(*) from pg_stat_activity where query like '%pg_sleep(120)%' and pid <> "
      "pg_backend_pid()";
  ASSERT_TRUE(Eventually([&] { return server_->Psql(holding) == "1"; }, 20s));
  for (int i = 0; i < kWorkers; ++i) {
    workers[static_cast<std::size_t>(i)]->Append({"ACKJOB", ids[static_cast<std::size_t>(i)]});
    ASSERT_TRUE(workers[static_cast<std::size_t>(i)]->ReadReplies(0).ok());  // sent only
  }
  // The acknowledgements wait in the database (grouped into the transactions that run at
  // once, the rest waiting for the next group)...
  ASSERT_TRUE(Eventually([&] { return server_->Psql(waiting_for_lock) != "0"; }, 20s))
      << server_->Psql(waiting_for_lock) << " waiting for the lock";
  // ...and another client is answered meanwhile.
  auto other = Connect(a);
  ASSERT_TRUE(other);
  auto pong = other->Command({"PING"});
  ASSERT_TRUE(pong.ok()) << "PING: " << pong.status().message();
  EXPECT_EQ(pong->str, "PONG");
  auto length = other->Command({"QLEN", "emails"});
  ASSERT_TRUE(length.ok()) << "QLEN: " << length.status().message();
  EXPECT_EQ(length->integer, 0);
  // The lock goes: each acknowledgement is answered, the jobs are completed.
  EXPECT_EQ(server_->Psql("select count(pg_terminate_backend(pid)) from pg_stat_activity where "
                          "query like '%pg_sleep(120)%' and pid <> pg_backend_pid()"),
            "1");
  for (int i = 0; i < kWorkers; ++i) {
    auto acked = workers[static_cast<std::size_t>(i)]->ReadReplies(1);
    ASSERT_TRUE(acked.ok()) << acked.status().message();
    EXPECT_EQ((*acked)[0].integer, 1) << (*acked)[0].ToString();
    EXPECT_EQ(ShowField(Call(*other, {"SHOW", ids[static_cast<std::size_t>(i)]}), "state"),
              "completed");
  }
}

TEST_F(PostgresNodesTest, ListsAndStringsAreRefusedWithAClearError) {
  Node a = StartNode("a");
  auto on_a = Connect(a);
  ASSERT_TRUE(on_a);
  resp::Reply pushed = Call(*on_a, {"LPUSH", "list", "x"});
  EXPECT_TRUE(pushed.is_error());
  EXPECT_NE(pushed.str.find("not kept by the postgres store backend"), std::string::npos)
      << pushed.ToString();
  EXPECT_TRUE(Call(*on_a, {"SET", "k", "v"}).is_error());
  EXPECT_TRUE(Call(*on_a, {"DBSIZE"}).is_error());
  EXPECT_EQ(Call(*on_a, {"PING"}).str, "PONG");
  resp::Reply info = Call(*on_a, {"INFO", "keyspace"});
  EXPECT_FALSE(info.is_error()) << info.ToString();
  EXPECT_EQ(Call(*on_a, {"ADDJOB", "emails", "{}"}).is_error(), false);
}

}  // namespace
}  // namespace herald::testing
