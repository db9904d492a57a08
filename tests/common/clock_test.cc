#include "common/clock.h"

#include <gtest/gtest.h>

#include <chrono>

#include "tests/support/fake_clock.h"

namespace herald {
namespace {

TEST(ClockTest, SystemClockReadsWallClockMilliseconds) {
  SystemClock clock;
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::int64_t now = clock.NowMs();
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  EXPECT_GE(now, before);
  EXPECT_LE(now, after);
}

TEST(ClockTest, FakeClockMovesOnlyWhenTold) {
  testing::FakeClock clock(1000);
  Clock& as_clock = clock;
  EXPECT_EQ(as_clock.NowMs(), 1000);
  clock.Advance(250);
  EXPECT_EQ(as_clock.NowMs(), 1250);
  clock.Set(5);
  EXPECT_EQ(as_clock.NowMs(), 5);
}

}  // namespace
}  // namespace herald
