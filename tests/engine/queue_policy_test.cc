#include "engine/queue_policy.h"

#include <gtest/gtest.h>

namespace herald::engine {
namespace {

using storage::BackoffType;

TEST(QueuePolicyTest, DefaultsMatchTheProductBrief) {
  auto policies = DefaultQueuePolicies();
  ASSERT_EQ(policies.size(), 3u);
  EXPECT_EQ(policies[0].name, "emails");
  EXPECT_EQ(policies[0].max_attempts, 5u);
  EXPECT_EQ(policies[0].backoff_type, BackoffType::kExponential);
  EXPECT_EQ(policies[0].backoff_ms, 2000);
  EXPECT_EQ(policies[1].name, "notifications");
  EXPECT_EQ(policies[1].max_attempts, 3u);
  EXPECT_EQ(policies[1].backoff_type, BackoffType::kExponential);
  EXPECT_EQ(policies[1].backoff_ms, 1000);
  EXPECT_EQ(policies[2].name, "tickets");
  EXPECT_EQ(policies[2].max_attempts, 3u);
  EXPECT_EQ(policies[2].backoff_type, BackoffType::kFixed);
  EXPECT_EQ(policies[2].backoff_ms, 5000);
}

TEST(QueuePolicyTest, ExponentialBackoffDoublesFromTheBase) {
  EXPECT_EQ(BackoffDelayMs(BackoffType::kExponential, 2000, 1), 2000);
  EXPECT_EQ(BackoffDelayMs(BackoffType::kExponential, 2000, 2), 4000);
  EXPECT_EQ(BackoffDelayMs(BackoffType::kExponential, 2000, 3), 8000);
  EXPECT_EQ(BackoffDelayMs(BackoffType::kExponential, 2000, 4), 16000);
}

TEST(QueuePolicyTest, FixedBackoffWaitsTheSameEveryTime) {
  EXPECT_EQ(BackoffDelayMs(BackoffType::kFixed, 5000, 1), 5000);
  EXPECT_EQ(BackoffDelayMs(BackoffType::kFixed, 5000, 7), 5000);
}

TEST(QueuePolicyTest, BackoffIsCappedAndNeverOverflows) {
  EXPECT_EQ(BackoffDelayMs(BackoffType::kExponential, 1000, 1000), 24LL * 3600 * 1000);
  EXPECT_EQ(BackoffDelayMs(BackoffType::kExponential, 0, 3), 0);
}

TEST(QueuePolicyTest, QueueNamesAreValidated) {
  EXPECT_TRUE(ValidateQueueName("emails").ok());
  EXPECT_TRUE(ValidateQueueName("a.b:c-d_e9").ok());
  EXPECT_TRUE(ValidateQueueName("").IsInvalidArgument());
  EXPECT_TRUE(ValidateQueueName(std::string(65, 'a')).IsInvalidArgument());
  Status bad = ValidateQueueName("bad name");
  EXPECT_TRUE(bad.IsInvalidArgument());
  EXPECT_NE(bad.message().find("bad name"), std::string::npos);
}

TEST(QueuePolicyTest, LeasesOutsideOneSecondToOneDayAreRefused) {
  EXPECT_TRUE(ValidateLeaseMs(1000).ok());
  EXPECT_TRUE(ValidateLeaseMs(86400000).ok());
  EXPECT_TRUE(ValidateLeaseMs(999).IsInvalidArgument());
  EXPECT_TRUE(ValidateLeaseMs(86400001).IsInvalidArgument());
}

}  // namespace
}  // namespace herald::engine
