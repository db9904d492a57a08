#include "storage/job.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "storage/keys.h"

namespace herald::storage {
namespace {

Job FullJob() {
  Job job;
  job.id = "evt-42";
  job.queue = "emails";
  job.payload = std::string("{\"a\":1}\0binary", 14);
  job.priority = 7;
  job.attempts_made = 3;
  job.max_attempts = 5;
  job.backoff_type = BackoffType::kExponential;
  job.backoff_ms = 2000;
  job.state = JobState::kDelayed;
  job.seq = 0x0102030405060708ULL;
  job.created_ms = 1'700'000'000'123;
  job.processed_ms = 1'700'000'000'456;
  job.finished_ms = 0;
  job.due_ms = -5;
  job.last_error = "smtp 451";
  job.return_value = "ok";
  job.custom_id = true;
  return job;
}

void ExpectSame(const Job& a, const Job& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.queue, b.queue);
  EXPECT_EQ(a.payload, b.payload);
  EXPECT_EQ(a.priority, b.priority);
  EXPECT_EQ(a.attempts_made, b.attempts_made);
  EXPECT_EQ(a.max_attempts, b.max_attempts);
  EXPECT_EQ(a.backoff_type, b.backoff_type);
  EXPECT_EQ(a.backoff_ms, b.backoff_ms);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.created_ms, b.created_ms);
  EXPECT_EQ(a.processed_ms, b.processed_ms);
  EXPECT_EQ(a.finished_ms, b.finished_ms);
  EXPECT_EQ(a.due_ms, b.due_ms);
  EXPECT_EQ(a.last_error, b.last_error);
  EXPECT_EQ(a.return_value, b.return_value);
  EXPECT_EQ(a.custom_id, b.custom_id);
}

TEST(JobCodecTest, RoundTripsEveryField) {
  Job job = FullJob();
  auto decoded = DecodeJob(EncodeJob(job));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSame(job, *decoded);
}

TEST(JobCodecTest, RoundTripsExtremeValues) {
  Job job = FullJob();
  job.priority = std::numeric_limits<std::uint32_t>::max();
  job.seq = std::numeric_limits<std::uint64_t>::max();
  job.created_ms = std::numeric_limits<std::int64_t>::min();
  job.processed_ms = std::numeric_limits<std::int64_t>::max();
  job.backoff_ms = 0;
  job.payload.clear();
  auto decoded = DecodeJob(EncodeJob(job));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSame(job, *decoded);
}

TEST(JobCodecTest, StartsWithVersionByte) { EXPECT_EQ(EncodeJob(FullJob())[0], '\x01'); }

TEST(JobCodecTest, EveryTruncationIsCorruption) {
  std::string bytes = EncodeJob(FullJob());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    // A copy of exactly n bytes, so a read past the end is caught by ASan.
    std::string prefix = bytes.substr(0, n);
    auto decoded = DecodeJob(prefix);
    ASSERT_FALSE(decoded.ok()) << "prefix " << n;
    EXPECT_TRUE(decoded.status().IsCorruption()) << decoded.status().ToString();
  }
}

TEST(JobCodecTest, TruncationNamesTheField) {
  std::string bytes = EncodeJob(FullJob());
  auto decoded = DecodeJob(bytes.substr(0, 3));
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("truncated at"), std::string::npos)
      << decoded.status().message();
}

TEST(JobCodecTest, UnknownVersionIsCorruption) {
  std::string bytes = EncodeJob(FullJob());
  bytes[0] = 9;
  auto decoded = DecodeJob(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_TRUE(decoded.status().IsCorruption());
  EXPECT_NE(decoded.status().message().find("unknown version 9"), std::string::npos);
}

TEST(JobCodecTest, TrailingBytesAreCorruption) {
  auto decoded = DecodeJob(EncodeJob(FullJob()) + "x");
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("trailing"), std::string::npos);
}

TEST(JobCodecTest, LengthBeyondInputIsCorruption) {
  std::string bytes("\x01", 1);
  keys::PutVarint(&bytes, 1'000'000);  // id length far past the end
  bytes += "abc";
  auto decoded = DecodeJob(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_TRUE(decoded.status().IsCorruption());
}

TEST(JobCodecTest, UnknownStateIsCorruption) {
  Job job = FullJob();
  job.state = static_cast<JobState>(77);
  auto decoded = DecodeJob(EncodeJob(job));
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("unknown state 77"), std::string::npos);
}

TEST(JobCodecTest, UnknownBackoffIsCorruption) {
  Job job = FullJob();
  job.backoff_type = static_cast<BackoffType>(0);
  auto decoded = DecodeJob(EncodeJob(job));
  ASSERT_FALSE(decoded.ok());
  EXPECT_TRUE(decoded.status().IsCorruption());
}

TEST(JobCodecTest, GarbageNeverCrashes) {
  std::string garbage;
  std::uint32_t x = 12345;
  for (int round = 0; round < 2000; ++round) {
    x = x * 1103515245 + 12345;
    garbage.push_back(static_cast<char>(x >> 16));
    if (garbage.size() > 64) garbage.erase(0, 1);
    std::string input = garbage;
    input[0] = '\x01';
    (void)DecodeJob(input);  // any result, never a crash or an out-of-bounds read
  }
}

TEST(JobStateTest, NamesRoundTripCaseInsensitively) {
  for (JobState s : {JobState::kWaiting, JobState::kActive, JobState::kDelayed,
                     JobState::kCompleted, JobState::kFailed}) {
    auto parsed = ParseJobState(JobStateName(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, s);
  }
  auto upper = ParseJobState("FAILED");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(*upper, JobState::kFailed);
}

TEST(JobStateTest, UnknownNameIsInvalidArgumentNamingIt) {
  auto parsed = ParseJobState("zombie");
  ASSERT_FALSE(parsed.ok());
  EXPECT_TRUE(parsed.status().IsInvalidArgument());
  EXPECT_NE(parsed.status().message().find("'zombie'"), std::string::npos);
}

TEST(JobStateTest, OnDiskValuesAreStable) {
  EXPECT_EQ(static_cast<int>(JobState::kWaiting), 1);
  EXPECT_EQ(static_cast<int>(JobState::kActive), 2);
  EXPECT_EQ(static_cast<int>(JobState::kDelayed), 3);
  EXPECT_EQ(static_cast<int>(JobState::kCompleted), 4);
  EXPECT_EQ(static_cast<int>(JobState::kFailed), 5);
  EXPECT_EQ(static_cast<int>(BackoffType::kFixed), 1);
  EXPECT_EQ(static_cast<int>(BackoffType::kExponential), 2);
}

TEST(BackoffTypeTest, ParsesNames) {
  EXPECT_EQ(BackoffTypeName(BackoffType::kFixed), "fixed");
  EXPECT_EQ(BackoffTypeName(BackoffType::kExponential), "exponential");
  auto parsed = ParseBackoffType("Exponential");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, BackoffType::kExponential);
  auto bad = ParseBackoffType("linear");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'linear'"), std::string::npos);
}

}  // namespace
}  // namespace herald::storage
