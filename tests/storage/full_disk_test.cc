// A full disk: the store's data directory on a small tmpfs of its own (mounted by the test,
// which needs root or CAP_SYS_ADMIN; skipped otherwise). Writes that find no room fail with
// an error that names the cause, reads go on, nothing aborts; once there is room again the
// store takes writes again (by itself, or after a reopen) and has every add it acknowledged.
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>
#include <sys/mount.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.h"
#include "tests/support/temp_dir.h"

namespace herald::storage {
namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;

}  // namespace

// Test names and failure messages show the mode by name.
void PrintTo(FsyncMode mode, std::ostream* os) { *os << FsyncModeName(mode); }

namespace {

class FullDiskTest : public ::testing::TestWithParam<FsyncMode> {
 protected:
  void SetUp() override {
    mount_point_ = dir_.Sub("small");
    std::filesystem::create_directories(mount_point_);
    if (Mount("size=8m", 0) != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) << ")";
    }
    mounted_ = true;
  }
  void TearDown() override {
    store_.reset();
    if (mounted_) umount2(mount_point_.c_str(), MNT_DETACH);
  }

  int Mount(const std::string& size, unsigned long flags) {
    return mount("tmpfs", mount_point_.c_str(), "tmpfs", flags, size.c_str());
  }

  Status OpenStore() {
    store_.reset();
    StoreOptions options;
    options.data_dir = mount_point_ + "/db";
    options.fsync = GetParam();
    options.logger =
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    auto opened = Store::Open(options);
    if (!opened.ok()) return opened.status();
    store_ = std::move(opened).value();
    return store_->EnsureQueue("q");
  }

  // Adds 32 KiB jobs until one fails; the ids of those acknowledged go to `acked`.
  Status FillUntilFull(std::vector<std::string>* acked) {
    for (int i = 0; i < 2000; ++i) {
      NewJob job;
      job.payload = PayloadOf(static_cast<int>(acked->size()));
      auto added = store_->Add("q", std::move(job), kNow);
      if (!added.ok()) return added.status();
      acked->push_back(added->id);
    }
    return Status::Ok();
  }
  // Takes every acknowledged job, in order, with its payload.
  void ExpectAckedTakenInOrder(const std::vector<std::string>& acked) {
    for (std::size_t i = 0; i < acked.size(); ++i) {
      auto taken = store_->Take("q", kNow);
      ASSERT_TRUE(taken.ok() && taken->has_value()) << i;
      ASSERT_EQ((*taken)->id, acked[i]);
      ASSERT_EQ((*taken)->payload, PayloadOf(static_cast<int>(i)));
    }
  }

  static std::string PayloadOf(int i) {
    return "job " + std::to_string(i) + " " +
           std::string(32 * 1024, static_cast<char>('a' + i % 26));
  }

  testing::TempDir dir_;
  std::string mount_point_;
  bool mounted_ = false;
  std::unique_ptr<Store> store_;
};

TEST_P(FullDiskTest, AddsFailWithTheCauseNamedAndEveryAcknowledgedAddSurvives) {
  ASSERT_TRUE(OpenStore().ok());
  std::vector<std::string> acked;
  Status failed = FillUntilFull(&acked);
  ASSERT_FALSE(failed.ok()) << "8 MiB took 2000 adds of 32 KiB";
  ASSERT_FALSE(acked.empty());
  EXPECT_TRUE(failed.IsIOError()) << failed.ToString();
  EXPECT_NE(failed.ToString().find("No space left on device"), std::string::npos)
      << failed.ToString();
  EXPECT_NE(failed.ToString().find("add to q"), std::string::npos) << failed.ToString();

  // Still full: later writes fail the same way; what was acknowledged reads back. In
  // `everysec` the WAL sync thread runs meanwhile (RocksDB must not sync a failed WAL).
  if (GetParam() == FsyncMode::kEverysec) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  }
  NewJob more;
  more.payload = "one more";
  EXPECT_FALSE(store_->Add("q", std::move(more), kNow).ok());
  auto first = store_->Get(acked.front());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->payload, PayloadOf(0));
  store_.reset();

  // Room again: every acknowledged add is there, in order, and new adds work.
  ASSERT_EQ(Mount("size=64m", MS_REMOUNT), 0) << std::strerror(errno);
  Status reopened = OpenStore();
  ASSERT_TRUE(reopened.ok()) << reopened.ToString();
  ASSERT_NO_FATAL_FAILURE(ExpectAckedTakenInOrder(acked));
  NewJob after;
  after.payload = "after";
  EXPECT_TRUE(store_->Add("q", std::move(after), kNow).ok());
}

// Without a restart: once the disk has room again the store takes writes by itself (RocksDB
// recovers from the full disk, and the failed WAL is dropped), and nothing acknowledged is lost.
TEST_P(FullDiskTest, WritesResumeOnceTheDiskHasRoomAgain) {
  ASSERT_TRUE(OpenStore().ok());
  std::vector<std::string> acked;
  ASSERT_FALSE(FillUntilFull(&acked).ok());
  ASSERT_EQ(Mount("size=64m", MS_REMOUNT), 0) << std::strerror(errno);
  Status resumed = Status::IOError("not tried");
  for (int i = 0; i < 300 && !resumed.ok(); ++i) {  // up to 30 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    NewJob job;
    job.payload = PayloadOf(static_cast<int>(acked.size()));
    auto added = store_->Add("q", std::move(job), kNow);
    resumed = added.status();
    if (added.ok()) acked.push_back(added->id);
  }
  ASSERT_TRUE(resumed.ok()) << resumed.ToString();
  ASSERT_TRUE(store_->SyncWal().ok());
  store_.reset();
  ASSERT_TRUE(OpenStore().ok());
  ASSERT_NO_FATAL_FAILURE(ExpectAckedTakenInOrder(acked));
}

INSTANTIATE_TEST_SUITE_P(Modes, FullDiskTest,
                         ::testing::Values(FsyncMode::kAlways, FsyncMode::kEverysec,
                                           FsyncMode::kNo),
                         [](const ::testing::TestParamInfo<FsyncMode>& mode) {
                           return std::string(FsyncModeName(mode.param));
                         });

}  // namespace
}  // namespace herald::storage
