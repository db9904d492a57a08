// The PostgreSQL backend's own behaviour, beyond the store contract (store_contract_test.cc):
// adds, takes and acknowledgements grouped into shared transactions, the schema's version check,
// several nodes on one database (who holds a job, notices of work, the sweep of a stopped node's
// jobs), and a server that goes away and comes back. Against a real PostgreSQL of the test's own.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/postgres/postgres_store.h"
#include "tests/storage/store_fixture.h"
#include "tests/support/postgres_server.h"

namespace herald::storage {
namespace {

using namespace std::chrono_literals;

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    server_ = testing::SharedPostgresServer(&why_not);
    HERALD_SKIP_WITHOUT_POSTGRES(server_, why_not);
    static int databases = 0;
    db_ = "pgstore_" + std::to_string(++databases);
    ASSERT_EQ(server_->CreateDatabase(db_), "");
  }

  PostgresStoreOptions Options(const std::string& node) {
    PostgresStoreOptions options;
    options.conninfo = server_->ConnInfo(db_);
    options.node = node;
    options.logger = NullLogger();
    return options;
  }

  std::unique_ptr<Store> Open(PostgresStoreOptions options) {
    auto opened = OpenPostgresStore(std::move(options));
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  testing::PostgresServer* server_ = nullptr;
  std::string db_;
  std::int64_t now_ = kNow;
};

TEST_F(PostgresStoreTest, AddsOfManyCallersShareTransactions) {
  auto store = Open(Options("a"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->EnsureQueue("q").ok());
  const std::uint64_t writes_before = store->Writes();
  constexpr int kThreads = 8;
  constexpr int kEach = 50;
  std::atomic<int> added{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = store->Add("q", Payload("t" + std::to_string(t) + "-" + std::to_string(i)), now_);
        if (r.ok() && r->created) added.fetch_add(1);
      }
    });
  }
  // And adds in flight without a thread each, as the servers' event loops make them.
  std::mutex mu;
  std::condition_variable cv;
  int async_done = 0;
  for (int i = 0; i < 200; ++i) {
    store->AddAsync("q", Payload("async-" + std::to_string(i)), now_, [&](Result<AddResult> r) {
      std::lock_guard<std::mutex> lock(mu);
      if (r.ok() && r->created) ++async_done;
      cv.notify_all();
    });
  }
  for (auto& t : threads) t.join();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return async_done == 200; }));
  }
  EXPECT_EQ(added.load(), kThreads * kEach);
  EXPECT_EQ(store->Counts("q")->waiting, static_cast<std::uint64_t>(kThreads * kEach + 200));
  // 600 adds; each transaction is one write: they were grouped.
  const std::uint64_t writes = store->Writes() - writes_before;
  EXPECT_LT(writes, 600u) << writes;
  // The async ones keep their order.
  std::vector<std::string> async_order;
  while (true) {
    auto taken = store->Take("q", now_);
    ASSERT_TRUE(taken.ok());
    if (!taken->has_value()) break;
    if ((*taken)->payload.rfind("async-", 0) == 0) async_order.push_back((*taken)->payload);
  }
  ASSERT_EQ(async_order.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(async_order[i], "async-" + std::to_string(i));
}

TEST_F(PostgresStoreTest, TakesAndAcknowledgementsOfManyCallersShareTransactions) {
  auto store = Open(Options("a"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->EnsureQueue("q").ok());
  constexpr int kJobs = 400;
  std::vector<NewJob> jobs;
  for (int i = 0; i < kJobs; ++i) jobs.push_back(Payload(std::to_string(i)));
  ASSERT_TRUE(store->AddMany("q", std::move(jobs), now_).ok());
  const std::uint64_t writes_before = store->Writes();
  constexpr int kThreads = 8;
  std::mutex mu;
  std::set<std::string> completed;
  int twice = 0;
  std::atomic<std::uint64_t> calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string worker = "w" + std::to_string(t);
      while (true) {
        auto taken = store->Take("q", now_, worker);
        calls.fetch_add(1);
        ASSERT_TRUE(taken.ok()) << taken.status().ToString();
        if (!taken->has_value()) return;
        const std::string id = (*taken)->id;
        auto done = store->Complete(id, "sent", now_);
        calls.fetch_add(1);
        ASSERT_TRUE(done.ok()) << done.status().ToString();
        std::lock_guard<std::mutex> lock(mu);
        if (!completed.insert(id).second) ++twice;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(completed.size(), static_cast<std::size_t>(kJobs));
  EXPECT_EQ(twice, 0);
  auto counts = store->Counts("q");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->waiting, 0u);
  EXPECT_EQ(counts->active, 0u);
  EXPECT_EQ(counts->completed, static_cast<std::uint64_t>(kJobs));
  for (const std::string& id : completed) EXPECT_EQ(store->Get(id)->return_value, "sent");
  // Each transaction is one write: calls of different threads shared them.
  const std::uint64_t writes = store->Writes() - writes_before;
  EXPECT_LT(writes, calls.load()) << writes << " transactions for " << calls.load() << " calls";
}

TEST_F(PostgresStoreTest, AJobAcknowledgedByManyCallersAtOnceIsCompletedOnce) {
  auto store = Open(Options("a"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->EnsureQueue("q").ok());
  ASSERT_TRUE(store->Add("q", Payload("x"), now_).ok());
  auto taken = store->Take("q", now_, "w");
  ASSERT_TRUE(taken.ok() && taken->has_value());
  const std::string id = (*taken)->id;
  constexpr int kThreads = 8;
  std::atomic<int> ok{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto done = store->Complete(id, "by " + std::to_string(t), now_);
      if (done.ok()) {
        ok.fetch_add(1);
      } else if (done.status().IsInvalidArgument()) {
        refused.fetch_add(1);  // "is completed, not active"
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(refused.load(), kThreads - 1);
  EXPECT_EQ(store->Get(id)->state, JobState::kCompleted);
  EXPECT_EQ(store->Counts("q")->completed, 1u);
}

TEST_F(PostgresStoreTest, ASchemaNewerThanThisBuildIsRefused) {
  ASSERT_TRUE(Open(Options("a")));
  int code = 0;
  server_->Psql("INSERT INTO herald_migrations (version, applied_ms) VALUES (99, 0)", db_, &code);
  ASSERT_EQ(code, 0);
  auto opened = OpenPostgresStore(Options("a"));
  ASSERT_FALSE(opened.ok());
  EXPECT_TRUE(opened.status().IsInvalidArgument());
  EXPECT_NE(opened.status().message().find("newer Herald"), std::string::npos)
      << opened.status().ToString();
}

TEST_F(PostgresStoreTest, OnlyTheNodeThatHoldsAnActiveJobEndsIt) {
  auto a = Open(Options("a"));
  auto b = Open(Options("b"));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->EnsureQueue("q").ok());
  ASSERT_TRUE(a->Add("q", Payload("x"), now_).ok());
  auto taken = b->Take("q", now_, "w@b");
  ASSERT_TRUE(taken.ok() && taken->has_value());
  const std::string id = (*taken)->id;
  // b takes it; a can see it, not end it.
  EXPECT_EQ(a->Get(id)->state, JobState::kActive);
  Status by_a = a->Complete(id, "", now_).status();
  EXPECT_TRUE(by_a.IsInvalidArgument());
  EXPECT_NE(by_a.message().find("held by node b"), std::string::npos) << by_a.ToString();
  EXPECT_TRUE(a->Requeue(id, "no", now_).status().IsInvalidArgument());
  EXPECT_TRUE(b->Complete(id, "done", now_).ok());
  EXPECT_EQ(a->Get(id)->return_value, "done");
}

TEST_F(PostgresStoreTest, OtherNodesHearOfWorkAndAStoreNotOfItsOwn) {
  auto a = Open(Options("a"));
  auto b = Open(Options("b"));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->EnsureQueue("q").ok());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, std::int64_t>> heard_by_b;
  int heard_by_a = 0;
  b->SetWorkListener([&](std::string_view queue, std::int64_t due) {
    std::lock_guard<std::mutex> lock(mu);
    heard_by_b.emplace_back(std::string(queue), due);
    cv.notify_all();
  });
  a->SetWorkListener([&](std::string_view, std::int64_t) {
    std::lock_guard<std::mutex> lock(mu);
    ++heard_by_a;
  });
  std::this_thread::sleep_for(300ms);  // both listening
  ASSERT_TRUE(a->Add("q", Payload("now"), now_).ok());
  NewJob later = Payload("later");
  later.due_ms = now_ + 60000;
  ASSERT_TRUE(a->Add("q", later, now_).ok());
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return heard_by_b.size() >= 2; }));
    EXPECT_EQ(heard_by_b[0], (std::pair<std::string, std::int64_t>("q", 0)));
    EXPECT_EQ(heard_by_b[1], (std::pair<std::string, std::int64_t>("q", now_ + 60000)));
  }
  std::this_thread::sleep_for(300ms);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(heard_by_a, 0);
  }
  a->SetWorkListener(nullptr);
  b->SetWorkListener(nullptr);
}

TEST_F(PostgresStoreTest, AStoppedNodesJobsAreSweptBackByALiveOne) {
  std::string id;
  {
    PostgresStoreOptions options = Options("gone");
    options.heartbeat_ms = 50;
    auto gone = Open(options);
    ASSERT_TRUE(gone);
    ASSERT_TRUE(gone->EnsureQueue("q").ok());
    NewJob job = Payload("x");
    job.max_attempts = 3;
    ASSERT_TRUE(gone->Add("q", job, now_).ok());
    auto taken = gone->Take("q", now_, "local:0");
    ASSERT_TRUE(taken.ok() && taken->has_value());
    id = (*taken)->id;
  }  // closed with the job active: it stopped holding it
  PostgresStoreOptions options = Options("alive");
  options.heartbeat_ms = 50;
  options.node_timeout_ms = 400;
  auto alive = Open(options);
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->Get(id)->state, JobState::kActive);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (alive->Get(id)->state == JobState::kActive &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  Job job = alive->Get(id).value();
  EXPECT_EQ(job.state, JobState::kWaiting);
  EXPECT_EQ(job.last_error, "stalled: worker lost (node gone stopped)");
  ASSERT_EQ(job.history.size(), 1u);
  EXPECT_EQ(job.history[0].outcome, AttemptOutcome::kStalled);
  auto again = alive->Take("q", now_, "local:1");
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->attempts_made, 2u);
}

TEST_F(PostgresStoreTest, ANodeThatStopsCleanlySaysSoAndItsJobsComeBackAtTheNextSweep) {
  PostgresStoreOptions options = Options("alive");
  options.heartbeat_ms = 50;
  options.node_timeout_ms = 500;
  auto alive = Open(options);
  ASSERT_TRUE(alive);
  ASSERT_TRUE(alive->EnsureQueue("q").ok());
  std::string id;
  {
    PostgresStoreOptions leaving_options = Options("leaving");
    leaving_options.heartbeat_ms = 50;
    auto leaving = Open(leaving_options);
    ASSERT_TRUE(leaving);
    ASSERT_TRUE(leaving->Add("q", Payload("held by a remote worker"), now_).ok());
    auto taken = leaving->Take("q", now_, "worker@10.0.0.7");
    ASSERT_TRUE(taken.ok() && taken->has_value());
    id = (*taken)->id;
  }  // a clean stop with the job still active
  // Its heartbeat says it stopped: the sweep need not wait for node_timeout_ms.
  EXPECT_EQ(server_->Psql("SELECT heartbeat_ms FROM herald_nodes WHERE name = 'leaving'", db_),
            "0");
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (alive->Get(id)->state == JobState::kActive &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  Job job = alive->Get(id).value();
  EXPECT_EQ(job.state, JobState::kWaiting);
  EXPECT_EQ(job.last_error, "stalled: worker lost (node leaving stopped)");
}

TEST_F(PostgresStoreTest, ASessionThatIsKilledCostsOneCallAndTheNextReconnects) {
  PostgresStoreOptions options = Options("a");
  options.connections = 1;
  auto store = Open(options);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->EnsureQueue("q").ok());
  server_->Psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db_ +
                    "' AND pid <> pg_backend_pid()",
                db_);
  std::this_thread::sleep_for(200ms);
  int failed = 0;
  std::string id;
  for (int i = 0; i < 5 && id.empty(); ++i) {
    auto added = store->Add("q", Payload("x"), now_);
    if (added.ok()) {
      id = added->id;
    } else {
      EXPECT_TRUE(added.status().IsIOError()) << added.status().ToString();
      ++failed;
    }
  }
  ASSERT_FALSE(id.empty());
  EXPECT_LE(failed, 1);
  EXPECT_TRUE(store->WriteHealth().ok());
  EXPECT_EQ(store->Get(id)->payload, "x");
}

TEST_F(PostgresStoreTest, WithTheServerDownCallsFailAndAfterItWhatWasAddedIsThere) {
  auto store = Open(Options("a"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->EnsureQueue("q").ok());
  auto before = store->Add("q", Payload("before"), now_);
  ASSERT_TRUE(before.ok());
  server_->Kill();
  auto during = store->Add("q", Payload("during"), now_);
  EXPECT_FALSE(during.ok());
  EXPECT_TRUE(during.status().IsIOError()) << during.status().ToString();
  EXPECT_FALSE(store->WriteHealth().ok());
  EXPECT_FALSE(store->Get(before->id).ok());
  ASSERT_TRUE(server_->Restart());
  Result<AddResult> after = Status::Internal("not tried");
  for (int i = 0; i < 20 && !after.ok(); ++i) {
    after = store->Add("q", Payload("after"), now_);
    if (!after.ok()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_TRUE(store->WriteHealth().ok());
  EXPECT_EQ(store->Get(before->id)->payload, "before");
  EXPECT_EQ(store->Counts("q")->waiting, 2u);
}

}  // namespace
}  // namespace herald::storage
