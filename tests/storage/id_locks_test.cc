// IdLocks with real threads: one id is held by one thread at a time (a second Lock waits for
// the first to be released, TryLock refuses), different ids never wait for each other,
// LockMany takes a batch (duplicates once, in sorted order, so crossed batches cannot
// deadlock), and a Guard releases what it holds when it goes, is moved or is assigned over.
#include "storage/id_locks.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace herald::storage {
namespace {

// More ids than IdLocks has shards: some of them share a shard with any other id.
std::vector<std::string> ManyIds(const std::string& prefix, int n = 64) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(prefix + std::to_string(i));
  return ids;
}

class IdLocksTest : public ::testing::Test {
 protected:
  // Whether `id` is free right now (taking and releasing it at once).
  bool IsFree(const std::string& id) { return locks_.TryLock(id).has_value(); }

  IdLocks locks_;
};

TEST_F(IdLocksTest, ALockHoldsItsIdUntilTheGuardGoes) {
  {
    IdLocks::Guard guard = locks_.Lock("job-1");
    EXPECT_FALSE(IsFree("job-1"));
  }
  EXPECT_TRUE(IsFree("job-1"));
}

TEST_F(IdLocksTest, TryLockHoldsAFreeIdAndRefusesAHeldOne) {
  std::optional<IdLocks::Guard> first = locks_.TryLock("job-1");
  ASSERT_TRUE(first.has_value());
  // Refused on the holding thread too: locks of one id do not nest.
  EXPECT_FALSE(locks_.TryLock("job-1").has_value());
  std::optional<IdLocks::Guard> from_other_thread;
  std::thread other([&] { from_other_thread = locks_.TryLock("job-1"); });
  other.join();
  EXPECT_FALSE(from_other_thread.has_value());

  first.reset();
  EXPECT_TRUE(IsFree("job-1"));
}

TEST_F(IdLocksTest, ASecondLockOfOneIdWaitsForTheFirst) {
  IdLocks::Guard first = locks_.Lock("job-1");
  std::atomic<bool> released{false};
  std::atomic<bool> second_saw_release{false};
  std::latch second_started(1);
  std::thread second([&] {
    second_started.count_down();
    IdLocks::Guard guard = locks_.Lock("job-1");
    second_saw_release = released.load();
  });
  second_started.wait();
  EXPECT_FALSE(IsFree("job-1"));
  released = true;
  first = IdLocks::Guard();
  second.join();
  // The second got the id only after the first let it go, and let it go in turn.
  EXPECT_TRUE(second_saw_release.load());
  EXPECT_TRUE(IsFree("job-1"));
}

TEST_F(IdLocksTest, OneIdIsHeldByOneThreadAtATime) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  std::atomic<int> inside{0};
  std::atomic<int> most_inside{0};
  int counter = 0;  // written only under the id lock
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        IdLocks::Guard guard = locks_.Lock("job-1");
        int now_inside = inside.fetch_add(1) + 1;
        int most = most_inside.load();
        while (now_inside > most && !most_inside.compare_exchange_weak(most, now_inside)) {
        }
        ++counter;
        inside.fetch_sub(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(most_inside.load(), 1);
  EXPECT_EQ(counter, kThreads * kRounds);
  EXPECT_TRUE(IsFree("job-1"));
}

TEST_F(IdLocksTest, LocksOfOtherIdsDoNotWaitForAHeldOne) {
  std::future<int> other;  // declared first: joined after `held` is released, even on failure
  IdLocks::Guard held = locks_.Lock("held");
  other = std::async(std::launch::async, [&] {
    int locked = 0;
    for (const std::string& id : ManyIds("other-")) {
      IdLocks::Guard guard = locks_.Lock(id);
      ++locked;
    }
    IdLocks::Guard batch = locks_.LockMany(ManyIds("batch-"));
    return locked + 1;
  });
  ASSERT_EQ(other.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "a lock of another id waited for the held one";
  EXPECT_EQ(other.get(), 65);
  EXPECT_FALSE(IsFree("held"));
}

TEST_F(IdLocksTest, LockManyHoldsEveryIdUntilTheGuardGoes) {
  std::vector<std::string> ids = ManyIds("job-", 20);
  {
    IdLocks::Guard guard = locks_.LockMany(ids);
    for (const std::string& id : ids) EXPECT_FALSE(IsFree(id)) << id;
    EXPECT_TRUE(IsFree("job-20"));
  }
  for (const std::string& id : ids) EXPECT_TRUE(IsFree(id)) << id;
}

TEST_F(IdLocksTest, LockManyTakesADuplicatedIdOnceAndReleasesIt) {
  {
    // Taking "a" twice would wait for itself forever.
    IdLocks::Guard guard = locks_.LockMany({"b", "a", "b", "a", "c"});
    EXPECT_FALSE(IsFree("a"));
    EXPECT_FALSE(IsFree("b"));
    EXPECT_FALSE(IsFree("c"));
  }
  EXPECT_TRUE(IsFree("a"));
  EXPECT_TRUE(IsFree("b"));
  EXPECT_TRUE(IsFree("c"));
}

TEST_F(IdLocksTest, LockManyOfNoIdsHoldsNothing) {
  IdLocks::Guard guard = locks_.LockMany({});
  EXPECT_TRUE(IsFree("a"));
}

TEST_F(IdLocksTest, LockManyWaitsForAnIdOfTheBatchThatIsHeld) {
  IdLocks::Guard held = locks_.Lock("b");
  std::atomic<bool> released{false};
  std::atomic<bool> batch_saw_release{false};
  std::atomic<int> batch_held_by_it{0};
  std::latch batch_started(1);
  std::thread batch([&] {
    batch_started.count_down();
    IdLocks::Guard guard = locks_.LockMany({"c", "b", "a"});
    batch_saw_release = released.load();
    for (const char* id : {"a", "b", "c"}) {
      if (!locks_.TryLock(id).has_value()) batch_held_by_it.fetch_add(1);
    }
  });
  batch_started.wait();
  released = true;
  held = IdLocks::Guard();
  batch.join();
  EXPECT_TRUE(batch_saw_release.load());
  EXPECT_EQ(batch_held_by_it.load(), 3);
  for (const char* id : {"a", "b", "c"}) EXPECT_TRUE(IsFree(id)) << id;
}

TEST_F(IdLocksTest, BatchesOfTheSameIdsInOppositeOrdersDoNotDeadlock) {
  // Taken in the order given, these would deadlock once each thread held its first id.
  const std::vector<std::string> forward = {"a", "b", "c", "d"};
  const std::vector<std::string> backward = {"d", "c", "b", "a"};
  constexpr int kRounds = 2000;
  int counter = 0;  // written only while holding all four
  auto run = [&](const std::vector<std::string>& ids) {
    for (int i = 0; i < kRounds; ++i) {
      IdLocks::Guard guard = locks_.LockMany(ids);
      ++counter;
    }
  };
  std::thread one(run, forward);
  std::thread two(run, backward);
  one.join();
  two.join();
  EXPECT_EQ(counter, 2 * kRounds);
  for (const std::string& id : forward) EXPECT_TRUE(IsFree(id)) << id;
}

TEST_F(IdLocksTest, ReleasingABatchWakesTheWaitersOfEachOfItsIds) {
  // Waiters of different ids that share shards: each is woken and gets its own id.
  std::vector<std::string> ids = ManyIds("job-", 32);
  IdLocks::Guard batch = locks_.LockMany(ids);
  std::atomic<bool> released{false};
  std::atomic<int> got_after_release{0};
  std::latch started(static_cast<std::ptrdiff_t>(ids.size()));
  std::vector<std::thread> waiters;
  for (const std::string& id : ids) {
    waiters.emplace_back([&, id] {
      started.count_down();
      IdLocks::Guard guard = locks_.Lock(id);
      if (released.load()) got_after_release.fetch_add(1);
    });
  }
  started.wait();
  released = true;
  batch = IdLocks::Guard();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(got_after_release.load(), static_cast<int>(ids.size()));
  for (const std::string& id : ids) EXPECT_TRUE(IsFree(id)) << id;
}

TEST_F(IdLocksTest, AMovedGuardHoldsTheIdsUntilItsNewOwnerGoes) {
  std::optional<IdLocks::Guard> moved_to;
  {
    IdLocks::Guard original = locks_.LockMany({"a", "b"});
    moved_to.emplace(std::move(original));
  }  // the moved-from guard releases nothing
  EXPECT_FALSE(IsFree("a"));
  EXPECT_FALSE(IsFree("b"));
  moved_to.reset();
  EXPECT_TRUE(IsFree("a"));
  EXPECT_TRUE(IsFree("b"));
}

TEST_F(IdLocksTest, AssigningToAGuardReleasesWhatItHeld) {
  IdLocks::Guard guard = locks_.Lock("a");
  guard = locks_.Lock("b");
  EXPECT_TRUE(IsFree("a"));
  EXPECT_FALSE(IsFree("b"));

  IdLocks::Guard other = locks_.Lock("c");
  guard = std::move(other);
  EXPECT_TRUE(IsFree("b"));
  EXPECT_FALSE(IsFree("c"));

  guard = IdLocks::Guard();
  EXPECT_TRUE(IsFree("c"));
}

}  // namespace
}  // namespace herald::storage
