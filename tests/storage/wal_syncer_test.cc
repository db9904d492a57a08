// WalSyncer on a real RocksDB in a temporary directory: concurrent commits all land, survive a
// reopen and share WAL syncs; SyncWritten covers the writes made before it; a WAL sync that
// fails reaches every caller it should have covered, with the error named.
#include "storage/wal_syncer.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"

namespace herald::storage {
namespace {

// Passes everything through, except that the WAL's syncs fail while `fail` is set.
class FailingSyncFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FailingSyncFile(std::unique_ptr<rocksdb::FSWritableFile> file, const std::atomic<bool>* fail)
      : FSWritableFileOwnerWrapper(std::move(file)), fail_(fail) {}

  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (fail_->load()) return rocksdb::IOStatus::IOError("injected: the disk is gone");
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (fail_->load()) return rocksdb::IOStatus::IOError("injected: the disk is gone");
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  const std::atomic<bool>* fail_;
};

class FailingSyncFs : public rocksdb::FileSystemWrapper {
 public:
  FailingSyncFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FailingSyncFs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, file, dbg);
    if (s.ok() && name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0) {
      *file = std::make_unique<FailingSyncFile>(std::move(*file), &fail);
    }
    return s;
  }

  std::atomic<bool> fail{false};
};

class WalSyncerTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override { Close(); }

  void Open() {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.env = env_.get();
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, dir_.Sub("db"), &db);
    ASSERT_TRUE(s.ok()) << s.ToString();
    db_.reset(db);
    syncer_ = std::make_unique<WalSyncer>(db_.get());
  }
  void Close() {
    syncer_.reset();
    if (db_) (void)db_->Close();
    db_.reset();
  }

  std::string Get(const std::string& key) {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
    return s.ok() ? value : "<" + s.ToString() + ">";
  }

  testing::TempDir dir_;
  std::shared_ptr<FailingSyncFs> fs_ = std::make_shared<FailingSyncFs>();
  std::unique_ptr<rocksdb::Env> env_ = rocksdb::NewCompositeEnv(fs_);
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<WalSyncer> syncer_;
};

TEST_F(WalSyncerTest, ConcurrentCommitsAllLandAndShareSyncs) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = std::to_string(t) + "-" + std::to_string(i);
        rocksdb::WriteBatch batch;
        (void)batch.Put("a" + key, "first " + key);
        (void)batch.Put("b" + key, std::string(static_cast<std::size_t>(i % 7) * 100, 'x'));
        if (i % 10 == 0) (void)batch.Delete("b" + key);
        if (!syncer_->Commit(&batch).ok()) ++failures;
        // Visible once Commit returned.
        if (Get("a" + key) != "first " + key) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  // Sixteen writers that each wait for their sync must have shared some.
  EXPECT_LT(syncer_->syncs(), static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_GT(syncer_->syncs(), 0u);

  Close();
  Open();
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string key = std::to_string(t) + "-" + std::to_string(i);
      ASSERT_EQ(Get("a" + key), "first " + key);
      if (i % 10 == 0) {
        EXPECT_EQ(Get("b" + key), "<NotFound: >") << key;
      } else {
        EXPECT_EQ(Get("b" + key).size(), static_cast<std::size_t>(i % 7) * 100) << key;
      }
    }
  }
}

TEST_F(WalSyncerTest, AsyncCommitsLandInOrderShareSyncsAndMixWithCommits) {
  constexpr int kAsync = 500;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> done_order;
  int failures = 0;
  std::thread blocking([&] {  // Commit callers at the same time
    for (int i = 0; i < 50; ++i) {
      rocksdb::WriteBatch batch;
      (void)batch.Put("sync-" + std::to_string(i), "s");
      EXPECT_TRUE(syncer_->Commit(&batch).ok());
    }
  });
  for (int i = 0; i < kAsync; ++i) {
    rocksdb::WriteBatch batch;
    (void)batch.Put("async-" + std::to_string(i), "v" + std::to_string(i));
    syncer_->CommitAsync(std::move(batch), [&, i](Status status) {
      std::lock_guard<std::mutex> lock(mu);
      if (!status.ok()) ++failures;
      done_order.push_back(i);
      cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(
        cv.wait_for(lock, std::chrono::seconds(30), [&] { return done_order.size() == kAsync; }));
  }
  blocking.join();
  EXPECT_EQ(failures, 0);
  for (int i = 0; i < kAsync; ++i) ASSERT_EQ(done_order[static_cast<std::size_t>(i)], i);
  // 500 adds queued at once are written together: far fewer syncs than commits.
  EXPECT_LT(syncer_->syncs(), static_cast<std::uint64_t>(kAsync / 4));
  Close();
  Open();
  for (int i = 0; i < kAsync; ++i)
    ASSERT_EQ(Get("async-" + std::to_string(i)), "v" + std::to_string(i));
  for (int i = 0; i < 50; ++i) ASSERT_EQ(Get("sync-" + std::to_string(i)), "s");
}

TEST_F(WalSyncerTest, AsyncCommitsQueuedAtDestructionAreFinished) {
  std::atomic<int> ok{0};
  for (int i = 0; i < 100; ++i) {
    rocksdb::WriteBatch batch;
    (void)batch.Put("k" + std::to_string(i), "v");
    syncer_->CommitAsync(std::move(batch), [&](Status status) {
      if (status.ok()) ++ok;
    });
  }
  syncer_.reset();  // waits for every callback
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(Get("k99"), "v");
}

TEST_F(WalSyncerTest, AFailingSyncReachesAsyncCallers) {
  fs_->fail = true;
  std::atomic<int> failed{0};
  std::atomic<int> calls{0};
  for (int i = 0; i < 20; ++i) {
    rocksdb::WriteBatch batch;
    (void)batch.Put("k" + std::to_string(i), "v");
    syncer_->CommitAsync(std::move(batch), [&](Status status) {
      if (!status.ok() && status.ToString().find("sync") != std::string::npos) ++failed;
      ++calls;
    });
  }
  syncer_.reset();
  EXPECT_EQ(calls.load(), 20);
  EXPECT_EQ(failed.load(), 20);
  fs_->fail = false;
}

TEST_F(WalSyncerTest, BatchesTooBigToJoinAreWrittenOneByOne) {
  // Each over half of what a group joins into one write: two in one group go one by one.
  const std::string big(700 << 10, 'b');
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        rocksdb::WriteBatch batch;
        (void)batch.Put("big" + std::to_string(t) + "-" + std::to_string(i), big);
        (void)batch.Put("small" + std::to_string(t) + "-" + std::to_string(i), "s");
        if (!syncer_->Commit(&batch).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  Close();
  Open();
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(Get("big" + std::to_string(t) + "-" + std::to_string(i)), big);
      EXPECT_EQ(Get("small" + std::to_string(t) + "-" + std::to_string(i)), "s");
    }
  }
}

TEST_F(WalSyncerTest, SyncWrittenSyncsWhatWasWrittenBefore) {
  rocksdb::WriteOptions no_sync;
  ASSERT_TRUE(db_->Put(no_sync, "k", "v").ok());
  const std::uint64_t before = syncer_->syncs();
  ASSERT_TRUE(syncer_->SyncWritten().ok());
  EXPECT_EQ(syncer_->syncs(), before + 1);
  EXPECT_EQ(Get("k"), "v");
}

// Writers that commit through the syncer and writers that write on their own and then wait in
// SyncWritten share the syncs; every write of both kinds is there after a reopen.
TEST_F(WalSyncerTest, CommitsAndSyncWrittenCallsShareSyncs) {
  constexpr int kEach = 6;
  constexpr int kPerThread = 60;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kEach; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = std::to_string(t) + "-" + std::to_string(i);
        if (t % 2 == 0) {
          rocksdb::WriteBatch batch;
          (void)batch.Put(key, "committed");
          if (!syncer_->Commit(&batch).ok()) ++failures;
        } else {
          if (!db_->Put(rocksdb::WriteOptions(), key, "written").ok()) ++failures;
          if (!syncer_->SyncWritten().ok()) ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LT(syncer_->syncs(), static_cast<std::uint64_t>(2 * kEach * kPerThread));
  Close();
  Open();
  for (int t = 0; t < 2 * kEach; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      ASSERT_EQ(Get(std::to_string(t) + "-" + std::to_string(i)),
                t % 2 == 0 ? "committed" : "written");
    }
  }
}

TEST_F(WalSyncerTest, AFailedSyncReachesEveryCallerItCovered) {
  rocksdb::WriteBatch first;
  (void)first.Put("before", "1");
  ASSERT_TRUE(syncer_->Commit(&first).ok());

  fs_->fail = true;
  constexpr int kThreads = 8;
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      rocksdb::WriteBatch batch;
      (void)batch.Put("during" + std::to_string(t), "x");
      results[static_cast<std::size_t>(t)] = syncer_->Commit(&batch);
    });
  }
  for (auto& thread : threads) thread.join();
  for (const Status& status : results) {
    EXPECT_FALSE(status.ok());
    EXPECT_NE(status.ToString().find("IO error"), std::string::npos) << status.ToString();
  }
  Status synced = syncer_->SyncWritten();
  EXPECT_FALSE(synced.ok());
  fs_->fail = false;
  EXPECT_EQ(Get("before"), "1");  // what was synced before stays
}

}  // namespace
}  // namespace herald::storage
