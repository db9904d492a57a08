// Scheduler alone, with a tick that counts its passes: a wake-up asked for before the planned
// one runs a pass at once, also when it was asked for during a pass.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <thread>

#include "tests/support/fake_clock.h"

namespace herald::engine {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

// Waits up to 2 s (well under the scheduler's longest sleep, 5 s) until `passes` reaches `n`.
bool WaitForPasses(const std::atomic<int>& passes, int n) {
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (passes.load() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  return passes.load() >= n;
}

TEST(SchedulerTest, AnEarlierWakeUpRunsAPassAtOnce) {
  testing::FakeClock clock;
  std::atomic<int> passes{0};
  Scheduler scheduler(&clock, [&] {
    ++passes;
    return kNever;  // nothing to do: sleeps as long as it may
  });
  scheduler.Start();
  ASSERT_TRUE(WaitForPasses(passes, 1));
  scheduler.WakeAt(clock.NowMs());
  EXPECT_TRUE(WaitForPasses(passes, 2));
  scheduler.Stop();
}

TEST(SchedulerTest, AWakeUpAskedForDuringAPassIsNotLost) {
  testing::FakeClock clock;
  std::atomic<int> passes{0};
  Scheduler* self = nullptr;
  Scheduler scheduler(&clock, [&] {
    // The first pass looked at the work before a change that asks for a pass now.
    if (++passes == 1) self->WakeAt(clock.NowMs());
    return kNever;
  });
  self = &scheduler;
  scheduler.Start();
  EXPECT_TRUE(WaitForPasses(passes, 2));
  scheduler.Stop();
}

TEST(SchedulerTest, StopEndsAThreadAsleepAndIsIdempotent) {
  testing::FakeClock clock;
  std::atomic<int> passes{0};
  Scheduler scheduler(&clock, [&] {
    ++passes;
    return kNever;
  });
  scheduler.Start();
  ASSERT_TRUE(WaitForPasses(passes, 1));
  const auto start = std::chrono::steady_clock::now();
  scheduler.Stop();
  scheduler.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  scheduler.WakeAt(clock.NowMs());  // no thread: nothing happens
  EXPECT_EQ(passes.load(), 1);
}

}  // namespace
}  // namespace herald::engine
