#include "storage/store.h"
#include "storage/store_check.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/perf_context.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/count_merge.h"
#include "storage/keys.h"
#include "storage/kv_store.h"
#include "storage/queue_index.h"
#include "tests/support/temp_dir.h"

namespace herald::storage {
namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;

std::shared_ptr<spdlog::logger> NullLogger() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

NewJob Payload(std::string payload, std::uint32_t priority = 0) {
  NewJob job;
  job.payload = std::move(payload);
  job.priority = priority;
  return job;
}

// Opens a raw RocksDB handle on a closed store's directory, to damage or inspect it the way
// only a bug or a disk could.
class RawDb {
 public:
  explicit RawDb(const std::string& dir) {
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& n : names) {
      // Queue families hold counters summed by their merge operator (storage/count_merge.h).
      rocksdb::ColumnFamilyOptions cf;
      if (keys::QueueOfCfName(n)) cf.merge_operator = std::make_shared<CountMergeOperator>();
      descriptors.emplace_back(n, cf);
    }
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(), dir, descriptors, &handles_, &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(raw);
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close().PermitUncheckedError();
  }
  rocksdb::ColumnFamilyHandle* Cf(const std::string& name) {
    for (auto* h : handles_) {
      if (h->GetName() == name) return h;
    }
    return nullptr;
  }
  void Put(const std::string& cf, const std::string& key, const std::string& value) {
    ASSERT_NE(Cf(cf), nullptr) << cf;
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), Cf(cf), key, value).ok());
  }
  std::optional<std::string> Get(const std::string& cf, const std::string& key) {
    std::string value;
    if (Cf(cf) == nullptr || !db_->Get(rocksdb::ReadOptions(), Cf(cf), key, &value).ok()) {
      return std::nullopt;
    }
    return value;
  }
  void Delete(const std::string& cf, const std::string& key) {
    ASSERT_NE(Cf(cf), nullptr) << cf;
    ASSERT_TRUE(db_->Delete(rocksdb::WriteOptions(), Cf(cf), key).ok());
  }
  void CreateCf(const std::string& name) {
    rocksdb::ColumnFamilyHandle* h = nullptr;
    ASSERT_TRUE(db_->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), name, &h).ok());
    handles_.push_back(h);
  }
  rocksdb::DB* db() { return db_.get(); }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.data_dir = dir_.Sub("db");
    options_.fsync = FsyncMode::kNo;
    options_.logger = NullLogger();
    Open();
    ASSERT_TRUE(store_->EnsureQueue("q").ok());
  }

  void Open() {
    store_.reset();
    auto opened = Store::Open(options_);
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

  testing::TempDir dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
  std::int64_t now_ = kNow;
};

// ---- Open and the queue registry --------------------------------------------------------------

TEST_F(StoreTest, OpenCreatesMissingDirectories) {
  StoreOptions options = options_;
  options.data_dir = dir_.Sub("a/b/c");
  auto opened = Store::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(dir_.Sub("a/b/c/CURRENT")));
}

TEST_F(StoreTest, OpenWithoutDataDirIsInvalidArgument) {
  StoreOptions options;
  auto opened = Store::Open(options);
  ASSERT_FALSE(opened.ok());
  EXPECT_TRUE(opened.status().IsInvalidArgument());
}

TEST_F(StoreTest, EnsureQueueRejectsBadNames) {
  EXPECT_TRUE(store_->EnsureQueue("").IsInvalidArgument());
  EXPECT_TRUE(store_->EnsureQueue(std::string(65, 'a')).IsInvalidArgument());
  EXPECT_TRUE(store_->EnsureQueue("has space").IsInvalidArgument());
  EXPECT_TRUE(store_->EnsureQueue("slash/no").IsInvalidArgument());
  EXPECT_TRUE(store_->EnsureQueue("ok_name.v1:x-y").ok());
  EXPECT_TRUE(store_->EnsureQueue(std::string(64, 'a')).ok());
}

TEST_F(StoreTest, QueuesAreListedSortedAndSurviveReopen) {
  ASSERT_TRUE(store_->EnsureQueue("emails").ok());
  ASSERT_TRUE(store_->EnsureQueue("tickets").ok());
  ASSERT_TRUE(store_->EnsureQueue("emails").ok());  // idempotent
  std::vector<std::string> expected = {"emails", "q", "tickets"};
  EXPECT_EQ(store_->ListQueues(), expected);
  Reopen();
  EXPECT_EQ(store_->ListQueues(), expected);
  EXPECT_TRUE(store_->HasQueue("emails"));
  EXPECT_FALSE(store_->HasQueue("nope"));
}

TEST_F(StoreTest, ColumnFamilyWithoutRegistryRowIsDroppedAtOpen) {
  Close();
  {
    RawDb raw(options_.data_dir);
    raw.CreateCf("q.ghost");
  }
  Open();
  EXPECT_FALSE(store_->HasQueue("ghost"));
  Close();
  std::vector<std::string> names;
  ASSERT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), options_.data_dir, &names).ok());
  EXPECT_EQ(std::count(names.begin(), names.end(), "q.ghost"), 0);
  EXPECT_EQ(std::count(names.begin(), names.end(), "q.q"), 1);
}

TEST_F(StoreTest, RegistryRowWithoutColumnFamilyRecreatesIt) {
  Close();
  {
    RawDb raw(options_.data_dir);
    raw.Put("meta", keys::QueueRegistryKey("orphan"), keys::EncodeQueueRow(1));
  }
  Open();
  EXPECT_TRUE(store_->HasQueue("orphan"));
  std::string id = Add(Payload("x"), "orphan");
  EXPECT_EQ(TakeOne("orphan").id, id);
}

TEST_F(StoreTest, NewerFormatVersionRefusesToOpen) {
  Close();
  {
    RawDb raw(options_.data_dir);
    raw.Put("meta", std::string(keys::kFormatKey), keys::EncodeFormatVersion(99));
  }
  auto opened = Store::Open(options_);
  ASSERT_FALSE(opened.ok());
  EXPECT_TRUE(opened.status().IsCorruption());
  EXPECT_NE(opened.status().message().find("format version 99"), std::string::npos);
}

// ---- Add --------------------------------------------------------------------------------------

TEST_F(StoreTest, AddToUnknownQueueIsNotFound) {
  auto added = store_->Add("missing", Payload("x"), now_);
  ASSERT_FALSE(added.ok());
  EXPECT_TRUE(added.status().IsNotFound());
}

TEST_F(StoreTest, AddGeneratesIncreasingDecimalIds) {
  std::string a = Add("a");
  std::string b = Add("b");
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(std::all_of(a.begin(), a.end(), ::isdigit));
  EXPECT_LT(std::stoull(a), std::stoull(b));
  auto job = store_->Get(a);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->payload, "a");
  EXPECT_EQ(job->queue, "q");
  EXPECT_EQ(job->state, JobState::kWaiting);
  EXPECT_EQ(job->created_ms, kNow);
  EXPECT_EQ(job->attempts_made, 0u);
  EXPECT_FALSE(job->custom_id);
  EXPECT_EQ(std::to_string(job->seq), a);
}

// Adds in flight without a thread each (an event loop's, a pipelining producer's): in
// `always` mode the callbacks come after the sync, many adds per sync, in the order added.
TEST_F(StoreTest, AddAsyncInAlwaysModeCallsBackOnceDurableInOrder) {
  Close();
  options_.fsync = FsyncMode::kAlways;
  Open();
  constexpr int kAdds = 400;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> ids;
  std::vector<Status> errors;
  for (int i = 0; i < kAdds; ++i) {
    store_->AddAsync("q", Payload("p" + std::to_string(i)), now_, [&](Result<AddResult> added) {
      std::lock_guard<std::mutex> lock(mu);
      if (added.ok()) {
        ids.push_back(added->id);
      } else {
        errors.push_back(added.status());
      }
      cv.notify_all();
    });
  }
  NewJob custom = Payload("custom");
  custom.id = "order-1";
  store_->AddAsync("q", custom, now_,
                   [&](Result<AddResult> added) { EXPECT_TRUE(added.ok() && added->created); });
  store_->AddAsync("nope", Payload("x"), now_, [&](Result<AddResult> added) {
    std::lock_guard<std::mutex> lock(mu);
    errors.push_back(added.status());
    cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30),
                            [&] { return ids.size() + errors.size() == kAdds + 1; }));
  }
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(errors.front().IsNotFound()) << errors.front().ToString();
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kAdds));
  Reopen();  // durable: all there, in the order added
  for (int i = 0; i < kAdds; ++i) {
    Job job = TakeOne();
    ASSERT_EQ(job.id, ids[static_cast<std::size_t>(i)]);
    ASSERT_EQ(job.payload, "p" + std::to_string(i));
  }
  EXPECT_EQ(TakeOne().id, "order-1");
  // The same id again: nothing new, the existing job reported.
  bool called = false;
  store_->AddAsync("q", custom, now_, [&](Result<AddResult> added) {
    called = true;
    EXPECT_TRUE(added.ok() && !added->created);
  });
  EXPECT_TRUE(called);  // nothing to write: answered at once
}

TEST_F(StoreTest, AddAsyncOutsideAlwaysModeCallsBackBeforeReturning) {
  bool called = false;
  store_->AddAsync("q", Payload("now"), now_, [&](Result<AddResult> added) {
    called = true;
    EXPECT_TRUE(added.ok());
  });
  EXPECT_TRUE(called);
  EXPECT_EQ(TakePayload(), "now");
}

TEST_F(StoreTest, AddRejectsBadCallerIds) {
  NewJob digits = Payload("x");
  digits.id = "12345";
  EXPECT_TRUE(store_->Add("q", digits, now_).status().IsInvalidArgument());
  NewJob too_long = Payload("x");
  too_long.id = std::string(257, 'a');
  EXPECT_TRUE(store_->Add("q", too_long, now_).status().IsInvalidArgument());
  NewJob nul_first = Payload("x");
  nul_first.id = std::string("\0abc", 4);
  Status nul = store_->Add("q", nul_first, now_).status();
  EXPECT_TRUE(nul.IsInvalidArgument());
  EXPECT_NE(nul.ToString().find("NUL"), std::string::npos) << nul.ToString();
  NewJob nul_inside = Payload("x");
  nul_inside.id = std::string("a\0b", 3);
  EXPECT_TRUE(store_->Add("q", nul_inside, now_).ok());
  NewJob longest = Payload("x");
  longest.id = std::string(256, 'a');
  EXPECT_TRUE(store_->Add("q", longest, now_).ok());
  NewJob zero_attempts = Payload("x");
  zero_attempts.max_attempts = 0;
  EXPECT_TRUE(store_->Add("q", zero_attempts, now_).status().IsInvalidArgument());
  EXPECT_EQ(Counts().waiting, 2u);
}

TEST_F(StoreTest, AddWithExistingIdCreatesNothing) {
  NewJob job = Payload("first");
  job.id = "evt-1";
  auto first = store_->Add("q", job, now_);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->id, "evt-1");
  job.payload = "second";
  auto again = store_->Add("q", job, now_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->id, "evt-1");
  EXPECT_EQ(again->state, JobState::kWaiting);
  EXPECT_EQ(store_->Get("evt-1")->payload, "first");
  EXPECT_EQ(Counts().waiting, 1u);
  EXPECT_TRUE(store_->Get("evt-1")->custom_id);
}

TEST_F(StoreTest, AddWithExistingIdReportsItsCurrentState) {
  NewJob job = Payload("x");
  job.id = "evt-2";
  ASSERT_TRUE(store_->Add("q", job, now_).ok());
  TakeOne();
  auto again = store_->Add("q", job, now_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->state, JobState::kActive);
}

TEST_F(StoreTest, AddManyDedupesWithinTheBatchAndAgainstTheStore) {
  NewJob existing = Payload("old");
  existing.id = "dup";
  ASSERT_TRUE(store_->Add("q", existing, now_).ok());
  std::vector<NewJob> jobs;
  jobs.push_back(Payload("gen1"));
  NewJob a = Payload("a1");
  a.id = "a";
  jobs.push_back(a);
  NewJob a2 = Payload("a2");
  a2.id = "a";
  jobs.push_back(a2);
  NewJob d = Payload("d");
  d.id = "dup";
  jobs.push_back(d);
  jobs.push_back(Payload("gen2"));
  auto added = store_->AddMany("q", jobs, now_);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  ASSERT_EQ(added->size(), 5u);
  EXPECT_TRUE((*added)[0].created);
  EXPECT_TRUE((*added)[1].created);
  EXPECT_FALSE((*added)[2].created);
  EXPECT_FALSE((*added)[3].created);
  EXPECT_TRUE((*added)[4].created);
  EXPECT_EQ(store_->Get("a")->payload, "a1");
  EXPECT_EQ(Counts().waiting, 4u);  // dup, gen1, a, gen2
}

TEST_F(StoreTest, ConcurrentAddsOfOneIdCreateItOnce) {
  constexpr int kThreads = 8;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        NewJob job = Payload("from " + std::to_string(t));
        job.id = "same-" + std::to_string(i);
        auto added = store_->Add("q", job, now_);
        if (added.ok() && added->created) created.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 50);
  EXPECT_EQ(Counts().waiting, 50u);
}

// ---- Take order -------------------------------------------------------------------------------

TEST_F(StoreTest, TakeIsFifoWithinPriorityAndLowerPriorityFirst) {
  Add("p2-a", 2);
  Add("p0-a", 0);
  Add("p1-a", 1);
  Add("p0-b", 0);
  Add("p2-b", 2);
  Add("p0-c", 0);
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) order.push_back(TakePayload());
  EXPECT_EQ(order, (std::vector<std::string>{"p0-a", "p0-b", "p0-c", "p1-a", "p2-a", "p2-b"}));
  EXPECT_TRUE(QueueEmpty());
}

TEST_F(StoreTest, TakeSeesAHigherPriorityJobAddedAfterTheHeadWasRead) {
  for (int i = 0; i < 10; ++i) Add("p5-" + std::to_string(i), 5);
  EXPECT_EQ(TakePayload(), "p5-0");  // the head now holds p5-1..p5-9 in memory
  Add("urgent", 0);
  EXPECT_EQ(TakePayload(), "urgent");
  EXPECT_EQ(TakePayload(), "p5-1");
}

TEST_F(StoreTest, TakeMarksActiveCountsTheAttemptAndStampsProcessedTime) {
  std::string id = Add("x");
  now_ += 500;
  Job job = TakeOne();
  EXPECT_EQ(job.id, id);
  EXPECT_EQ(job.state, JobState::kActive);
  EXPECT_EQ(job.attempts_made, 1u);
  EXPECT_EQ(job.processed_ms, kNow + 500);
  auto stored = store_->Get(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, JobState::kActive);
  EXPECT_EQ(stored->attempts_made, 1u);
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.waiting, 0u);
  EXPECT_EQ(counts.active, 1u);
}

TEST_F(StoreTest, TakeFromEmptyQueueIsNullopt) {
  EXPECT_TRUE(QueueEmpty());
  EXPECT_TRUE(store_->Take("missing", now_).status().IsNotFound());
}

TEST_F(StoreTest, TakeIgnoresThePauseFlag) {
  Add("x");
  ASSERT_TRUE(store_->SetPaused("q", true).ok());
  EXPECT_EQ(TakePayload(), "x");
}

TEST_F(StoreTest, TakeSkipsTombstonesAfterTwentyThousandConsumed) {
  constexpr int kJobs = 20000;
  std::vector<NewJob> batch;
  for (int i = 0; i < kJobs; ++i) batch.push_back(Payload("j" + std::to_string(i)));
  ASSERT_TRUE(store_->AddMany("q", std::move(batch), now_).ok());
  for (int i = 0; i < kJobs; ++i) {
    Job job = TakeOne();
    ASSERT_EQ(job.payload, "j" + std::to_string(i));
    ASSERT_TRUE(store_->Complete(job.id, "", now_).ok());
  }
  std::string id = Add("after");
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  Job job = TakeOne();
  std::uint64_t skipped = rocksdb::get_perf_context()->internal_delete_skipped_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  EXPECT_EQ(job.id, id);
  // Without the in-memory head this seek steps over 20000 deleted "w|" keys.
  EXPECT_LT(skipped, 300u);
  EXPECT_TRUE(QueueEmpty());
  QueueCounts counts = Counts();
  // The default retention of 1000, trimmed in groups of up to 1000/16.
  EXPECT_GE(counts.completed, 1000u);
  EXPECT_LE(counts.completed, 1000u + 1000u / 16);
  EXPECT_EQ(counts.active, 1u);
}

TEST_F(StoreTest, ConcurrentTakersNeverGetTheSameJob) {
  ExpectConcurrentTakesHandOutEachJobOnce(2000, [&](int) {
    auto taken = store_->Take("q", now_);
    std::vector<Job> jobs;
    if (taken.ok() && taken->has_value()) jobs.push_back(std::move(**taken));
    return jobs;
  });
}

TEST_F(StoreTest, TakeManyTakesInTakeOrderAndStopsWhenTheQueueIsEmpty) {
  for (int i = 0; i < 5; ++i) Add("low" + std::to_string(i), 1);
  Add("high", 0);
  auto taken = store_->TakeMany("q", 4, now_);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  ASSERT_EQ(taken->size(), 4u);
  EXPECT_EQ((*taken)[0].payload, "high");
  EXPECT_EQ((*taken)[1].payload, "low0");
  EXPECT_EQ((*taken)[3].payload, "low2");
  for (const Job& job : *taken) {
    EXPECT_EQ(job.state, JobState::kActive);
    EXPECT_EQ(job.attempts_made, 1u);
    EXPECT_EQ(StateOf(job.id), JobState::kActive);
  }
  auto rest = store_->TakeMany("q", 10, now_);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[1].payload, "low4");
  auto none = store_->TakeMany("q", 10, now_);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.waiting, 0u);
  EXPECT_EQ(counts.active, 6u);
}

TEST_F(StoreTest, TakeManyReadsPastOneHeadfulAndSurvivesReopenAsActive) {
  constexpr int kJobs = 1500;  // more than the in-memory head holds
  std::vector<NewJob> batch;
  for (int i = 0; i < kJobs; ++i) {
    batch.push_back(Payload(std::to_string(i)));
    batch.back().max_attempts = 3;
  }
  ASSERT_TRUE(store_->AddMany("q", std::move(batch), now_).ok());
  Reopen();  // the head starts empty: every take reads the index
  auto taken = store_->TakeMany("q", 1200, now_);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  ASSERT_EQ(taken->size(), 1200u);
  for (int i = 0; i < 1200; ++i) ASSERT_EQ((*taken)[i].payload, std::to_string(i));
  EXPECT_EQ(Counts().active, 1200u);
  EXPECT_EQ(Counts().waiting, 300u);
  Reopen();  // the 1200 active jobs are waiting again, ahead of the rest, attempt counted
  EXPECT_EQ(Counts().active, 0u);
  EXPECT_EQ(store_->recovered_active(), 1200u);
  EXPECT_EQ(Counts().waiting, static_cast<std::uint64_t>(kJobs));
  Job first = TakeOne();
  EXPECT_EQ(first.payload, "0");
  EXPECT_EQ(first.attempts_made, 2u);
}

TEST_F(StoreTest, ConcurrentTakeManyNeverHandsOutAJobTwice) {
  ExpectConcurrentTakesHandOutEachJobOnce(3000, [&](int thread) {
    auto taken = store_->TakeMany("q", static_cast<std::size_t>(1 + thread * 7), now_);
    return taken.ok() ? std::move(taken).value() : std::vector<Job>();
  });
}

TEST_F(StoreTest, CompleteManyCompletesEachActiveJobAndReportsTheOthers) {
  std::string a = Add("a");
  std::string b = Add("b");
  std::string waiting = Add("c", 5);  // taken last
  auto taken = store_->TakeMany("q", 2, now_);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 2u);
  now_ += 7;
  std::vector<Completion> done{{a, "ra"}, {"nope", ""}, {waiting, ""}, {b, "rb"}, {a, "again"}};
  auto results = store_->CompleteMany(std::move(done), now_);
  ASSERT_EQ(results.size(), 5u);
  ASSERT_TRUE(results[0].ok()) << results[0].status().ToString();
  EXPECT_EQ(results[0]->return_value, "ra");
  EXPECT_EQ(results[0]->finished_ms, kNow + 7);
  EXPECT_TRUE(results[1].status().IsNotFound());
  EXPECT_EQ(results[2].status().message(), "job " + waiting + " is waiting, not active");
  ASSERT_TRUE(results[3].ok());
  EXPECT_EQ(results[3]->state, JobState::kCompleted);
  EXPECT_TRUE(results[4].status().IsInvalidArgument());
  Reopen();
  auto stored = store_->Get(b);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, JobState::kCompleted);
  EXPECT_EQ(stored->return_value, "rb");
  EXPECT_EQ(store_->Get(a)->return_value, "ra");
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.completed, 2u);
  EXPECT_EQ(counts.active, 0u);
  EXPECT_EQ(counts.waiting, 1u);
}

TEST_F(StoreTest, CompleteAndTakeCompletesAndTakesTheNextInOneGo) {
  ASSERT_TRUE(store_->EnsureQueue("other").ok());
  std::string a = Add("a");
  NewJob job_b = Payload("b");
  job_b.max_attempts = 3;  // survives the restart below as waiting, not failed
  std::string b = Add(std::move(job_b), "other");
  std::string c = Add(Payload("c"), "other");
  TakeOne();
  auto result = store_->CompleteAndTake({a, "done"}, "other", now_);
  ASSERT_TRUE(result.completed.ok()) << result.completed.status().ToString();
  EXPECT_EQ(result.completed->state, JobState::kCompleted);
  EXPECT_EQ(result.completed->return_value, "done");
  ASSERT_TRUE(result.next.has_value());
  EXPECT_EQ(result.next->id, b);
  EXPECT_EQ(result.next->state, JobState::kActive);
  EXPECT_EQ(result.next->attempts_made, 1u);
  Reopen();  // both halves were written
  EXPECT_EQ(StateOf(a), JobState::kCompleted);
  EXPECT_EQ(Counts("other").waiting, 2u);  // b was active: waiting again after the restart
  EXPECT_EQ(store_->Get(b)->attempts_made, 1u);
  EXPECT_EQ(TakeOne("other").id, b);
  EXPECT_EQ(TakeOne("other").id, c);
  // Nothing left to take: the completion still happens.
  auto last = store_->CompleteAndTake({b, ""}, "other", now_);
  ASSERT_TRUE(last.completed.ok());
  EXPECT_FALSE(last.next.has_value());
  EXPECT_EQ(Counts("other").active, 1u);
}

TEST_F(StoreTest, CompleteAndTakeTakesNothingWhenTheCompletionFails) {
  std::string a = Add("a");
  auto result = store_->CompleteAndTake({a, ""}, "q", now_);  // a is waiting, not active
  EXPECT_TRUE(result.completed.status().IsInvalidArgument());
  EXPECT_FALSE(result.next.has_value());
  EXPECT_EQ(Counts().waiting, 1u);
  EXPECT_EQ(Counts().active, 0u);
}

TEST_F(StoreTest, CompleteManyAcrossQueues) {
  ASSERT_TRUE(store_->EnsureQueue("other").ok());
  std::string a = Add("a");
  std::string b = Add(Payload("b"), "other");
  TakeOne();
  TakeOne("other");
  auto results = store_->CompleteMany({{a, "1"}, {b, "2"}}, now_);
  ASSERT_TRUE(results[0].ok());
  ASSERT_TRUE(results[1].ok());
  EXPECT_EQ(Counts().completed, 1u);
  EXPECT_EQ(Counts("other").completed, 1u);
}

// ---- Transitions ------------------------------------------------------------------------------

TEST_F(StoreTest, CompleteMovesActiveToCompletedWithReturnValue) {
  std::string id = Add("x");
  TakeOne();
  now_ += 10;
  auto done = store_->Complete(id, "sent", now_);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->state, JobState::kCompleted);
  EXPECT_EQ(done->finished_ms, kNow + 10);
  auto stored = store_->Get(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->return_value, "sent");
  EXPECT_EQ(stored->state, JobState::kCompleted);
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.active, 0u);
  EXPECT_EQ(counts.completed, 1u);
}

TEST_F(StoreTest, CompleteOfAWaitingJobNamesItsState) {
  std::string id = Add("x");
  auto done = store_->Complete(id, "", now_);
  ASSERT_FALSE(done.ok());
  EXPECT_TRUE(done.status().IsInvalidArgument());
  EXPECT_EQ(done.status().message(), "job " + id + " is waiting, not active");
}

TEST_F(StoreTest, TransitionsOfUnknownJobsAreNotFound) {
  EXPECT_TRUE(store_->Complete("nope", "", now_).status().IsNotFound());
  EXPECT_TRUE(store_->FailFinal("nope", "", now_).status().IsNotFound());
  EXPECT_TRUE(store_->Retry("nope", now_).status().IsNotFound());
  EXPECT_TRUE(store_->Delete("nope").IsNotFound());
  EXPECT_TRUE(store_->Get("nope").status().IsNotFound());
}

TEST_F(StoreTest, FailRetryDelaysUntilDueAndKeepsTheError) {
  std::string id = Add("x");
  TakeOne();
  auto failed = store_->FailRetry(id, "smtp 451", now_ + 2000, now_);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, JobState::kDelayed);
  EXPECT_EQ(failed->due_ms, now_ + 2000);
  EXPECT_EQ(store_->Get(id)->last_error, "smtp 451");
  EXPECT_EQ(store_->NextDue("q"), now_ + 2000);
  EXPECT_TRUE(QueueEmpty());
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.delayed, 1u);
  EXPECT_EQ(counts.active, 0u);
}

TEST_F(StoreTest, FailRetryWithDueInThePastIsWaitingAtOnce) {
  std::string id = Add("x");
  TakeOne();
  auto failed = store_->FailRetry(id, "boom", now_, now_);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, JobState::kWaiting);
  Job again = TakeOne();
  EXPECT_EQ(again.id, id);
  EXPECT_EQ(again.attempts_made, 2u);
}

TEST_F(StoreTest, FailFinalMovesToFailed) {
  std::string id = Add("x");
  TakeOne();
  auto failed = store_->FailFinal(id, "gave up", now_ + 5);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, JobState::kFailed);
  EXPECT_EQ(failed->finished_ms, now_ + 5);
  EXPECT_EQ(Counts().failed, 1u);
  EXPECT_EQ(store_->Get(id)->last_error, "gave up");
}

TEST_F(StoreTest, RequeuePutsAnActiveJobBackAtItsPlace) {
  std::string first = Add("first");
  Add("second");
  TakeOne();
  auto back = store_->Requeue(first, "lease expired", now_);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, JobState::kWaiting);
  Job again = TakeOne();
  EXPECT_EQ(again.id, first);  // ahead of "second", as before
  EXPECT_EQ(again.attempts_made, 2u);
  EXPECT_EQ(again.last_error, "lease expired");
}

TEST_F(StoreTest, EachTransitionOfAnActiveJobSeesItsLatestRecord) {
  NewJob job = Payload("x");
  job.max_attempts = 3;
  std::string id = Add(job);
  TakeOne();
  ASSERT_TRUE(store_->FailRetry(id, "first failure", now_, now_).ok());
  Job second = TakeOne();
  EXPECT_EQ(second.attempts_made, 2u);
  EXPECT_EQ(second.last_error, "first failure");
  // Transitions refused for the wrong state leave the active job as it was.
  EXPECT_TRUE(store_->Retry(id, now_).status().IsInvalidArgument());
  EXPECT_TRUE(store_->Promote(id, now_).status().IsInvalidArgument());
  auto done = store_->Complete(id, "ok", now_);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->attempts_made, 2u);
  EXPECT_EQ(done->last_error, "first failure");
  EXPECT_EQ(done->processed_ms, now_);
  auto stored = store_->Get(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->attempts_made, 2u);
  EXPECT_EQ(stored->return_value, "ok");
  EXPECT_TRUE(store_->Complete(id, "again", now_).status().IsInvalidArgument());
}

TEST_F(StoreTest, LargePayloadsTakeTheReadPath) {
  std::string big(100'000, 'p');
  std::string id = Add(big);
  Job job = TakeOne();
  EXPECT_EQ(job.payload, big);
  auto done = store_->Complete(id, "", now_);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->payload, big);
}

// Job records live in a hash memtable (never iterated; outside `always` mode); once it fills
// up it is flushed to a table file, and reads by id (Get, the head's MultiGet, Take's read)
// must then find the newest version of each record in the memtable or in the file, before and
// after a reopen.
TEST_F(StoreTest, RecordsAreReadBackAfterTheirMemtableWasFlushed) {
  constexpr int kJobs = 5000;  // every second one with 8 KiB: ~20 MiB of records
  auto payload_of = [](int i) {
    std::string p = "job-" + std::to_string(i) + "-";
    if (i % 2 == 0) p.append(8192, static_cast<char>('a' + i % 26));
    return p;
  };
  std::vector<std::string> ids;
  for (int start = 0; start < kJobs; start += 250) {
    std::vector<NewJob> batch;
    for (int i = start; i < start + 250; ++i) batch.push_back(Payload(payload_of(i)));
    auto added = store_->AddMany("q", std::move(batch), now_);
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    for (const auto& a : *added) ids.push_back(a.id);
  }
  // The first 1000 are rewritten (taken, completed) after their first version was written.
  for (int i = 0; i < 1000; ++i) {
    Job job = TakeOne();
    ASSERT_EQ(job.payload, payload_of(i));
    ASSERT_TRUE(store_->Complete(job.id, "r" + std::to_string(i), now_).ok());
  }
  Close();
  {
    RawDb raw(options_.data_dir);
    std::uint64_t sst_bytes = 0;
    ASSERT_TRUE(raw.db()->GetIntProperty(raw.Cf(std::string(keys::kJobsCf)),
                                         "rocksdb.total-sst-files-size", &sst_bytes));
    EXPECT_GT(sst_bytes, 0u) << "the records' memtable was never flushed";
  }
  Open();
  for (int i : {0, 1, 998, 999}) {
    auto job = store_->Get(ids[i]);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    EXPECT_EQ(job->state, JobState::kCompleted);
    EXPECT_EQ(job->return_value, "r" + std::to_string(i));
    EXPECT_EQ(job->payload, payload_of(i));
  }
  for (int i = 1000; i < kJobs; ++i) {
    Job job = TakeOne();
    ASSERT_EQ(job.id, ids[i]);
    ASSERT_EQ(job.payload, payload_of(i));
  }
  EXPECT_TRUE(QueueEmpty());
  // `always` mode keeps the records in a skiplist memtable: the same files read back.
  Close();
  options_.fsync = FsyncMode::kAlways;
  Open();
  auto first = store_->Get(ids[0]);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->return_value, "r0");
  auto last = store_->Get(ids[kJobs - 1]);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  // Active at the close, its only attempt used: back to waiting, once (its first stall).
  EXPECT_EQ(last->state, JobState::kWaiting);
  EXPECT_EQ(last->attempts_made, 1u);
  EXPECT_EQ(last->payload, payload_of(kJobs - 1));
}

TEST_F(StoreTest, JobsDeletedWhileQueuedAreNeverTaken) {
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) ids.push_back(Add("j" + std::to_string(i)));
  TakeOne();  // loads the head
  for (int i = 1; i < 300; i += 2) ASSERT_TRUE(store_->Delete(ids[i]).ok());
  for (int i = 2; i < 300; i += 2) EXPECT_EQ(TakeOne().id, ids[i]);
  EXPECT_TRUE(QueueEmpty());
}

TEST_F(StoreTest, ConcurrentDeletesAndTakesNeverResurrectAJob) {
  constexpr int kJobs = 2000;
  std::vector<NewJob> batch;
  for (int i = 0; i < kJobs; ++i) batch.push_back(Payload(std::to_string(i)));
  auto added = store_->AddMany("q", std::move(batch), now_);
  ASSERT_TRUE(added.ok());
  std::atomic<int> taken{0};
  std::atomic<int> deleted{0};
  std::thread taker([&] {
    while (true) {
      auto t = store_->Take("q", now_);
      if (!t.ok() || !t->has_value()) return;
      taken.fetch_add(1);
    }
  });
  std::thread deleter([&] {
    for (int i = kJobs - 1; i >= 0; --i) {
      if (store_->Delete((*added)[i].id).ok()) deleted.fetch_add(1);
    }
  });
  taker.join();
  deleter.join();
  // Every job was either taken (then possibly deleted while active) or deleted while waiting.
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.waiting, 0u);
  EXPECT_EQ(deleted.load(), kJobs);
  EXPECT_EQ(counts.active, 0u);
  for (const auto& r : *added) EXPECT_TRUE(store_->Get(r.id).status().IsNotFound()) << r.id;
  EXPECT_LE(taken.load(), kJobs);
}

TEST_F(StoreTest, AHugeErrorIsCutInTheJobAndItsAttempt) {
  const std::string id = Add("x");
  ASSERT_TRUE(store_->Take("q", now_)->has_value());
  const std::string huge = std::string(10 << 20, 'e') + "\xc3\xa9";  // 10 MiB, then an é
  auto failed = store_->FailFinal(id, huge, now_);
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  Reopen();
  auto read = store_->Get(id);
  ASSERT_TRUE(read.ok());
  EXPECT_LE(read->last_error.size(), kMaxLastErrorBytes);
  EXPECT_EQ(read->last_error.rfind(std::string(1000, 'e'), 0), 0u);
  EXPECT_NE(read->last_error.find("(10485762 bytes, cut)"), std::string::npos);
  ASSERT_EQ(read->history.size(), 1u);
  EXPECT_LE(read->history[0].error.size(), kMaxAttemptErrorBytes);
  EXPECT_EQ(CutLastError("short"), "short");
}

TEST_F(StoreTest, RetryResetsAttemptsAndKeepsTheError) {
  std::string id = Add("x");
  TakeOne();
  ASSERT_TRUE(store_->FailFinal(id, "bad", now_).ok());
  auto retried = store_->Retry(id, now_);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->state, JobState::kWaiting);
  EXPECT_EQ(retried->attempts_made, 0u);
  EXPECT_EQ(retried->last_error, "bad");
  EXPECT_EQ(TakeOne().id, id);
  EXPECT_TRUE(store_->Retry(id, now_).status().IsInvalidArgument());  // active, not failed
}

TEST_F(StoreTest, RetryAllFailedMovesEveryFailedJob) {
  std::vector<std::string> ids;
  for (int i = 0; i < 600; ++i) ids.push_back(Add("x" + std::to_string(i)));
  for (int i = 0; i < 600; ++i) {
    Job job = TakeOne();
    ASSERT_TRUE(store_->FailFinal(job.id, "e", now_ + i).ok());
  }
  EXPECT_EQ(Counts().failed, 600u);
  auto moved = store_->RetryAllFailed("q", now_);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 600u);
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.failed, 0u);
  EXPECT_EQ(counts.waiting, 600u);
  EXPECT_EQ(TakeOne().id, ids[0]);
}

TEST_F(StoreTest, DelayedJobIsNotTakenUntilPromoted) {
  std::string id = AddDelayed("later", now_ + 1000);
  EXPECT_EQ(StateOf(id), JobState::kDelayed);
  EXPECT_EQ(Counts().delayed, 1u);
  EXPECT_TRUE(QueueEmpty());
  auto moved = store_->PromoteDue("q", now_ + 999, 100);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 0u);
  moved = store_->PromoteDue("q", now_ + 1000, 100);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 1u);
  EXPECT_EQ(TakeOne().id, id);
  EXPECT_EQ(store_->NextDue("q"), std::nullopt);
}

TEST_F(StoreTest, NextDueIsTheEarliestDueTime) {
  EXPECT_EQ(store_->NextDue("q"), std::nullopt);
  AddDelayed("c", now_ + 3000);
  EXPECT_EQ(store_->NextDue("q"), now_ + 3000);
  AddDelayed("a", now_ + 1000);
  EXPECT_EQ(store_->NextDue("q"), now_ + 1000);
  AddDelayed("b", now_ + 2000);
  EXPECT_EQ(store_->NextDue("q"), now_ + 1000);
  EXPECT_EQ(store_->NextDue("missing"), std::nullopt);
}

TEST_F(StoreTest, PromoteDueMovesDueJobsInDueOrderWithinTheLimit) {
  AddDelayed("c", now_ + 300);
  AddDelayed("a", now_ + 100);
  AddDelayed("d", now_ + 400);
  AddDelayed("b", now_ + 200);
  auto moved = store_->PromoteDue("q", now_ + 350, 2);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 2u);
  EXPECT_EQ(store_->NextDue("q"), now_ + 300);
  moved = store_->PromoteDue("q", now_ + 350, 100);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 1u);
  EXPECT_EQ(store_->NextDue("q"), now_ + 400);
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.waiting, 3u);
  EXPECT_EQ(counts.delayed, 1u);
  // Waiting order is add order (seq), not due order.
  EXPECT_EQ(TakePayload(), "c");
  EXPECT_EQ(TakePayload(), "a");
  EXPECT_EQ(TakePayload(), "b");
}

TEST_F(StoreTest, PromoteDueHandlesMoreThanOneHeadfulOfJobs) {
  std::vector<NewJob> batch;
  for (int i = 0; i < 1500; ++i) {
    NewJob job = Payload("d" + std::to_string(i));
    job.due_ms = now_ + 1 + (i % 7);
    batch.push_back(job);
  }
  ASSERT_TRUE(store_->AddMany("q", batch, now_).ok());
  auto moved = store_->PromoteDue("q", now_ + 100, 1'000'000);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 1500u);
  EXPECT_EQ(store_->NextDue("q"), std::nullopt);
  EXPECT_EQ(Counts().waiting, 1500u);
}

TEST_F(StoreTest, PromoteMovesOneDelayedJob) {
  std::string a = AddDelayed("a", now_ + 100);
  AddDelayed("b", now_ + 200);
  auto promoted = store_->Promote(a, now_);
  ASSERT_TRUE(promoted.ok());
  EXPECT_EQ(promoted->state, JobState::kWaiting);
  EXPECT_EQ(store_->NextDue("q"), now_ + 200);
  EXPECT_EQ(TakeOne().id, a);
  EXPECT_TRUE(store_->Promote(a, now_).status().IsInvalidArgument());
}

TEST_F(StoreTest, DeleteRemovesAJobInAnyState) {
  std::string waiting = Add("w");
  std::string active = Add("a");
  std::string delayed = AddDelayed("d", now_ + 100);
  ASSERT_TRUE(store_->Delete(waiting).ok());  // the head held it: Take must not see it
  EXPECT_EQ(TakeOne().id, active);
  ASSERT_TRUE(store_->Delete(active).ok());
  ASSERT_TRUE(store_->Delete(delayed).ok());
  EXPECT_EQ(store_->NextDue("q"), std::nullopt);
  EXPECT_TRUE(store_->Get(waiting).status().IsNotFound());
  EXPECT_TRUE(store_->Delete(waiting).IsNotFound());
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.waiting + counts.active + counts.delayed, 0u);
  EXPECT_TRUE(QueueEmpty());
  Reopen();
  counts = Counts();
  EXPECT_EQ(counts.waiting + counts.active + counts.delayed, 0u);
}

TEST_F(StoreTest, CleanRemovesOldFinishedJobsUpToTheLimit) {
  for (int i = 0; i < 10; ++i) {
    Add("c" + std::to_string(i));
    Job job = TakeOne();
    ASSERT_TRUE(store_->Complete(job.id, "", now_ + i * 100).ok());
  }
  for (int i = 0; i < 4; ++i) {
    Add("f" + std::to_string(i));
    Job job = TakeOne();
    ASSERT_TRUE(store_->FailFinal(job.id, "", now_ + i * 100).ok());
  }
  // Completed at now+0 .. now+900; at or before now+400 are 5 of them; limit 3.
  auto removed = store_->Clean("q", JobState::kCompleted, now_ + 400, 3);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 3u);
  removed = store_->Clean("q", JobState::kCompleted, now_ + 400, 100);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2u);
  EXPECT_EQ(Counts().completed, 5u);
  removed = store_->Clean("q", JobState::kFailed, now_ + 250, 100);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 3u);
  EXPECT_EQ(Counts().failed, 1u);
}

TEST_F(StoreTest, CleanRemovesOldWaitingAndDelayedJobs) {
  Add("old");
  now_ += 1000;
  std::string fresh = Add("fresh");
  AddDelayed("soon", now_ + 10);
  AddDelayed("late", now_ + 5000);
  auto removed = store_->Clean("q", JobState::kWaiting, now_ - 1, 100);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  removed = store_->Clean("q", JobState::kDelayed, now_ + 100, 100);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(store_->NextDue("q"), now_ + 5000);
  EXPECT_EQ(TakeOne().id, fresh);
  EXPECT_TRUE(store_->Clean("q", JobState::kActive, now_, 1).status().IsInvalidArgument());
  // A job of exactly the cut-off's millisecond is old enough: age 0 cleans it.
  Add("edge");
  removed = store_->Clean("q", JobState::kWaiting, now_, 100);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  removed = store_->Clean("q", JobState::kDelayed, now_ + 5000, 100);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
}

// ---- Completed retention ----------------------------------------------------------------------

class RetentionTest : public StoreTest {
 protected:
  void SetUp() override {
    options_.completed_retention = 3;
    StoreTest::SetUp();
  }
  std::string RunToCompletion(const std::string& payload) {
    std::string id = Add(payload);
    Job job = TakeOne();
    EXPECT_EQ(job.id, id);
    EXPECT_TRUE(store_->Complete(id, "", ++now_).ok());
    return id;
  }
};

TEST_F(RetentionTest, OnlyTheNewestCompletedJobsAreKept) {
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(RunToCompletion("j" + std::to_string(i)));
  EXPECT_EQ(Counts().completed, 3u);
  for (int i = 0; i < 7; ++i) EXPECT_TRUE(store_->Get(ids[i]).status().IsNotFound()) << i;
  for (int i = 7; i < 10; ++i) EXPECT_TRUE(store_->Get(ids[i]).ok()) << i;
  auto page = store_->List("q", JobState::kCompleted, "", 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->jobs.size(), 3u);
  EXPECT_EQ(page->jobs[0].id, ids[9]);
}

TEST_F(RetentionTest, CompleteManyKeepsTheNewestAcrossBatches) {
  std::vector<std::string> ids;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 5; ++i) ids.push_back(Add("j" + std::to_string(round * 5 + i)));
    auto taken = store_->TakeMany("q", 5, now_);
    ASSERT_TRUE(taken.ok());
    std::vector<Completion> done;
    for (const Job& job : *taken) done.push_back({job.id, ""});
    for (const auto& result : store_->CompleteMany(std::move(done), ++now_)) {
      ASSERT_TRUE(result.ok()) << result.status().ToString();
    }
  }
  EXPECT_EQ(Counts().completed, 3u);
  for (std::size_t i = 0; i + 3 < ids.size(); ++i) {
    EXPECT_TRUE(store_->Get(ids[i]).status().IsNotFound()) << i;
  }
  for (std::size_t i = ids.size() - 3; i < ids.size(); ++i) EXPECT_TRUE(store_->Get(ids[i]).ok());
  Reopen();
  EXPECT_EQ(Counts().completed, 3u);
}

TEST_F(RetentionTest, ALowerRetentionIsAppliedAtOpen) {
  options_.completed_retention = 100;
  Reopen();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(RunToCompletion("j" + std::to_string(i)));
  EXPECT_EQ(Counts().completed, 20u);
  options_.completed_retention = 5;
  Reopen();
  EXPECT_EQ(Counts().completed, 5u);
  EXPECT_TRUE(store_->Get(ids[14]).status().IsNotFound());
  EXPECT_TRUE(store_->Get(ids[15]).ok());
}

TEST_F(RetentionTest, ZeroRetentionKeepsNoCompletedJob) {
  options_.completed_retention = 0;
  Reopen();
  std::string id = RunToCompletion("x");
  EXPECT_EQ(Counts().completed, 0u);
  EXPECT_TRUE(store_->Get(id).status().IsNotFound());
}

// ---- Listing ----------------------------------------------------------------------------------

TEST_F(StoreTest, ListPagesThroughWaitingJobsInTakeOrder) {
  for (int i = 0; i < 7; ++i) Add("w" + std::to_string(i), i % 2);
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = store_->List("q", JobState::kWaiting, cursor, 3);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& job : page->jobs) seen.push_back(job.payload);
    cursor = page->next_cursor;
    ++pages;
  } while (!cursor.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"w0", "w2", "w4", "w6", "w1", "w3", "w5"}));
}

TEST_F(StoreTest, ListShowsFinishedJobsNewestFirst) {
  for (int i = 0; i < 5; ++i) {
    Add("c" + std::to_string(i));
    Job job = TakeOne();
    ASSERT_TRUE(store_->Complete(job.id, "", now_ + i).ok());
  }
  auto first = store_->List("q", JobState::kCompleted, "", 2);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->jobs.size(), 2u);
  EXPECT_EQ(first->jobs[0].payload, "c4");
  EXPECT_EQ(first->jobs[1].payload, "c3");
  auto second = store_->List("q", JobState::kCompleted, first->next_cursor, 10);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->jobs.size(), 3u);
  EXPECT_EQ(second->jobs[0].payload, "c2");
  EXPECT_EQ(second->jobs[2].payload, "c0");
  EXPECT_TRUE(second->next_cursor.empty());
}

TEST_F(StoreTest, ListRejectsABadCursorAndUnknownQueue) {
  EXPECT_TRUE(store_->List("q", JobState::kWaiting, "xyz", 10).status().IsInvalidArgument());
  EXPECT_TRUE(store_->List("nope", JobState::kWaiting, "", 10).status().IsNotFound());
}

TEST_F(StoreTest, ListShowsActiveAndDelayedJobs) {
  AddDelayed("d2", now_ + 20);
  AddDelayed("d1", now_ + 10);
  Add("a");
  TakeOne();
  auto delayed = store_->List("q", JobState::kDelayed, "", 10);
  ASSERT_TRUE(delayed.ok());
  ASSERT_EQ(delayed->jobs.size(), 2u);
  EXPECT_EQ(delayed->jobs[0].payload, "d1");
  auto active = store_->List("q", JobState::kActive, "", 10);
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->jobs.size(), 1u);
  EXPECT_EQ(active->jobs[0].payload, "a");
}

// ---- Pause ------------------------------------------------------------------------------------

TEST_F(StoreTest, PauseFlagPersistsAcrossReopen) {
  EXPECT_FALSE(store_->IsPaused("q"));
  ASSERT_TRUE(store_->SetPaused("q", true).ok());
  EXPECT_TRUE(store_->IsPaused("q"));
  EXPECT_TRUE(Counts().paused);
  Reopen();
  EXPECT_TRUE(store_->IsPaused("q"));
  ASSERT_TRUE(store_->SetPaused("q", false).ok());
  Reopen();
  EXPECT_FALSE(store_->IsPaused("q"));
  EXPECT_TRUE(store_->SetPaused("missing", true).IsNotFound());
}

// ---- Restarts ---------------------------------------------------------------------------------

TEST_F(StoreTest, EveryTransitionSurvivesReopen) {
  auto with_attempts = [](const char* payload) {
    NewJob job = Payload(payload);
    job.max_attempts = 5;  // survives the restart below as waiting, not failed
    return job;
  };
  std::string done = Add(with_attempts("done"));
  std::string retry = Add(with_attempts("retry"));
  std::string fail = Add(with_attempts("fail"));
  std::string wait = Add(with_attempts("wait"));
  std::string delayed = AddDelayed("delayed", now_ + 5000);
  Reopen();
  EXPECT_EQ(TakeOne().id, done);
  Reopen();  // the active job comes back as waiting, its attempt counted
  Job again = TakeOne();
  EXPECT_EQ(again.id, done);
  EXPECT_EQ(again.attempts_made, 2u);
  ASSERT_TRUE(store_->Complete(done, "ok", now_).ok());
  Reopen();
  EXPECT_EQ(StateOf(done), JobState::kCompleted);
  EXPECT_EQ(TakeOne().id, retry);
  ASSERT_TRUE(store_->FailRetry(retry, "later", now_ + 100, now_).ok());
  Reopen();
  EXPECT_EQ(StateOf(retry), JobState::kDelayed);
  EXPECT_EQ(store_->NextDue("q"), now_ + 100);
  EXPECT_EQ(TakeOne().id, fail);
  ASSERT_TRUE(store_->FailFinal(fail, "no", now_).ok());
  Reopen();
  EXPECT_EQ(StateOf(fail), JobState::kFailed);
  ASSERT_TRUE(store_->Retry(fail, now_).ok());
  Reopen();
  EXPECT_EQ(StateOf(fail), JobState::kWaiting);
  ASSERT_EQ(*store_->PromoteDue("q", now_ + 100, 10), 1u);
  Reopen();
  EXPECT_EQ(StateOf(retry), JobState::kWaiting);
  ASSERT_TRUE(store_->Promote(delayed, now_).ok());
  Reopen();
  EXPECT_EQ(StateOf(delayed), JobState::kWaiting);
  ASSERT_TRUE(store_->Delete(wait).ok());
  Reopen();
  EXPECT_TRUE(store_->Get(wait).status().IsNotFound());
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.waiting, 3u);  // retry, fail, delayed
  EXPECT_EQ(counts.completed, 1u);
  EXPECT_EQ(counts.active + counts.delayed + counts.failed, 0u);
  // Take order after all that: by seq (add order).
  EXPECT_EQ(TakeOne().id, retry);
  EXPECT_EQ(TakeOne().id, fail);
  EXPECT_EQ(TakeOne().id, delayed);
}

TEST_F(StoreTest, ActiveJobsAreWaitingAgainAfterReopenWithAttemptsKept) {
  NewJob job = Payload("x");
  job.max_attempts = 3;
  std::string id = Add(job);
  Add("y");
  TakeOne();
  Reopen();
  EXPECT_EQ(store_->recovered_active(), 1u);
  auto stored = store_->Get(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, JobState::kWaiting);
  EXPECT_EQ(stored->attempts_made, 1u);
  EXPECT_EQ(stored->last_error, "stalled: worker lost (process restarted)");
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.active, 0u);
  EXPECT_EQ(counts.waiting, 2u);
  Job again = TakeOne();
  EXPECT_EQ(again.id, id);  // back at its place, ahead of y
  EXPECT_EQ(again.attempts_made, 2u);
}

TEST_F(StoreTest, TakeWritesALeaseAndLeavesTheRecordAsItWas) {
  NewJob job = Payload("x");
  job.max_attempts = 4;
  std::string id = Add(job);
  Job taken = TakeOne();
  auto shown = store_->Get(id);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->state, JobState::kActive);
  EXPECT_EQ(shown->attempts_made, 1u);
  EXPECT_EQ(shown->processed_ms, now_);
  EXPECT_EQ(shown->payload, "x");
  // On disk: the record still reads as waiting, the waiting key holds the lease. A second
  // handle can't open a live store: each look is at a checkpoint of it.
  const std::string key = keys::WaitingKey(0, taken.seq);
  struct OnDisk {
    Job record;
    std::optional<std::string> index_value;  // at the job's waiting key; nullopt: none
  };
  int looks = 0;
  auto on_disk = [&]() {
    std::string copy = dir_.Sub("copy" + std::to_string(++looks));
    EXPECT_TRUE(store_->Checkpoint(copy).ok());
    RawDb raw(copy);
    OnDisk out;
    std::string value;
    EXPECT_TRUE(raw.db()->Get(rocksdb::ReadOptions(), raw.Cf("jobs"), id, &value).ok());
    auto record = DecodeJob(value);
    EXPECT_TRUE(record.ok()) << record.status().ToString();
    if (record.ok()) out.record = *record;
    if (raw.db()->Get(rocksdb::ReadOptions(), raw.Cf("q.q"), key, &value).ok()) {
      out.index_value = value;
    }
    return out;
  };
  OnDisk taken_state = on_disk();
  EXPECT_EQ(taken_state.record.state, JobState::kWaiting);
  EXPECT_EQ(taken_state.record.attempts_made, 0u);
  ASSERT_TRUE(taken_state.index_value.has_value());
  std::optional<keys::Lease> lease = keys::DecodeLease(*taken_state.index_value);
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->id, id);
  EXPECT_EQ(lease->attempts_made, 1u);
  EXPECT_EQ(lease->processed_ms, now_);
  // Completing rewrites the record and removes the waiting key.
  ASSERT_TRUE(store_->Complete(id, "done", now_).ok());
  OnDisk completed = on_disk();
  EXPECT_EQ(completed.record.state, JobState::kCompleted);
  EXPECT_EQ(completed.record.attempts_made, 1u);
  EXPECT_FALSE(completed.index_value.has_value());
}

TEST_F(StoreTest, ActiveEntryOfAnOlderBuildIsRecoveredAtOpen) {
  NewJob job = Payload("old");
  job.max_attempts = 3;
  std::string id = Add(job);
  Add("next");
  auto waiting = store_->Get(id);
  ASSERT_TRUE(waiting.ok());
  Close();
  {
    // What an older build wrote for an active job: the record says active, attempt counted,
    // and the job sits in an "a|" index.
    RawDb raw(options_.data_dir);
    Job active = *waiting;
    active.state = JobState::kActive;
    active.attempts_made = 1;
    active.processed_ms = kNow;
    raw.Put("jobs", id, EncodeJob(active));
    raw.Delete("q.q", keys::WaitingKey(0, active.seq));
    raw.Put("q.q", keys::ActiveKey(active.seq), id);
    // Nor did it keep counters.
    raw.Delete("q.q", std::string(keys::kCountedKey));
  }
  Open();
  EXPECT_EQ(store_->recovered_active(), 1u);
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.active, 0u);
  EXPECT_EQ(counts.waiting, 2u);
  Job again = TakeOne();
  EXPECT_EQ(again.id, id);  // back at its place
  EXPECT_EQ(again.attempts_made, 2u);
  EXPECT_EQ(again.last_error, "stalled: worker lost (process restarted)");
  ASSERT_TRUE(store_->Complete(id, "", now_).ok());
  Reopen();
  EXPECT_EQ(StateOf(id), JobState::kCompleted);
  EXPECT_EQ(Counts().waiting, 1u);
}

TEST_F(StoreTest, TakeReadsPastTheLeasesOfManyActiveJobs) {
  // 300 jobs, 200 of them taken: their leases sit in the waiting index. Then more jobs that go
  // first (priority 0) than the in-memory head keeps overflow it, so its next scans start
  // below the leases and must step over all 200 of them (more than one scan's worth) to reach
  // the rest.
  const int sooner_count = static_cast<int>(IndexHead::kMaxAhead) + 188;
  std::vector<NewJob> later;
  for (int i = 0; i < 300; ++i) later.push_back(Payload("p5-" + std::to_string(i), 5));
  ASSERT_TRUE(store_->AddMany("q", std::move(later), now_).ok());
  Reopen();
  auto first = store_->TakeMany("q", 200, now_);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 200u);
  std::vector<NewJob> sooner;
  for (int i = 0; i < sooner_count; ++i) {
    sooner.push_back(Payload("p0-" + std::to_string(i), 0));
  }
  ASSERT_TRUE(store_->AddMany("q", std::move(sooner), now_).ok());
  std::set<std::string> seen;
  for (const Job& job : *first) seen.insert(job.id);
  std::vector<std::string> order;
  while (true) {
    auto taken = store_->Take("q", now_);
    ASSERT_TRUE(taken.ok()) << taken.status().ToString();
    if (!taken->has_value()) break;
    EXPECT_TRUE(seen.insert((*taken)->id).second) << "taken twice: " << (*taken)->id;
    order.push_back((*taken)->payload);
  }
  ASSERT_EQ(order.size(), static_cast<std::size_t>(sooner_count) + 100);
  for (int i = 0; i < sooner_count; ++i) EXPECT_EQ(order[i], "p0-" + std::to_string(i));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(order[sooner_count + i], "p5-" + std::to_string(200 + i));
  }
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.active, static_cast<std::uint64_t>(sooner_count) + 300);
  EXPECT_EQ(counts.waiting, 0u);
  auto listed = store_->List("q", JobState::kWaiting, "", 10);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->jobs.empty());
}

TEST_F(StoreTest, ListPagesThroughActiveJobsInAddOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Add("a" + std::to_string(i)));
  Add("still waiting");
  for (int i = 0; i < 5; ++i) TakeOne();
  std::vector<std::string> listed;
  std::string cursor;
  do {
    auto page = store_->List("q", JobState::kActive, cursor, 2);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_LE(page->jobs.size(), 2u);
    for (const Job& job : page->jobs) {
      EXPECT_EQ(job.state, JobState::kActive);
      EXPECT_EQ(job.attempts_made, 1u);
      listed.push_back(job.id);
    }
    cursor = page->next_cursor;
  } while (!cursor.empty());
  EXPECT_EQ(listed, ids);
  EXPECT_FALSE(store_->List("q", JobState::kActive, "zz", 2).ok());
  auto waiting = store_->List("q", JobState::kWaiting, "", 10);
  ASSERT_TRUE(waiting.ok());
  ASSERT_EQ(waiting->jobs.size(), 1u);
  EXPECT_EQ(waiting->jobs[0].payload, "still waiting");
}

TEST_F(StoreTest, ActiveJobWithAttemptsUsedUpFailsAtReopen) {
  NewJob job = Payload("poison");
  job.max_attempts = 2;
  std::string id = Add(job);
  TakeOne();
  Reopen();
  EXPECT_EQ(StateOf(id), JobState::kWaiting);
  TakeOne();  // attempt 2 of 2, and the worker dies again
  Reopen();
  EXPECT_EQ(store_->recovered_active(), 1u);
  auto stored = store_->Get(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, JobState::kFailed);
  EXPECT_EQ(stored->last_error, "stalled: worker lost (process restarted)");
  EXPECT_GT(stored->finished_ms, 0);
  EXPECT_EQ(Counts().failed, 1u);
  EXPECT_TRUE(QueueEmpty());
}

TEST_F(StoreTest, ActiveEntryWithoutItsRecordIsDroppedAtOpen) {
  std::string id = Add("x");
  TakeOne();
  Close();
  {
    RawDb raw(options_.data_dir);
    raw.Delete("jobs", id);
  }
  Open();
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.active, 0u);
  EXPECT_EQ(counts.waiting, 0u);
  EXPECT_EQ(store_->recovered_active(), 0u);
  Reopen();
  EXPECT_EQ(Counts().active, 0u);
}

TEST_F(StoreTest, SequenceNumbersAreNeverReusedAcrossReopen) {
  std::set<std::uint64_t> seqs;
  std::uint64_t last = 0;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 5; ++i) {
      std::string id = Add("x");
      auto job = store_->Get(id);
      ASSERT_TRUE(job.ok());
      EXPECT_GT(job->seq, last);
      last = job->seq;
      EXPECT_TRUE(seqs.insert(job->seq).second);
    }
    Reopen();
  }
}

TEST_F(StoreTest, CountsAreRebuiltAtOpen) {
  for (int i = 0; i < 5; ++i) Add("w");
  AddDelayed("d", now_ + 10);
  Job a = TakeOne();
  Job b = TakeOne();
  ASSERT_TRUE(store_->Complete(a.id, "", now_).ok());
  ASSERT_TRUE(store_->FailFinal(b.id, "", now_).ok());
  const std::string lost = TakeOne().id;  // active with its only attempt: waiting at reopen
  Reopen();
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.waiting, 3u);
  EXPECT_EQ(counts.delayed, 1u);
  EXPECT_EQ(counts.completed, 1u);
  EXPECT_EQ(counts.failed, 1u);
  EXPECT_EQ(counts.active, 0u);
  // Lost a second time: failed (it stalled before).
  Job again;
  do {
    again = TakeOne();
  } while (again.id != lost);
  Reopen();
  counts = Counts();
  EXPECT_EQ(counts.failed, 2u);
  EXPECT_EQ(counts.active, 0u);
  auto failed = store_->Get(lost);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, JobState::kFailed);
  ASSERT_EQ(failed->history.size(), 2u);
  EXPECT_EQ(failed->history[0].outcome, AttemptOutcome::kStalled);
  EXPECT_EQ(failed->history[1].outcome, AttemptOutcome::kStalled);
}

// ---- Corruption -------------------------------------------------------------------------------

TEST_F(StoreTest, CorruptedJobRecordIsCorruptionNotACrash) {
  std::string bad = Add("bad");
  std::string good = Add("good");
  Close();
  {
    RawDb raw(options_.data_dir);
    raw.Put("jobs", bad,
            std::string("\x01\x05"
                        "ab",
                        4));
  }
  Open();
  EXPECT_TRUE(store_->List("q", JobState::kWaiting, "", 10).status().IsCorruption());
  auto got = store_->Get(bad);
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.status().IsCorruption());
  EXPECT_EQ(got.status().message().rfind("job " + bad + ": ", 0), 0u) << got.status().message();
  auto taken = store_->Take("q", now_);
  ASSERT_FALSE(taken.ok());
  EXPECT_TRUE(taken.status().IsCorruption());
  EXPECT_EQ(TakeOne().id, good);  // the queue moves on past it
  EXPECT_TRUE(store_->Complete(bad, "", now_).status().IsCorruption());
  EXPECT_TRUE(store_->Delete(bad).IsCorruption());
}

// A table file damaged on disk (bit rot, a bad sector): reads of what it holds report
// Corruption naming the checksum and the file; the intact jobs read back; nothing aborts. Once
// a compaction reads the damaged block RocksDB also refuses writes (its background error), with
// the same clear error: the store stops rather than build on damaged data.
TEST_F(StoreTest, DamagedTableFileIsCorruptionNotACrash) {
  std::vector<std::string> ids;
  for (int start = 0; start < 4000; start += 250) {  // ~32 MiB of records: flushed to files
    std::vector<NewJob> batch;
    for (int i = start; i < start + 250; ++i) {
      batch.push_back(Payload(std::to_string(i) + std::string(8192, 'd')));
    }
    auto added = store_->AddMany("q", std::move(batch), now_);
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    for (const auto& a : *added) ids.push_back(a.id);
  }
  Close();
  // Overwrite a stretch in the middle of the biggest table file.
  std::filesystem::path biggest;
  std::uintmax_t size = 0;
  for (const auto& entry : std::filesystem::directory_iterator(options_.data_dir)) {
    if (entry.path().extension() == ".sst" && entry.file_size() > size) {
      biggest = entry.path();
      size = entry.file_size();
    }
  }
  ASSERT_GT(size, 256u << 10) << "no table file was written";
  {
    std::FILE* f = std::fopen(biggest.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, static_cast<long>(size / 2), SEEK_SET);
    std::string junk(64 * 1024, '\x5a');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  auto expect_clear = [&](const Status& status) {
    if (status.ok()) return;
    EXPECT_TRUE(status.IsCorruption()) << status.ToString();
    EXPECT_NE(status.message().find("checksum mismatch"), std::string::npos) << status.message();
    EXPECT_NE(status.message().find(biggest.filename().string()), std::string::npos)
        << status.message();
  };
  Open();
  int corrupt = 0;
  int read = 0;
  for (const std::string& id : ids) {
    auto job = store_->Get(id);
    expect_clear(job.status());
    job.ok() ? ++read : ++corrupt;
  }
  EXPECT_GT(corrupt, 0);
  EXPECT_GT(read, 0);
  for (std::size_t i = 0; i < ids.size() + 10; ++i) {
    auto job = store_->Take("q", now_);
    expect_clear(job.status());
    if (job.ok() && !job->has_value()) break;
  }
  NewJob fresh = Payload("fresh");
  expect_clear(store_->Add("q", std::move(fresh), now_).status());
  Close();
  auto reopened = Store::Open(options_);
  expect_clear(reopened.status());
}

TEST_F(StoreTest, TruncatedJobRecordIsCorruption) {
  std::string id = Add("some payload");
  auto job = store_->Get(id);
  ASSERT_TRUE(job.ok());
  std::string encoded = EncodeJob(*job);
  Close();
  {
    RawDb raw(options_.data_dir);
    raw.Put("jobs", id, encoded.substr(0, encoded.size() / 2));
  }
  Open();
  EXPECT_TRUE(store_->Get(id).status().IsCorruption());
}

// ---- Records ----------------------------------------------------------------------------------

TEST_F(StoreTest, RecordsAreWalkedPageByPageAfterAKey) {
  for (const char* key : {"b", "a", "c", "d"}) {
    ASSERT_TRUE(store_->PutRecord(RecordTable::kTickets, key, std::string("v") + key).ok());
  }
  ASSERT_TRUE(store_->PutRecord(RecordTable::kTickets, std::string("\0d", 2), "binary").ok());
  std::vector<std::string> keys;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    auto rows = store_->ScanRecordsAfter(RecordTable::kTickets, after, 2);
    ASSERT_TRUE(rows.ok());
    if (rows->empty()) break;
    for (const auto& [key, value] : *rows) keys.push_back(key);
    after = rows->back().first;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{std::string("\0d", 2), "a", "b", "c", "d"}));
  // Meta records are walked without their prefix, and not beyond it.
  ASSERT_TRUE(store_->PutRecord(RecordTable::kMeta, "audit|1", "x").ok());
  auto meta = store_->ScanRecordsAfter(RecordTable::kMeta, "", 100);
  ASSERT_TRUE(meta.ok());
  ASSERT_EQ(meta->size(), 1u);
  EXPECT_EQ((*meta)[0].first, "audit|1");
}

TEST_F(StoreTest, AnImportedJobKeepsItsStateAttemptsAndHistoryOnce) {
  Job job;
  job.id = "exported-1";
  job.payload = "p";
  job.name = "booking-created";
  job.state = JobState::kFailed;
  job.attempts_made = 2;
  job.max_attempts = 2;
  job.created_ms = 100;
  job.processed_ms = 200;
  job.finished_ms = 300;
  job.last_error = "smtp down";
  job.history.push_back(Attempt{.started_ms = 200,
                                .ended_ms = 300,
                                .outcome = AttemptOutcome::kFailed,
                                .error = "smtp down",
                                .worker = "local:1",
                                .backoff_ms = 0,
                                .next_due_ms = 0});
  auto imported = store_->Import("q", job);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_TRUE(imported->created);
  EXPECT_EQ(imported->state, JobState::kFailed);
  EXPECT_EQ(store_->Counts("q")->failed, 1u);
  job.payload = "changed";
  auto again = store_->Import("q", job);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  Reopen();
  auto read = store_->Get("exported-1");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->payload, "p");
  EXPECT_EQ(read->name, "booking-created");
  EXPECT_EQ(read->attempts_made, 2u);
  EXPECT_EQ(read->finished_ms, 300);
  ASSERT_EQ(read->history.size(), 1u);
  EXPECT_EQ(read->history[0].worker, "local:1");
  EXPECT_EQ(store_->Counts("q")->failed, 1u);
  ASSERT_TRUE(store_->Retry("exported-1", now_).ok());
  EXPECT_EQ(store_->Counts("q")->waiting, 1u);

  // A generated id of another store: this one's ids continue above it. An active job comes
  // in waiting.
  Job numbered;
  numbered.id = "900000";
  numbered.payload = "n";
  numbered.state = JobState::kActive;
  numbered.attempts_made = 1;
  auto added = store_->Import("q", numbered);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->state, JobState::kWaiting);
  EXPECT_GT(std::stoull(Add("next")), 900000u);
  EXPECT_TRUE(store_->Import("nope", numbered).status().IsNotFound());
  numbered.id = "";
  EXPECT_TRUE(store_->Import("q", numbered).status().IsInvalidArgument());
}

TEST_F(StoreTest, RecordsScanByPrefixInBothOrders) {
  for (const char* key : {"u1|3", "u1|1", "u2|1", "u1|2", "u0|9"}) {
    ASSERT_TRUE(store_->PutRecord(RecordTable::kInbox, key, std::string("v") + key).ok());
  }
  auto asc = store_->ScanRecords(RecordTable::kInbox, "u1|", 10, ScanOrder::kOldestFirst);
  ASSERT_TRUE(asc.ok());
  ASSERT_EQ(asc->size(), 3u);
  EXPECT_EQ((*asc)[0].first, "u1|1");
  EXPECT_EQ((*asc)[2].first, "u1|3");
  EXPECT_EQ((*asc)[2].second, "vu1|3");
  auto desc = store_->ScanRecords(RecordTable::kInbox, "u1|", 2, ScanOrder::kNewestFirst);
  ASSERT_TRUE(desc.ok());
  ASSERT_EQ(desc->size(), 2u);
  EXPECT_EQ((*desc)[0].first, "u1|3");
  EXPECT_EQ((*desc)[1].first, "u1|2");
  // A key equal to the prefix's end ("u1}") is outside the prefix in both directions.
  ASSERT_TRUE(store_->PutRecord(RecordTable::kInbox, "u1}", "outside").ok());
  desc = store_->ScanRecords(RecordTable::kInbox, "u1|", 10, ScanOrder::kNewestFirst);
  ASSERT_TRUE(desc.ok());
  ASSERT_EQ(desc->size(), 3u);
  EXPECT_EQ((*desc)[0].first, "u1|3");
  ASSERT_TRUE(store_->DeleteRecord(RecordTable::kInbox, "u1}").ok());
  auto all = store_->ScanRecords(RecordTable::kInbox, "", 0, ScanOrder::kNewestFirst);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ(all->front().first, "u2|1");
}

TEST_F(StoreTest, RecordTablesAreSeparateAndPersistent) {
  ASSERT_TRUE(store_->PutRecord(RecordTable::kPrefs, "u1", "email=on").ok());
  ASSERT_TRUE(store_->PutRecord(RecordTable::kTickets, "u1", "ticket").ok());
  ASSERT_TRUE(store_->PutRecord(RecordTable::kMeta, "queue|evil", "x").ok());
  Reopen();
  EXPECT_EQ(**store_->GetRecord(RecordTable::kPrefs, "u1"), "email=on");
  EXPECT_EQ(**store_->GetRecord(RecordTable::kTickets, "u1"), "ticket");
  EXPECT_FALSE(store_->GetRecord(RecordTable::kSent, "u1")->has_value());
  // A caller's meta record can't pose as a registry row.
  EXPECT_FALSE(store_->HasQueue("evil"));
  auto meta = store_->ScanRecords(RecordTable::kMeta, "", 10, ScanOrder::kOldestFirst);
  ASSERT_TRUE(meta.ok());
  ASSERT_EQ(meta->size(), 1u);
  EXPECT_EQ((*meta)[0].first, "queue|evil");
  ASSERT_TRUE(store_->DeleteRecord(RecordTable::kPrefs, "u1").ok());
  EXPECT_FALSE(store_->GetRecord(RecordTable::kPrefs, "u1")->has_value());
}

// ---- Maintenance ------------------------------------------------------------------------------

TEST_F(StoreTest, CheckpointOpensAsAStoreWithTheSameJobs) {
  std::string id = Add("keep me");
  ASSERT_TRUE(store_->kv().Set("k", "v").ok());
  std::filesystem::create_directories(dir_.Sub("backup"));
  ASSERT_TRUE(store_->Checkpoint(dir_.Sub("backup")).ok());
  EXPECT_TRUE(store_->Checkpoint(dir_.Sub("backup")).IsInvalidArgument());  // not empty now
  StoreOptions copy = options_;
  copy.data_dir = dir_.Sub("backup");
  auto opened = Store::Open(copy);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ((*opened)->Get(id)->payload, "keep me");
  EXPECT_EQ(*(*opened)->kv().Get("k").value(), "v");
}

TEST_F(StoreTest, CheckFindsWhatDisagreesAndRepairRebuildsItFromTheRecords) {
  const std::string lost = Add("lost from its index");
  const std::string kept = Add("kept");
  ASSERT_TRUE(store_->Take("q", now_)->has_value());  // `lost` is active: a lease
  const std::string done = Add("done");
  const std::uint64_t lost_seq = store_->Get(lost)->seq;
  Close();
  auto clean = CheckStore(options_, false);
  ASSERT_TRUE(clean.ok()) << clean.status().ToString();
  EXPECT_EQ(clean->problems, 0u) << clean->listed.front();
  EXPECT_EQ(clean->records, 3u);
  ASSERT_EQ(clean->queues.size(), 1u);
  EXPECT_EQ(clean->queues[0].counted.waiting, 2u);
  EXPECT_EQ(clean->queues[0].counted.active, 1u);
  {
    RawDb raw(options_.data_dir);
    raw.Delete("q.q", keys::WaitingKey(0, lost_seq));     // a job in no index
    raw.Put("q.q", keys::FailedKey(5, 999999), "ghost");  // an entry without record
    raw.Put("q.q", keys::CountKey(JobState::kCompleted), keys::EncodeCount(7));  // a counter
  }
  auto damaged = CheckStore(options_, false);
  ASSERT_TRUE(damaged.ok());
  EXPECT_EQ(damaged->problems, 5u);  // the job, the ghost, the completed, failed, active counts
  std::string all;
  for (const std::string& problem : damaged->listed) all += problem + "\n";
  EXPECT_NE(all.find("job '" + lost + "' (waiting) is not in the index of 'q'"), std::string::npos)
      << all;
  EXPECT_NE(all.find("the failed index of 'q' holds job 'ghost', which has no record"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("the counter of completed jobs says 7, its index holds 0"), std::string::npos)
      << all;

  auto repaired = CheckStore(options_, true);
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  EXPECT_TRUE(repaired->repaired);
  EXPECT_EQ(repaired->left, 0u);
  Open();
  EXPECT_EQ(store_->Counts("q")->waiting, 3u);
  EXPECT_EQ(store_->Counts("q")->failed, 0u);
  EXPECT_EQ(store_->Counts("q")->completed, 0u);
  std::vector<std::string> taken;
  while (auto job = store_->Take("q", now_).value()) taken.push_back(job->id);
  EXPECT_EQ(taken.size(), 3u);
  EXPECT_NE(std::find(taken.begin(), taken.end(), lost), taken.end());
  EXPECT_NE(std::find(taken.begin(), taken.end(), kept), taken.end());
  EXPECT_NE(std::find(taken.begin(), taken.end(), done), taken.end());

  // A store that is open (or none at all) is refused.
  EXPECT_TRUE(CheckStore(options_, false).status().IsIOError());
  StoreOptions none = options_;
  none.data_dir = dir_.Sub("nothing");
  EXPECT_TRUE(CheckStore(none, false).status().IsNotFound());
}

TEST_F(StoreTest, SizesAreReported) {
  for (int i = 0; i < 100; ++i) Add(std::string(100, 'x'));
  EXPECT_GT(store_->MemtableBytes(), 0u);
  EXPECT_GT(store_->DiskBytes(), 0u);  // the WAL at least
  EXPECT_TRUE(store_->SyncWal().ok());
}

class FsyncModeTest : public StoreTest, public ::testing::WithParamInterface<FsyncMode> {
 protected:
  void SetUp() override {
    options_.fsync = GetParam();
    StoreTest::SetUp();
  }
};

TEST_P(FsyncModeTest, JobsSurviveReopenInEveryMode) {
  std::string id = Add("x");
  Reopen();
  EXPECT_EQ(TakeOne().id, id);
}

INSTANTIATE_TEST_SUITE_P(AllModes, FsyncModeTest,
                         ::testing::Values(FsyncMode::kAlways, FsyncMode::kEverysec,
                                           FsyncMode::kNo),
                         [](const auto& mode) { return std::string(FsyncModeName(mode.param)); });

TEST(FsyncModeNameTest, ParsesNames) {
  EXPECT_EQ(*ParseFsyncMode("always"), FsyncMode::kAlways);
  EXPECT_EQ(*ParseFsyncMode("EVERYSEC"), FsyncMode::kEverysec);
  EXPECT_EQ(*ParseFsyncMode("no"), FsyncMode::kNo);
  EXPECT_TRUE(ParseFsyncMode("sometimes").status().IsInvalidArgument());
}

}  // namespace
}  // namespace herald::storage

namespace herald::storage {
namespace {

// The counts every state should have, compared field by field.
void ExpectCounts(const QueueCounts& got, std::uint64_t waiting, std::uint64_t active,
                  std::uint64_t delayed, std::uint64_t completed, std::uint64_t failed) {
  EXPECT_EQ(got.waiting, waiting);
  EXPECT_EQ(got.active, active);
  EXPECT_EQ(got.delayed, delayed);
  EXPECT_EQ(got.completed, completed);
  EXPECT_EQ(got.failed, failed);
}

TEST_F(StoreTest, CountsComeBackFromTheKeptCountersAfterAReopen) {
  for (int i = 0; i < 10; ++i) Add("w" + std::to_string(i));
  for (int i = 0; i < 3; ++i) {
    NewJob later = Payload("d" + std::to_string(i));
    later.due_ms = now_ + 60000;
    Add(later);
  }
  std::vector<Job> taken;
  for (int i = 0; i < 4; ++i) taken.push_back(TakeOne());
  ASSERT_TRUE(store_->Complete(taken[0].id, "", now_).ok());
  ASSERT_TRUE(store_->Complete(taken[1].id, "", now_).ok());
  ASSERT_TRUE(store_->FailFinal(taken[2].id, "boom", now_).ok());
  ExpectCounts(store_->Counts("q").value(), 6, 1, 3, 2, 1);
  Close();
  {
    // The counters the changes kept: waiting 6, active 1 (the lease), delayed 3, ...
    RawDb raw(options_.data_dir);
    EXPECT_EQ(raw.Get("q.q", std::string(keys::kCountedKey)).has_value(), true);
    EXPECT_EQ(keys::DecodeCount(raw.Get("q.q", keys::CountKey(JobState::kWaiting)).value()), 6);
    EXPECT_EQ(keys::DecodeCount(raw.Get("q.q", keys::CountKey(JobState::kActive)).value()), 1);
  }
  Open();
  // The job that was active had its one attempt and never stalled before: waiting again.
  ExpectCounts(store_->Counts("q").value(), 7, 0, 3, 2, 1);
  Close();
  Open();
  ExpectCounts(store_->Counts("q").value(), 7, 0, 3, 2, 1);
}

TEST_F(StoreTest, AQueueWithoutCountersIsCountedOnceAndKeepsThemFromThen) {
  for (int i = 0; i < 5; ++i) Add("w" + std::to_string(i));
  TakeOne();
  Close();
  {
    // An older build's queue: no counters.
    RawDb raw(options_.data_dir);
    raw.Delete("q.q", std::string(keys::kCountedKey));
    for (JobState state : {JobState::kWaiting, JobState::kActive}) {
      raw.Delete("q.q", keys::CountKey(state));
    }
  }
  Open();
  // The taken job had its one attempt, and stalled for the first time: waiting again.
  ExpectCounts(store_->Counts("q").value(), 5, 0, 0, 0, 0);
  Close();
  {
    RawDb raw(options_.data_dir);
    EXPECT_TRUE(raw.Get("q.q", std::string(keys::kCountedKey)).has_value());
    EXPECT_EQ(keys::DecodeCount(raw.Get("q.q", keys::CountKey(JobState::kWaiting)).value()), 5);
  }
  Open();
  ExpectCounts(store_->Counts("q").value(), 5, 0, 0, 0, 0);
}

TEST_F(StoreTest, CountersThatDisagreeWithTheIndexAreCountedAgain) {
  for (int i = 0; i < 4; ++i) Add("w" + std::to_string(i));
  Close();
  {
    // Damaged: three leases counted, none in the index.
    RawDb raw(options_.data_dir);
    raw.Put("q.q", keys::CountKey(JobState::kActive), keys::EncodeCount(3));
  }
  Open();
  ExpectCounts(store_->Counts("q").value(), 4, 0, 0, 0, 0);
  EXPECT_EQ(TakeOne().payload, "w0");
}

// ---- Attempt history ----------------------------------------------------------------------

void ExpectAttempt(const Attempt& a, std::int64_t started_ms, std::int64_t ended_ms,
                   AttemptOutcome outcome, const std::string& error, const std::string& worker,
                   std::int64_t backoff_ms = 0, std::int64_t next_due_ms = 0) {
  EXPECT_EQ(a.started_ms, started_ms);
  EXPECT_EQ(a.ended_ms, ended_ms);
  EXPECT_EQ(AttemptOutcomeName(a.outcome), AttemptOutcomeName(outcome));
  EXPECT_EQ(a.error, error);
  EXPECT_EQ(a.worker, worker);
  EXPECT_EQ(a.backoff_ms, backoff_ms);
  EXPECT_EQ(a.next_due_ms, next_due_ms);
}

// A record as builds before the history wrote it: version 1, nothing after the flags.
std::string EncodeJobOfVersionOne(Job job) {
  job.history.clear();
  std::string bytes = EncodeJob(job);
  bytes[0] = '\x01';
  bytes.pop_back();  // the history's count, 0
  return bytes;
}

TEST_F(StoreTest, TakeStartsAnAttemptOfItsWorkerAndCompleteEndsIt) {
  std::string id = Add("x");
  Job taken = TakeAs("mailer-1@10.0.0.7:51234");
  ASSERT_EQ(taken.history.size(), 1u);
  ExpectAttempt(taken.history[0], now_, 0, AttemptOutcome::kRunning, "", "mailer-1@10.0.0.7:51234");
  auto shown = store_->Get(id);
  ASSERT_TRUE(shown.ok());
  ASSERT_EQ(shown->history.size(), 1u);
  EXPECT_EQ(shown->history[0].outcome, AttemptOutcome::kRunning);
  auto done = store_->Complete(id, "ok", now_ + 25);
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(done->history.size(), 1u);
  ExpectAttempt(done->history[0], now_, now_ + 25, AttemptOutcome::kCompleted, "",
                "mailer-1@10.0.0.7:51234");
}

TEST_F(StoreTest, AJobThatFailsTwiceThenCompletesKeepsThreeAttempts) {
  NewJob job = Payload("x");
  job.max_attempts = 3;
  std::string id = Add(job);
  TakeAs("local:1");
  now_ += 30;
  ASSERT_TRUE(store_->FailRetry(id, "smtp 451", now_ + 2000, now_).ok());
  now_ += 2000;
  ASSERT_EQ(store_->PromoteDue("q", now_, 10).value(), 1u);
  now_ += 5;
  TakeAs("mailer@10.0.0.7:5000");
  now_ += 40;
  // Due already: waiting at once, no backoff.
  ASSERT_TRUE(store_->FailRetry(id, "connection reset", now_ - 1, now_).ok());
  now_ += 1;
  TakeAs("local:2");
  now_ += 7;
  ASSERT_TRUE(store_->Complete(id, "250 sent", now_).ok());
  for (int open = 0; open < 2; ++open) {
    auto shown = store_->Get(id);
    ASSERT_TRUE(shown.ok());
    ASSERT_EQ(shown->history.size(), 3u);
    ExpectAttempt(shown->history[0], kNow, kNow + 30, AttemptOutcome::kRetrying, "smtp 451",
                  "local:1", 2000, kNow + 2030);
    ExpectAttempt(shown->history[1], kNow + 2035, kNow + 2075, AttemptOutcome::kRetrying,
                  "connection reset", "mailer@10.0.0.7:5000", 0, kNow + 2075);
    ExpectAttempt(shown->history[2], kNow + 2076, kNow + 2083, AttemptOutcome::kCompleted, "",
                  "local:2");
    Reopen();
  }
}

TEST_F(StoreTest, FailFinalEndsTheAttemptFailedOrStalled) {
  std::string failed = Add("a");
  std::string expired = Add("b");
  TakeAs("w1");
  TakeAs("w2");
  std::string long_error(5000, 'e');
  auto a = store_->FailFinal(failed, long_error, now_ + 1);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->last_error, long_error);  // the job's last error is as before
  ASSERT_EQ(a->history.size(), 1u);
  ExpectAttempt(a->history[0], now_, now_ + 1, AttemptOutcome::kFailed,
                std::string(kMaxAttemptErrorBytes, 'e'), "w1");
  auto b = store_->FailFinal(expired, "lease expired", now_ + 2, AttemptOutcome::kStalled);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->history.size(), 1u);
  ExpectAttempt(b->history[0], now_, now_ + 2, AttemptOutcome::kStalled, "lease expired", "w2");
}

TEST_F(StoreTest, RequeueEndsTheAttemptStalledWithTheReason) {
  std::string id = Add("x");
  TakeAs("gone@10.0.0.9:4000");
  ASSERT_TRUE(store_->Requeue(id, "lease expired", now_ + 60000).ok());
  Job again = TakeAs("local:0");
  ASSERT_EQ(again.history.size(), 2u);
  ExpectAttempt(again.history[0], now_, now_ + 60000, AttemptOutcome::kStalled, "lease expired",
                "gone@10.0.0.9:4000");
  ExpectAttempt(again.history[1], now_, 0, AttemptOutcome::kRunning, "", "local:0");
}

TEST_F(StoreTest, HistoryKeepsTheLast25AttemptsAcrossReopen) {
  NewJob job = Payload("x");
  job.max_attempts = 100;
  std::string id = Add(job);
  for (int i = 0; i < 30; ++i) {
    now_ = kNow + i * 10;
    TakeAs("local:" + std::to_string(i));
    ASSERT_TRUE(store_->FailRetry(id, "e" + std::to_string(i), now_, now_).ok());
  }
  Reopen();
  auto shown = store_->Get(id);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->attempts_made, 30u);
  ASSERT_EQ(shown->history.size(), kMaxAttemptHistory);
  EXPECT_EQ(shown->history.front().worker, "local:5");  // the first five were dropped
  EXPECT_EQ(shown->history.front().error, "e5");
  EXPECT_EQ(shown->history.back().worker, "local:29");
  // And a take keeps the bound, with the running attempt last.
  Job taken = TakeAs("local:30");
  ASSERT_EQ(taken.history.size(), kMaxAttemptHistory);
  EXPECT_EQ(taken.history.front().worker, "local:6");
  EXPECT_EQ(taken.history.back().outcome, AttemptOutcome::kRunning);
}

TEST_F(StoreTest, TransitionsThatAreNotAttemptsKeepTheHistory) {
  std::string failed = Add("f");
  std::string delayed = Add("d");
  TakeAs("w");
  TakeAs("w");
  ASSERT_TRUE(store_->FailFinal(failed, "bad", now_).ok());
  ASSERT_TRUE(store_->FailRetry(delayed, "later", now_ + 1000, now_).ok());
  auto retried = store_->RetryAllFailed("q", now_);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(*retried, 1u);
  ASSERT_TRUE(store_->Promote(delayed, now_).ok());
  for (const std::string& id : {failed, delayed}) {
    auto shown = store_->Get(id);
    ASSERT_TRUE(shown.ok());
    EXPECT_EQ(shown->state, JobState::kWaiting);
    ASSERT_EQ(shown->history.size(), 1u) << id;
    EXPECT_EQ(shown->history[0].outcome,
              id == failed ? AttemptOutcome::kFailed : AttemptOutcome::kRetrying);
  }
  TakeAs("w");
  ASSERT_TRUE(store_->FailFinal(failed, "bad again", now_).ok());
  ASSERT_TRUE(store_->Retry(failed, now_).ok());
  EXPECT_EQ(store_->Get(failed)->history.size(), 2u);
}

TEST_F(StoreTest, CompleteAndTakeStartsTheAttemptOfTheJobTakenAlong) {
  std::string first = Add("a");
  std::string second = Add("b");
  TakeAs("local:4");
  auto result = store_->CompleteAndTake({first, ""}, "q", now_ + 3, "local:4");
  ASSERT_TRUE(result.completed.ok());
  ASSERT_TRUE(result.next.has_value());
  EXPECT_EQ(result.next->id, second);
  ASSERT_EQ(result.next->history.size(), 1u);
  ExpectAttempt(result.next->history[0], now_ + 3, 0, AttemptOutcome::kRunning, "", "local:4");
  ExpectAttempt(result.completed->history.at(0), now_, now_ + 3, AttemptOutcome::kCompleted, "",
                "local:4");
}

// The running attempt is in the lease alone until it ends; a restart ends it stalled.
TEST_F(StoreTest, TheLeaseKeepsTheWorkerAndOpenEndsTheAttemptStalled) {
  NewJob job = Payload("poison");
  job.max_attempts = 2;
  std::string id = Add(job);
  TakeAs("crashy@10.0.0.3:7000");
  Reopen();
  auto shown = store_->Get(id);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->state, JobState::kWaiting);
  ASSERT_EQ(shown->history.size(), 1u);
  const Attempt& first = shown->history[0];
  EXPECT_EQ(first.started_ms, now_);
  EXPECT_GT(first.ended_ms, 0);
  EXPECT_EQ(first.outcome, AttemptOutcome::kStalled);
  EXPECT_EQ(first.error, "stalled: worker lost (process restarted)");
  EXPECT_EQ(first.worker, "crashy@10.0.0.3:7000");
  // The last attempt: the job fails, and its attempt says why.
  TakeAs("local:0");
  Reopen();
  shown = store_->Get(id);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->state, JobState::kFailed);
  ASSERT_EQ(shown->history.size(), 2u);
  EXPECT_EQ(shown->history[1].outcome, AttemptOutcome::kStalled);
  EXPECT_EQ(shown->history[1].worker, "local:0");
}

TEST_F(StoreTest, ARecordAndLeaseOfAnOlderBuildAreRecoveredWithAStalledAttempt) {
  NewJob job = Payload("old");
  job.max_attempts = 3;
  std::string id = Add(job);
  std::string waiting_id = Add("waiting");
  auto record = store_->Get(id);
  auto waiting_record = store_->Get(waiting_id);
  ASSERT_TRUE(record.ok() && waiting_record.ok());
  Close();
  {
    // What a build before the history wrote: version 1 records, and a version 1 lease (no
    // worker) for the job it had taken.
    RawDb raw(options_.data_dir);
    raw.Put("jobs", id, EncodeJobOfVersionOne(*record));
    raw.Put("jobs", waiting_id, EncodeJobOfVersionOne(*waiting_record));
    std::string lease("\0\x01", 2);
    keys::PutVarint(&lease, 1);
    keys::PutZigzag(&lease, kNow - 500);
    lease += id;
    raw.Put("q.q", keys::WaitingKey(0, record->seq), lease);
    raw.Delete("q.q", std::string(keys::kCountedKey));  // nor did it keep counters
  }
  Open();
  EXPECT_EQ(store_->recovered_active(), 1u);
  auto waiting = store_->Get(waiting_id);
  ASSERT_TRUE(waiting.ok()) << waiting.status().ToString();
  EXPECT_EQ(waiting->payload, "waiting");
  EXPECT_TRUE(waiting->history.empty());
  auto recovered = store_->Get(id);
  ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
  EXPECT_EQ(recovered->state, JobState::kWaiting);
  EXPECT_EQ(recovered->attempts_made, 1u);
  ASSERT_EQ(recovered->history.size(), 1u);
  EXPECT_EQ(recovered->history[0].started_ms, kNow - 500);
  EXPECT_EQ(recovered->history[0].outcome, AttemptOutcome::kStalled);
  EXPECT_EQ(recovered->history[0].worker, "");
  Job again = TakeAs("local:1");
  EXPECT_EQ(again.id, id);
  ASSERT_TRUE(store_->Complete(id, "", now_).ok());
  EXPECT_EQ(store_->Get(id)->history.size(), 2u);
}

// Past the memory budget of active jobs, the payload and the earlier attempts are read back
// from the record: reads and the transition see the whole history.
TEST_F(StoreTest, AnActiveJobKeptWithoutItsPayloadHasItsWholeHistory) {
  NewJob job = Payload(std::string(100'000, 'p'));
  job.max_attempts = 3;
  std::string id = Add(job);
  TakeAs("local:0");
  ASSERT_TRUE(store_->FailRetry(id, "first", now_, now_).ok());
  now_ += 10;
  TakeAs("local:1");
  auto shown = store_->Get(id);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->payload.size(), 100'000u);
  ASSERT_EQ(shown->history.size(), 2u);
  EXPECT_EQ(shown->history[0].error, "first");
  ExpectAttempt(shown->history[1], now_, 0, AttemptOutcome::kRunning, "", "local:1");
  ASSERT_TRUE(store_->Complete(id, "", now_ + 1).ok());
  shown = store_->Get(id);
  ASSERT_EQ(shown->history.size(), 2u);
  EXPECT_EQ(shown->history[0].outcome, AttemptOutcome::kRetrying);
  EXPECT_EQ(shown->history[1].outcome, AttemptOutcome::kCompleted);
}

}  // namespace
}  // namespace herald::storage
