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
#include "tests/storage/store_fixture.h"
#include "tests/support/temp_dir.h"

namespace herald::storage {
namespace {

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

// The embedded store's own tests (what the contract does not cover: its files, column
// families, counters, recovery of older builds' records, checkpoints and checks).
class StoreTest : public ::testing::Test, public StoreFixture {
 protected:
  void SetUp() override {
    options_.data_dir = dir_.Sub("db");
    options_.fsync = FsyncMode::kNo;
    options_.logger = NullLogger();
    Open();
    ASSERT_TRUE(store_->EnsureQueue("q").ok());
  }
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

// ---- Take order -------------------------------------------------------------------------------

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

// ---- Transitions ------------------------------------------------------------------------------

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

// ---- Restarts ---------------------------------------------------------------------------------

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

// A record as builds before the history wrote it: version 1, nothing after the flags.
std::string EncodeJobOfVersionOne(Job job) {
  job.history.clear();
  std::string bytes = EncodeJob(job);
  bytes[0] = '\x01';
  bytes.pop_back();  // the history's count, 0
  return bytes;
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

}  // namespace
}  // namespace herald::storage
