// SequenceAllocator on a real Database in a temporary directory: numbers are consecutive within
// a call and never handed out twice, across threads and across a reopen (even one that did not
// use up its reserved block).
#include "storage/sequence_allocator.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "storage/database.h"
#include "tests/support/temp_dir.h"

namespace herald::storage {
namespace {

class SequenceAllocatorTest : public ::testing::Test {
 protected:
  std::unique_ptr<Database> OpenDatabase() {
    StoreOptions options;
    options.data_dir = dir_.path();
    options.fsync = FsyncMode::kNo;
    auto log = std::make_shared<spdlog::logger>("sequence_allocator_test",
                                                std::make_shared<spdlog::sinks::null_sink_mt>());
    auto database = Database::Open(options, log);
    EXPECT_TRUE(database.ok()) << database.status().ToString();
    return database.ok() ? std::move(*database) : nullptr;
  }

  herald::testing::TempDir dir_;
};

TEST_F(SequenceAllocatorTest, HandsOutConsecutiveNumbersStartingAtOne) {
  auto database = OpenDatabase();
  ASSERT_NE(database, nullptr);
  SequenceAllocator sequence(database.get());
  ASSERT_TRUE(sequence.Load().ok());
  auto first = sequence.Allocate(3);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 1u);
  auto next = sequence.Allocate(1);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 4u);
}

TEST_F(SequenceAllocatorTest, ConcurrentCallersNeverShareANumber) {
  auto database = OpenDatabase();
  ASSERT_NE(database, nullptr);
  SequenceAllocator sequence(database.get());
  ASSERT_TRUE(sequence.Load().ok());
  std::mutex mu;
  std::set<std::uint64_t> seen;
  std::size_t handed_out = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        // Blocks of 97 cross the reserved limit several times.
        auto first = sequence.Allocate(97);
        ASSERT_TRUE(first.ok());
        std::lock_guard<std::mutex> lock(mu);
        for (std::uint64_t n = *first; n < *first + 97; ++n) seen.insert(n);
        handed_out += 97;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), handed_out);
}

TEST_F(SequenceAllocatorTest, NumbersContinueAfterAReopenWithoutReuse) {
  std::uint64_t last = 0;
  {
    auto database = OpenDatabase();
    ASSERT_NE(database, nullptr);
    SequenceAllocator sequence(database.get());
    ASSERT_TRUE(sequence.Load().ok());
    auto first = sequence.Allocate(10);
    ASSERT_TRUE(first.ok());
    last = *first + 9;
  }
  auto database = OpenDatabase();
  ASSERT_NE(database, nullptr);
  SequenceAllocator sequence(database.get());
  ASSERT_TRUE(sequence.Load().ok());
  auto first = sequence.Allocate(1);
  ASSERT_TRUE(first.ok());
  EXPECT_GT(*first, last);
}

// Waits until the raiser thread has moved the limit beyond `limit`; false after 10 s.
bool LimitRaisedBeyond(const SequenceAllocator& sequence, std::uint64_t limit) {
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       std::chrono::steady_clock::now() < deadline;) {
    if (sequence.limit() > limit) return true;
    std::this_thread::yield();
  }
  return false;
}

TEST_F(SequenceAllocatorTest, TheLimitIsRaisedAheadSoThatCallersDoNotWaitForItsSync) {
  auto database = OpenDatabase();
  ASSERT_NE(database, nullptr);
  SequenceAllocator sequence(database.get());
  ASSERT_TRUE(sequence.Load().ok());
  ASSERT_TRUE(sequence.Allocate(1).ok());  // the first block: nothing was reserved before
  EXPECT_EQ(sequence.raises_waited_for(), 1u);
  const std::uint64_t first_limit = sequence.limit();
  // Below half of the block nothing is asked for; past it the raiser reserves the next block.
  ASSERT_TRUE(sequence.Allocate(SequenceAllocator::kBlock / 4).ok());
  EXPECT_EQ(sequence.limit(), first_limit);
  ASSERT_TRUE(sequence.Allocate(SequenceAllocator::kBlock / 4 + 10).ok());
  ASSERT_TRUE(LimitRaisedBeyond(sequence, first_limit));
  EXPECT_GE(sequence.limit(), first_limit + SequenceAllocator::kBlock);
  // Up to and past the first block's end without waiting for a sync.
  auto past = sequence.Allocate(first_limit - *sequence.Allocate(0) + 10);
  ASSERT_TRUE(past.ok());
  EXPECT_GT(*sequence.Allocate(0), first_limit);
  EXPECT_EQ(sequence.raises_waited_for(), 1u);
}

TEST_F(SequenceAllocatorTest, NumbersOfALimitRaisedAheadAreNotReusedAfterAReopen) {
  std::uint64_t last = 0;
  {
    auto database = OpenDatabase();
    ASSERT_NE(database, nullptr);
    SequenceAllocator sequence(database.get());
    ASSERT_TRUE(sequence.Load().ok());
    ASSERT_TRUE(sequence.Allocate(1).ok());
    const std::uint64_t first_limit = sequence.limit();
    ASSERT_TRUE(sequence.Allocate(SequenceAllocator::kBlock / 2 + 10).ok());
    ASSERT_TRUE(LimitRaisedBeyond(sequence, first_limit));
    // Numbers of the block reserved ahead, beyond the first limit.
    auto taken = sequence.Allocate(first_limit - *sequence.Allocate(0) + 100);
    ASSERT_TRUE(taken.ok());
    last = *sequence.Allocate(0) - 1;
    ASSERT_GT(last, first_limit);
  }
  auto database = OpenDatabase();
  ASSERT_NE(database, nullptr);
  SequenceAllocator sequence(database.get());
  ASSERT_TRUE(sequence.Load().ok());
  auto first = sequence.Allocate(1);
  ASSERT_TRUE(first.ok());
  EXPECT_GT(*first, last);
}

}  // namespace
}  // namespace herald::storage
