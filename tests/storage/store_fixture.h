// StoreFixture: what the tests of a Store hold and do: a store of either backend opened on
// options_ (reopened to see what survives), adds, takes and counts that expect success.
// store_contract_test.cc runs its tests against both backends; store_test.cc holds the
// embedded store's own.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/postgres/postgres_store.h"
#include "storage/store.h"
#include "tests/support/temp_dir.h"

namespace herald::storage {

// kPostgresClusters: two databases behind one store by a queue map (OpenPostgresClusters):
// queue "q" on the second, the others by hash of their names.
enum class Backend { kEmbedded, kPostgres, kPostgresClusters };

inline constexpr std::int64_t kNow = 1'700'000'000'000;

inline std::shared_ptr<spdlog::logger> NullLogger() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

inline NewJob Payload(std::string payload, std::uint32_t priority = 0) {
  NewJob job;
  job.payload = std::move(payload);
  job.priority = priority;
  return job;
}

class StoreFixture {
 protected:
  // Opens store_ (closing the one open first) on the backend with options_: the embedded store
  // in options_.data_dir, or PostgreSQL at pg_conninfo_ (and pg_second_conninfo_) as node
  // "test".
  void Open() {
    store_.reset();
    Result<std::unique_ptr<Store>> opened = Status::Internal("no backend");
    if (backend_ == Backend::kPostgres) {
      PostgresStoreOptions pg;
      pg.conninfo = pg_conninfo_;
      pg.node = "test";
      pg.completed_retention = options_.completed_retention;
      pg.logger = options_.logger;
      opened = OpenPostgresStore(std::move(pg));
    } else if (backend_ == Backend::kPostgresClusters) {
      PostgresClustersOptions map;
      map.clusters = {{"first", pg_conninfo_}, {"second", pg_second_conninfo_}};
      map.queues = {{"q", "second"}};
      map.each.node = "test";
      map.each.completed_retention = options_.completed_retention;
      map.each.logger = options_.logger;
      opened = OpenPostgresClusters(std::move(map));
    } else {
      opened = Store::Open(options_);
    }
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  void Reopen() { Open(); }
  void Close() { store_.reset(); }

  std::string Add(NewJob job, const std::string& queue = "q") {
    auto added = store_->Add(queue, std::move(job), now_);
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    return added.ok() ? added->id : "";
  }
  std::string Add(const std::string& payload, std::uint32_t priority = 0) {
    return Add(Payload(payload, priority));
  }
  std::string AddDelayed(const std::string& payload, std::int64_t due_ms) {
    NewJob job = Payload(payload);
    job.due_ms = due_ms;
    return Add(std::move(job));
  }
  Job TakeOne(const std::string& queue = "q") {
    auto taken = store_->Take(queue, now_);
    EXPECT_TRUE(taken.ok()) << taken.status().ToString();
    EXPECT_TRUE(taken.ok() && taken->has_value()) << "nothing to take";
    return taken.ok() && taken->has_value() ? **taken : Job{};
  }
  // Takes the first job of `queue` for `worker` (who runs it, as its attempt records).
  Job TakeAs(const std::string& worker, const std::string& queue = "q") {
    auto taken = store_->Take(queue, now_, worker);
    EXPECT_TRUE(taken.ok()) << taken.status().ToString();
    EXPECT_TRUE(taken.ok() && taken->has_value()) << "nothing to take";
    return taken.ok() && taken->has_value() ? **taken : Job{};
  }
  std::string TakePayload() { return TakeOne().payload; }
  bool QueueEmpty(const std::string& queue = "q") {
    auto taken = store_->Take(queue, now_);
    EXPECT_TRUE(taken.ok());
    return taken.ok() && !taken->has_value();
  }
  QueueCounts Counts(const std::string& queue = "q") {
    auto counts = store_->Counts(queue);
    EXPECT_TRUE(counts.ok());
    return counts.ok() ? *counts : QueueCounts{};
  }
  // Adds n jobs to "q", then 4 threads call take(thread) until it hands out nothing; every
  // job must be handed out exactly once, and all of them end up active.
  void ExpectConcurrentTakesHandOutEachJobOnce(
      int n, const std::function<std::vector<Job>(int thread)>& take) {
    std::vector<NewJob> batch;
    for (int i = 0; i < n; ++i) batch.push_back(Payload(std::to_string(i)));
    ASSERT_TRUE(store_->AddMany("q", std::move(batch), now_).ok());
    std::mutex mu;
    std::set<std::string> seen;
    std::atomic<int> duplicates{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        while (true) {
          std::vector<Job> jobs = take(t);
          if (jobs.empty()) return;
          std::lock_guard<std::mutex> lock(mu);
          for (const Job& job : jobs) {
            if (!seen.insert(job.id).second) duplicates.fetch_add(1);
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(duplicates.load(), 0);
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(Counts().active, static_cast<std::uint64_t>(n));
  }

  JobState StateOf(const std::string& id) {
    auto job = store_->Get(id);
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    return job.ok() ? job->state : JobState::kWaiting;
  }

  Backend backend_ = Backend::kEmbedded;
  std::string pg_conninfo_;         // kPostgres: the test's own database
  std::string pg_second_conninfo_;  // kPostgresClusters: the second cluster's
  testing::TempDir dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
  std::int64_t now_ = kNow;
};

inline void ExpectAttempt(const Attempt& a, std::int64_t started_ms, std::int64_t ended_ms,
                          AttemptOutcome outcome, const std::string& error,
                          const std::string& worker, std::int64_t backoff_ms = 0,
                          std::int64_t next_due_ms = 0) {
  EXPECT_EQ(a.started_ms, started_ms);
  EXPECT_EQ(a.ended_ms, ended_ms);
  EXPECT_EQ(AttemptOutcomeName(a.outcome), AttemptOutcomeName(outcome));
  EXPECT_EQ(a.error, error);
  EXPECT_EQ(a.worker, worker);
  EXPECT_EQ(a.backoff_ms, backoff_ms);
  EXPECT_EQ(a.next_due_ms, next_due_ms);
}

}  // namespace herald::storage
