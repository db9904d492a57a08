// QueueAdmission alone, on a fake clock: pause, the concurrency limit, the sliding rate window.
#include "engine/queue_admission.h"

#include <gtest/gtest.h>

#include <limits>

#include "tests/support/fake_clock.h"

namespace herald::engine {
namespace {

using Verdict = QueueAdmission::Verdict;

QueuePolicy Limits(std::uint32_t concurrency, std::uint32_t rate_max, std::int64_t rate_ms) {
  QueuePolicy policy;
  policy.name = "q";
  policy.concurrency = concurrency;
  policy.rate_max = rate_max;
  policy.rate_duration_ms = rate_ms;
  return policy;
}

TEST(QueueAdmissionTest, APausedQueueAdmitsNothingUntilResumed) {
  testing::FakeClock clock;
  QueueAdmission admission(Limits(0, 0, 0));
  admission.Pause();
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kRefused);
  admission.Resume();
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kReserved);
  EXPECT_EQ(admission.active(), 1u);
}

TEST(QueueAdmissionTest, ConcurrencyCountsSlotsUntilReleased) {
  testing::FakeClock clock;
  QueueAdmission admission(Limits(2, 0, 0));
  EXPECT_TRUE(admission.concurrency_limited());
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kReserved);
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kReserved);
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kRefused);
  admission.Release();
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kReserved);
  admission.Unreserve(clock.NowMs());  // that take found no job
  EXPECT_EQ(admission.active(), 1u);
  // A lease that comes back holds a slot again, even beyond the limit for a moment.
  admission.Readmit();
  admission.Readmit();
  EXPECT_EQ(admission.active(), 3u);
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kRefused);
}

TEST(QueueAdmissionTest, TheRateWindowSlidesAndSaysWhenItHasRoom) {
  testing::FakeClock clock;
  QueueAdmission admission(Limits(0, 2, 1000));
  const std::int64_t start = clock.NowMs();
  EXPECT_EQ(admission.RoomAtMs(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kReserved);
  clock.Advance(300);
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kReserved);
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kRateLimited);
  EXPECT_EQ(admission.RoomAtMs(), start + 1000);
  // Releasing a lease frees a slot, not a start.
  admission.Release();
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kRateLimited);
  clock.Set(start + 1000);
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kReserved);
  EXPECT_EQ(admission.RoomAtMs(), start + 1300);
}

TEST(QueueAdmissionTest, UnreserveGivesBackTheStartItTook) {
  testing::FakeClock clock;
  QueueAdmission admission(Limits(0, 1, 1000));
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kReserved);
  admission.Unreserve(clock.NowMs());
  EXPECT_EQ(admission.active(), 0u);
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kReserved);
  EXPECT_EQ(admission.Reserve(clock.NowMs()), Verdict::kRateLimited);
}

}  // namespace
}  // namespace herald::engine
