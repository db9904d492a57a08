// TakeWaiters alone: FIFO per queue, waiters on several queues served once, deadlines, cancel,
// put back in front.
#include "engine/take_waiters.h"

#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "engine/queue_state.h"
#include "tests/support/fake_clock.h"

namespace herald::engine {
namespace {

QueuePolicy Named(const char* name) {
  QueuePolicy policy;
  policy.name = name;
  return policy;
}

class TakeWaitersTest : public ::testing::Test {
 protected:
  // A waiter on `queues` that records its calls in calls_ under `name`.
  std::shared_ptr<TakeWaiters::Waiter> Waiter(std::vector<QueueState*> queues,
                                              const std::string& name,
                                              std::int64_t deadline_ms = 0) {
    auto waiter = std::make_shared<TakeWaiters::Waiter>();
    waiter->queues = std::move(queues);
    waiter->deadline_ms = deadline_ms;
    waiter->callback = [this, name](std::vector<LeasedJob>) { calls_.push_back(name); };
    return waiter;
  }

  QueueState emails_{Named("emails")};
  QueueState tickets_{Named("tickets")};
  testing::FakeClock clock_;
  TakeWaiters waiters_;
  std::vector<std::string> calls_;
};

TEST_F(TakeWaitersTest, WaitersOfAQueueAreServedFirstComeFirstServed) {
  const TakeWaiters::Id a = waiters_.Add(Waiter({&emails_}, "a"));
  const TakeWaiters::Id b = waiters_.Add(Waiter({&emails_}, "b"));
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(waiters_.HasWaiters(&emails_));
  EXPECT_FALSE(waiters_.HasWaiters(&tickets_));
  TakeWaiters::Id id = 0;
  auto first = waiters_.PopFirst(&emails_, &id);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(id, a);
  first->callback({});
  auto second = waiters_.PopFirst(&emails_, &id);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(id, b);
  EXPECT_EQ(waiters_.PopFirst(&emails_, &id), nullptr);
  EXPECT_EQ(waiters_.size(), 0u);
  EXPECT_FALSE(waiters_.HasWaiters(&emails_));
  EXPECT_EQ(calls_, std::vector<std::string>{"a"});
}

TEST_F(TakeWaitersTest, AWaiterOnTwoQueuesIsServedOnce) {
  waiters_.Add(Waiter({&emails_, &tickets_}, "both"));
  const TakeWaiters::Id later = waiters_.Add(Waiter({&tickets_}, "tickets only"));
  TakeWaiters::Id id = 0;
  ASSERT_NE(waiters_.PopFirst(&emails_, &id), nullptr);
  auto next = waiters_.PopFirst(&tickets_, &id);  // skips the one served already
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(id, later);
}

TEST_F(TakeWaitersTest, APoppedWaiterPutBackGoesFirstAgain) {
  const TakeWaiters::Id a = waiters_.Add(Waiter({&emails_}, "a", clock_.NowMs() + 100));
  waiters_.Add(Waiter({&emails_}, "b"));
  TakeWaiters::Id id = 0;
  auto first = waiters_.PopFirst(&emails_, &id);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(waiters_.NextDeadlineMs(), std::numeric_limits<std::int64_t>::max());
  waiters_.PutBack(id, first);  // its jobs went to someone else
  EXPECT_EQ(waiters_.NextDeadlineMs(), clock_.NowMs() + 100);
  auto again = waiters_.PopFirst(&emails_, &id);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(id, a);
}

TEST_F(TakeWaitersTest, WaitersPastTheirDeadlineTimeOutAndCancelledOnesAreSkipped) {
  const std::int64_t now = clock_.NowMs();
  waiters_.Add(Waiter({&emails_}, "soon", now + 100));
  const TakeWaiters::Id cancelled = waiters_.Add(Waiter({&emails_}, "cancelled", now + 50));
  const TakeWaiters::Id forever = waiters_.Add(Waiter({&emails_}, "forever"));
  EXPECT_TRUE(waiters_.Cancel(cancelled));
  EXPECT_FALSE(waiters_.Cancel(cancelled));
  EXPECT_EQ(waiters_.NextDeadlineMs(), now + 100);
  EXPECT_TRUE(waiters_.TakeExpired(now + 99).empty());
  clock_.Advance(100);
  auto expired = waiters_.TakeExpired(clock_.NowMs());
  ASSERT_EQ(expired.size(), 1u);
  expired[0]->callback({});
  EXPECT_EQ(calls_, std::vector<std::string>{"soon"});
  TakeWaiters::Id id = 0;
  ASSERT_NE(waiters_.PopFirst(&emails_, &id), nullptr);
  EXPECT_EQ(id, forever);
}

TEST_F(TakeWaitersTest, TakeAllEmptiesEverything) {
  waiters_.Add(Waiter({&emails_}, "a", clock_.NowMs() + 100));
  waiters_.Add(Waiter({&tickets_}, "b"));
  EXPECT_EQ(waiters_.TakeAll().size(), 2u);
  EXPECT_EQ(waiters_.size(), 0u);
  EXPECT_FALSE(waiters_.HasWaiters(&emails_));
  EXPECT_EQ(waiters_.NextDeadlineMs(), std::numeric_limits<std::int64_t>::max());
}

}  // namespace
}  // namespace herald::engine
