// ChangeGroups (storage/postgres/pg_change_groups.h) without a database: the changes of
// callers in flight at once run as one group, a group never holds one job twice, groups are
// bounded in size and in how many run at once.
#include "storage/postgres/pg_change_groups.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace herald::storage::postgres {
namespace {

JobChange Acking(const std::string& id) {
  JobChange change;
  change.transitions.push_back(JobTransition{.id = id, .from = JobState::kActive});
  return change;
}

// Records each group's ids (a take as "take:<queue>") and answers every transition with its id.
class Recorder {
 public:
  void Run(const std::vector<JobChange*>& group) {
    std::vector<std::string> ids;
    for (JobChange* change : group) {
      change->results.clear();
      for (const JobTransition& t : change->transitions) {
        ids.push_back(t.id);
        Job job;
        job.id = t.id;
        change->results.emplace_back(std::move(job));
      }
      if (change->take) ids.push_back("take:" + change->take->queue);
    }
    std::lock_guard<std::mutex> lock(mu_);
    groups_.push_back(std::move(ids));
  }
  std::vector<std::vector<std::string>> groups() {
    std::lock_guard<std::mutex> lock(mu_);
    return groups_;
  }

 private:
  std::mutex mu_;
  std::vector<std::vector<std::string>> groups_;
};

// Waits (bounded) until `groups` has `n` changes waiting.
bool WaitForWaiting(const ChangeGroups& groups, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (groups.waiting() != n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// A group that holds the first caller until released, so that the next callers gather.
class HeldFirstGroup {
 public:
  HeldFirstGroup() : released_(release_.get_future().share()) {}
  ChangeGroups::RunGroup Runner(Recorder* recorder) {
    return [this, recorder](const std::vector<JobChange*>& group) {
      if (first_.exchange(false)) {
        started_.set_value();
        released_.wait();
      }
      recorder->Run(group);
    };
  }
  void WaitStarted() { started_.get_future().wait(); }
  void Release() { release_.set_value(); }

 private:
  std::atomic<bool> first_{true};
  std::promise<void> started_;
  std::promise<void> release_;
  std::shared_future<void> released_;
};

TEST(ChangeGroupsTest, ChangesThatWaitTogetherRunAsOneGroupInArrivalOrder) {
  Recorder recorder;
  HeldFirstGroup held;
  ChangeGroups groups(held.Runner(&recorder), 1, 1000);
  std::vector<std::thread> threads;
  JobChange first = Acking("j0");
  threads.emplace_back([&] { groups.Run(&first); });
  held.WaitStarted();  // the first group runs, held
  std::vector<JobChange> later;
  for (int i = 1; i <= 6; ++i) later.push_back(Acking("j" + std::to_string(i)));
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] { groups.Run(&later[i]); });
    ASSERT_TRUE(WaitForWaiting(groups, static_cast<std::size_t>(i) + 1));
  }
  held.Release();
  for (auto& t : threads) t.join();
  const auto ran = recorder.groups();
  ASSERT_EQ(ran.size(), 2u);
  EXPECT_EQ(ran[0], std::vector<std::string>{"j0"});
  EXPECT_EQ(ran[1], (std::vector<std::string>{"j1", "j2", "j3", "j4", "j5", "j6"}));
  EXPECT_EQ(groups.groups_run(), 2u);
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(later[i].results.size(), 1u);
    EXPECT_EQ(later[i].results[0]->id, "j" + std::to_string(i + 1));
  }
}

TEST(ChangeGroupsTest, TwoChangesOfOneJobNeverShareAGroupAndKeepTheirOrder) {
  Recorder recorder;
  HeldFirstGroup held;
  ChangeGroups groups(held.Runner(&recorder), 1, 1000);
  std::vector<std::thread> threads;
  JobChange first = Acking("other");
  threads.emplace_back([&] { groups.Run(&first); });
  held.WaitStarted();
  std::vector<JobChange> later;
  later.push_back(Acking("x"));
  later.push_back(Acking("x"));
  later.push_back(Acking("y"));
  later.push_back(Acking("x"));
  JobChange take;
  take.take = TakeAsk{"q", 1, 0, "w"};
  for (std::size_t i = 0; i < later.size(); ++i) {
    threads.emplace_back([&, i] { groups.Run(&later[i]); });
    ASSERT_TRUE(WaitForWaiting(groups, i + 1));
  }
  threads.emplace_back([&] { groups.Run(&take); });
  ASSERT_TRUE(WaitForWaiting(groups, later.size() + 1));
  held.Release();
  for (auto& t : threads) t.join();
  const auto ran = recorder.groups();
  ASSERT_EQ(ran.size(), 4u);
  EXPECT_EQ(ran[1], (std::vector<std::string>{"x", "y", "take:q"}));
  EXPECT_EQ(ran[2], std::vector<std::string>{"x"});
  EXPECT_EQ(ran[3], std::vector<std::string>{"x"});
}

TEST(ChangeGroupsTest, AGroupHoldsAtMostTheBoundAndALargerChangeRunsAlone) {
  Recorder recorder;
  HeldFirstGroup held;
  ChangeGroups groups(held.Runner(&recorder), 1, 3);
  std::vector<std::thread> threads;
  JobChange first = Acking("a");
  threads.emplace_back([&] { groups.Run(&first); });
  held.WaitStarted();
  JobChange big;
  for (int i = 0; i < 5; ++i) {
    big.transitions.push_back(JobTransition{.id = "big" + std::to_string(i)});
  }
  std::vector<JobChange> small;
  for (int i = 0; i < 4; ++i) small.push_back(Acking("s" + std::to_string(i)));
  threads.emplace_back([&] { groups.Run(&small[0]); });
  ASSERT_TRUE(WaitForWaiting(groups, 1));
  threads.emplace_back([&] { groups.Run(&big); });
  ASSERT_TRUE(WaitForWaiting(groups, 2));
  for (int i = 1; i < 4; ++i) {
    threads.emplace_back([&, i] { groups.Run(&small[i]); });
    ASSERT_TRUE(WaitForWaiting(groups, static_cast<std::size_t>(i) + 2));
  }
  held.Release();
  for (auto& t : threads) t.join();
  const auto ran = recorder.groups();
  ASSERT_EQ(ran.size(), 4u);
  EXPECT_EQ(ran[1], std::vector<std::string>{"s0"});  // s0 + big would pass 3
  EXPECT_EQ(ran[2].size(), 5u);                       // big, alone
  EXPECT_EQ(ran[3], (std::vector<std::string>{"s1", "s2", "s3"}));
}

TEST(ChangeGroupsTest, NoMoreGroupsRunAtOnceThanAllowedAndEveryChangeRunsOnce) {
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::atomic<int> changes_run{0};
  ChangeGroups groups(
      [&](const std::vector<JobChange*>& group) {
        const int now = running.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        for (JobChange* change : group) {
          change->results.assign(change->transitions.size(), Result<Job>(Job()));
          changes_run.fetch_add(1);
        }
        std::this_thread::yield();
        running.fetch_sub(1);
      },
      2, 1000);
  constexpr int kThreads = 8;
  constexpr int kEach = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        JobChange change = Acking(std::to_string(t) + "-" + std::to_string(i));
        groups.Run(&change);
        ASSERT_EQ(change.results.size(), 1u);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(changes_run.load(), kThreads * kEach);
  EXPECT_LE(most.load(), 2);
  EXPECT_LE(groups.groups_run(), static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_EQ(groups.waiting(), 0u);
}

}  // namespace
}  // namespace herald::storage::postgres
