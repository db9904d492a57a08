// LeaseTable alone: deadlines, claims that settle or restore, and serials that keep a claim
// away from a newer lease of the same job.
#include "engine/lease_table.h"

#include <gtest/gtest.h>

#include <limits>

#include "engine/queue_state.h"
#include "tests/support/fake_clock.h"

namespace herald::engine {
namespace {

QueuePolicy Named(const char* name) {
  QueuePolicy policy;
  policy.name = name;
  return policy;
}

class LeaseTableTest : public ::testing::Test {
 protected:
  QueueState emails_{Named("emails")};
  QueueState tickets_{Named("tickets")};
  testing::FakeClock clock_;
  LeaseTable leases_;
};

TEST_F(LeaseTableTest, LeasesExpireInDeadlineOrder) {
  const std::int64_t now = clock_.NowMs();
  EXPECT_EQ(leases_.NextDeadlineMs(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(leases_.Add("late", &emails_, now, 3000), now + 3000);
  EXPECT_EQ(leases_.Add("early", &tickets_, now, 1000), now + 1000);
  EXPECT_EQ(leases_.NextDeadlineMs(), now + 1000);
  EXPECT_TRUE(leases_.TakeExpired(now + 999).empty());

  auto expired = leases_.TakeExpired(now + 3000);
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[0].first, "early");
  EXPECT_EQ(expired[0].second.queue, &tickets_);
  EXPECT_EQ(expired[1].first, "late");
  EXPECT_EQ(expired[1].second.until_ms, now + 3000);
  // Claimed, not gone: no second expiry, no other claim, until settled.
  EXPECT_TRUE(leases_.TakeExpired(now + 10000).empty());
  EXPECT_FALSE(leases_.Claim("early").has_value());
  EXPECT_EQ(leases_.size(), 2u);
  EXPECT_TRUE(leases_.Settle("early", expired[0].second));
  EXPECT_TRUE(leases_.Settle("late", expired[1].second));
  EXPECT_EQ(leases_.size(), 0u);
}

TEST_F(LeaseTableTest, AClaimedLeaseIsOutOfReachUntilSettled) {
  const std::int64_t now = clock_.NowMs();
  leases_.Add("7", &emails_, now, 1000);
  auto claim = leases_.Claim("7");
  ASSERT_TRUE(claim.has_value());
  EXPECT_EQ(claim->queue, &emails_);
  EXPECT_FALSE(leases_.Claim("7").has_value());              // a second ACKJOB
  EXPECT_FALSE(leases_.Extend("7", now, 5000).has_value());  // WORKING
  EXPECT_EQ(leases_.NextDeadlineMs(), std::numeric_limits<std::int64_t>::max());
  EXPECT_TRUE(leases_.Settle("7", *claim));
  EXPECT_FALSE(leases_.Claim("7").has_value());
  EXPECT_FALSE(leases_.Settle("7", *claim));
}

TEST_F(LeaseTableTest, ARestoredLeaseCanBeClaimedAgainAndExpires) {
  const std::int64_t now = clock_.NowMs();
  leases_.Add("7", &emails_, now, 1000);
  auto claim = leases_.Claim("7");
  ASSERT_TRUE(claim.has_value());
  EXPECT_TRUE(leases_.Restore("7", *claim, claim->until_ms));  // the write failed
  EXPECT_EQ(leases_.NextDeadlineMs(), now + 1000);
  auto again = leases_.Claim("7");  // a repeated ACKJOB
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(leases_.Restore("7", *again, now + 1000));
  auto expired = leases_.TakeExpired(now + 1000);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].first, "7");
}

TEST_F(LeaseTableTest, AClaimDoesNotTouchANewerLeaseOfTheSameJob) {
  const std::int64_t now = clock_.NowMs();
  leases_.Add("7", &emails_, now, 1000);
  auto expired = leases_.TakeExpired(now + 1000);
  ASSERT_EQ(expired.size(), 1u);
  // Put back by the expiry and taken again before the expiry settled its claim.
  leases_.Add("7", &emails_, now + 1000, 1000);
  EXPECT_FALSE(leases_.Settle("7", expired[0].second));
  EXPECT_FALSE(leases_.Restore("7", expired[0].second, now));
  EXPECT_EQ(leases_.NextDeadlineMs(), now + 2000);
  EXPECT_TRUE(leases_.Claim("7").has_value());
}

TEST_F(LeaseTableTest, ExtendMovesTheDeadlineAndKeepsTheLastLength) {
  const std::int64_t now = clock_.NowMs();
  leases_.Add("7", &emails_, now, 1000);
  auto term = leases_.Extend("7", now + 500, 0);
  ASSERT_TRUE(term.has_value());
  EXPECT_EQ(term->until_ms, now + 1500);
  EXPECT_EQ(term->length_ms, 1000);
  term = leases_.Extend("7", now + 500, 4000);
  ASSERT_TRUE(term.has_value());
  EXPECT_EQ(term->until_ms, now + 4500);
  term = leases_.Extend("7", now + 1000, 0);
  EXPECT_EQ(term->length_ms, 4000);
  EXPECT_EQ(leases_.NextDeadlineMs(), now + 5000);
  EXPECT_TRUE(leases_.TakeExpired(now + 4999).empty());
  EXPECT_FALSE(leases_.Extend("8", now, 0).has_value());
}

TEST_F(LeaseTableTest, RemoveNamesTheQueueWhoseSlotTheLeaseHeld) {
  const std::int64_t now = clock_.NowMs();
  leases_.Add("7", &emails_, now, 1000);
  leases_.Add("8", &tickets_, now, 1000);
  EXPECT_EQ(leases_.Remove("7"), &emails_);
  EXPECT_EQ(leases_.Remove("7"), nullptr);
  auto claim = leases_.Claim("8");
  ASSERT_TRUE(claim.has_value());
  EXPECT_EQ(leases_.Remove("8"), nullptr);  // the claim freed the slot already
  EXPECT_FALSE(leases_.Settle("8", *claim));
  EXPECT_EQ(leases_.size(), 0u);
  EXPECT_TRUE(leases_.TakeExpired(now + 5000).empty());
}

}  // namespace
}  // namespace herald::engine
