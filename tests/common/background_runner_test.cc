#include "common/background_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

namespace herald {
namespace {

TEST(BackgroundRunnerTest, RunsTasksInOrderOffTheCallingThread) {
  BackgroundRunner runner;
  std::vector<int> order;
  std::promise<std::thread::id> ran_on;
  ASSERT_TRUE(runner.Post([&] { order.push_back(1); }).ok());
  ASSERT_TRUE(runner
                  .Post([&] {
                    order.push_back(2);
                    ran_on.set_value(std::this_thread::get_id());
                  })
                  .ok());
  EXPECT_NE(ran_on.get_future().get(), std::this_thread::get_id());
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(BackgroundRunnerTest, RefusesBeyondItsCapacityAndDropsWaitingTasksWhenDestroyed) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  std::atomic<int> ran{0};
  std::jthread unblock;
  {
    BackgroundRunner runner(1);
    ASSERT_TRUE(runner
                    .Post([&] {
                      started.set_value();
                      released.wait();
                    })
                    .ok());
    started.get_future().wait();
    ASSERT_TRUE(runner.Post([&] { ++ran; }).ok());  // waits
    Status refused = runner.Post([&] { ++ran; });
    EXPECT_TRUE(refused.IsBusy()) << refused.ToString();
    // The destructor waits for the running task, which this lets finish.
    unblock = std::jthread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      release.set_value();
    });
  }
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace herald
