#include "common/mutex.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>
#include <vector>

namespace herald {
namespace {

class Counter {
 public:
  void Add() {
    MutexLock lock(&mu_);
    ++value_;
  }
  int value() {
    MutexLock lock(&mu_);
    return value_;
  }

 private:
  Mutex mu_;
  int value_ GUARDED_BY(mu_) = 0;
};

TEST(MutexTest, MutexLockSerialisesWriters) {
  Counter counter;
  std::vector<std::jthread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&counter] {
      for (int i = 0; i < 10000; ++i) counter.Add();
    });
  }
  threads.clear();  // joins
  EXPECT_EQ(counter.value(), 40000);
}

TEST(MutexTest, WorksWithConditionVariableAny) {
  Mutex mu;
  std::condition_variable_any cv;
  bool ready = false;
  std::jthread setter([&] {
    MutexLock lock(&mu);
    ready = true;
    cv.notify_all();
  });
  MutexLock lock(&mu);
  cv.wait(mu, [&]() NO_THREAD_SAFETY_ANALYSIS { return ready; });
  EXPECT_TRUE(ready);
}

}  // namespace
}  // namespace herald
