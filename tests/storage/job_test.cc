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
  Attempt retried;
  retried.started_ms = 1'700'000'000'100;
  retried.ended_ms = 1'700'000'000'150;
  retried.outcome = AttemptOutcome::kRetrying;
  retried.error = "smtp 451";
  retried.worker = "mailer-1@10.0.0.7:51234";
  retried.backoff_ms = 2000;
  retried.next_due_ms = 1'700'000'002'150;
  Attempt stalled;
  stalled.started_ms = 1'700'000'002'200;
  stalled.ended_ms = 1'700'000'062'200;
  stalled.outcome = AttemptOutcome::kStalled;
  stalled.error = "lease expired";
  stalled.worker = "local:3";
  Attempt running;
  running.started_ms = 1'700'000'000'456;
  running.worker = "local:0";
  job.history = {retried, stalled, running};
  return job;
}

void ExpectSameAttempt(const Attempt& a, const Attempt& b) {
  EXPECT_EQ(a.started_ms, b.started_ms);
  EXPECT_EQ(a.ended_ms, b.ended_ms);
  EXPECT_EQ(a.outcome, b.outcome);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.worker, b.worker);
  EXPECT_EQ(a.backoff_ms, b.backoff_ms);
  EXPECT_EQ(a.next_due_ms, b.next_due_ms);
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
  EXPECT_EQ(a.name, b.name);
  ASSERT_EQ(a.history.size(), b.history.size());
  for (std::size_t i = 0; i < a.history.size(); ++i) ExpectSameAttempt(a.history[i], b.history[i]);
}

// A small job whose record is pinned byte by byte below: "j" of queue "q", payload "p",
// 2 of 3 attempts made, fixed backoff 100 ms, waiting, seq 7, created at 10, last error "e".
Job SmallJob() {
  Job job;
  job.id = "j";
  job.queue = "q";
  job.payload = "p";
  job.attempts_made = 2;
  job.max_attempts = 3;
  job.backoff_ms = 100;
  job.seq = 7;
  job.created_ms = 10;
  job.last_error = "e";
  return job;
}

// SmallJob's fields as both record versions write them, after the version byte.
const std::string kSmallJobFields(
    "\x01j\x01q\x01p"   // id, queue, payload
    "\x00\x02\x03"      // priority 0, attempts_made 2, max_attempts 3
    "\x01\xc8\x01"      // fixed backoff, zz 100
    "\x01\x07"          // waiting, seq 7
    "\x14\x00\x00\x00"  // created_ms zz 10, processed, finished, due
    "\x01\x65\x00"      // last_error "e", return_value ""
    "\x00",             // flags
    22);

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

TEST(JobCodecTest, StartsWithVersionByte) { EXPECT_EQ(EncodeJob(FullJob())[0], '\x02'); }

TEST(JobCodecTest, RecordBytesAreStable) {
  EXPECT_EQ(EncodeJob(SmallJob()), std::string("\x02", 1) + kSmallJobFields + std::string("\0", 1));
  Job job = SmallJob();
  Attempt attempt;
  attempt.started_ms = 1000;
  attempt.ended_ms = 1005;
  attempt.outcome = AttemptOutcome::kRetrying;
  attempt.error = "e";
  attempt.worker = "w";
  attempt.backoff_ms = 100;
  attempt.next_due_ms = 1105;
  job.history.push_back(attempt);
  const std::string history(
      "\x01"               // one attempt
      "\x02\x03"           // retrying; ended_ms and next_due_ms follow
      "\xd0\x0f"           // started_ms zz 1000
      "\x0a"               // ended_ms - started_ms zz 5
      "\xc8\x01"           // backoff_ms zz 100
      "\xc8\x01"           // next_due_ms - ended_ms zz 100
      "\x01\x65\x01\x77",  // error "e", worker "w"
      14);
  EXPECT_EQ(EncodeJob(job), std::string("\x02", 1) + kSmallJobFields + history);
  // A completed attempt has no next due time: its bytes are left out.
  job.history[0].outcome = AttemptOutcome::kCompleted;
  job.history[0].error.clear();
  job.history[0].backoff_ms = 0;
  job.history[0].next_due_ms = 0;
  EXPECT_EQ(EncodeJob(job), std::string("\x02", 1) + kSmallJobFields +
                                std::string("\x01\x01\x01\xd0\x0f\x0a\x00\x00\x01\x77", 10));
}

// A job with a name is record version 3: version 2's fields, then the name.
TEST(JobCodecTest, ANamedJobIsVersionThreeWithTheNameLast) {
  Job job = SmallJob();
  job.name = "booking-event";
  EXPECT_EQ(EncodeJob(job), std::string("\x03", 1) + kSmallJobFields + std::string("\0", 1) +
                                "\x0d"
                                "booking-event");
  auto decoded = DecodeJob(EncodeJob(job));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSame(job, *decoded);
  EXPECT_EQ(decoded->name, "booking-event");
  Job full = FullJob();
  full.name = std::string(kMaxJobNameBytes, 'n');
  auto round = DecodeJob(EncodeJob(full));
  ASSERT_TRUE(round.ok()) << round.status().ToString();
  ExpectSame(full, *round);
}

TEST(JobCodecTest, AVersionThreeRecordWithoutItsNameIsCorruption) {
  const std::string base = std::string("\x03", 1) + kSmallJobFields + std::string("\0", 1);
  auto missing = DecodeJob(base);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("name"), std::string::npos)
      << missing.status().ToString();
  auto empty = DecodeJob(base + std::string("\0", 1));
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("empty name"), std::string::npos);
}

// Records of builds before the history (version 1) end at the flags.
TEST(JobCodecTest, ARecordOfVersionOneReadsWithAnEmptyHistory) {
  auto decoded = DecodeJob(std::string("\x01", 1) + kSmallJobFields);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSame(SmallJob(), *decoded);
  EXPECT_TRUE(decoded->history.empty());
  // Nothing may follow its flags.
  auto longer = DecodeJob(std::string("\x01", 1) + kSmallJobFields + std::string("\0", 1));
  ASSERT_FALSE(longer.ok());
  EXPECT_NE(longer.status().message().find("trailing"), std::string::npos);
}

TEST(JobCodecTest, RoundTripsAttemptsWithExtremeTimes) {
  Job job = FullJob();
  Attempt a;
  a.started_ms = std::numeric_limits<std::int64_t>::max();
  a.ended_ms = std::numeric_limits<std::int64_t>::min();
  a.next_due_ms = std::numeric_limits<std::int64_t>::max();
  a.backoff_ms = std::numeric_limits<std::int64_t>::min();
  a.outcome = AttemptOutcome::kFailed;
  Attempt b;  // every field zero or empty
  Attempt c;
  c.started_ms = -1;
  c.next_due_ms = 5;  // without an end
  job.history = {a, b, c};
  auto decoded = DecodeJob(EncodeJob(job));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSame(job, *decoded);
}

TEST(JobCodecTest, UnknownAttemptOutcomeOrFieldsAreCorruption) {
  Job job = SmallJob();
  job.history.emplace_back();
  std::string bytes = EncodeJob(job);
  const std::size_t outcome = 1 + kSmallJobFields.size() + 1;
  std::string bad_outcome = bytes;
  bad_outcome[outcome] = 5;
  auto decoded = DecodeJob(bad_outcome);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("unknown attempt outcome 5"), std::string::npos)
      << decoded.status().message();
  std::string bad_fields = bytes;
  bad_fields[outcome + 1] = 4;
  decoded = DecodeJob(bad_fields);
  ASSERT_FALSE(decoded.ok());
  EXPECT_TRUE(decoded.status().IsCorruption());
}

TEST(JobCodecTest, AnAttemptCountBeyondTheInputIsCorruptionNotAnAllocation) {
  std::string bytes = std::string("\x02", 1) + kSmallJobFields;
  keys::PutVarint(&bytes, std::uint64_t{1} << 60);
  bytes += std::string(12, '\0');
  auto decoded = DecodeJob(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("truncated at history"), std::string::npos)
      << decoded.status().message();
}

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

TEST(AttemptTest, OutcomesHaveStableValuesAndNames) {
  EXPECT_EQ(static_cast<int>(AttemptOutcome::kRunning), 0);
  EXPECT_EQ(static_cast<int>(AttemptOutcome::kCompleted), 1);
  EXPECT_EQ(static_cast<int>(AttemptOutcome::kRetrying), 2);
  EXPECT_EQ(static_cast<int>(AttemptOutcome::kFailed), 3);
  EXPECT_EQ(static_cast<int>(AttemptOutcome::kStalled), 4);
  EXPECT_EQ(AttemptOutcomeName(AttemptOutcome::kRunning), "running");
  EXPECT_EQ(AttemptOutcomeName(AttemptOutcome::kCompleted), "completed");
  EXPECT_EQ(AttemptOutcomeName(AttemptOutcome::kRetrying), "retrying");
  EXPECT_EQ(AttemptOutcomeName(AttemptOutcome::kFailed), "failed");
  EXPECT_EQ(AttemptOutcomeName(AttemptOutcome::kStalled), "stalled");
}

TEST(AttemptTest, StartAndEndRecordOneAttempt) {
  Job job;
  StartAttempt(&job, 100, "local:2");
  ASSERT_EQ(job.history.size(), 1u);
  EXPECT_EQ(job.history[0].outcome, AttemptOutcome::kRunning);
  EXPECT_EQ(job.history[0].started_ms, 100);
  EXPECT_EQ(job.history[0].worker, "local:2");
  Attempt& ended = EndAttempt(&job, AttemptOutcome::kRetrying, 130, "boom");
  ended.backoff_ms = 1000;
  ASSERT_EQ(job.history.size(), 1u);
  EXPECT_EQ(job.history[0].ended_ms, 130);
  EXPECT_EQ(job.history[0].outcome, AttemptOutcome::kRetrying);
  EXPECT_EQ(job.history[0].error, "boom");
  EXPECT_EQ(job.history[0].backoff_ms, 1000);
}

// A job taken by a build without history has no running attempt: ending it adds one.
TEST(AttemptTest, EndingWithoutARunningAttemptAddsOneStartedWhenProcessed) {
  Job job;
  job.processed_ms = 70;
  job.history.emplace_back();
  job.history[0].outcome = AttemptOutcome::kRetrying;
  EndAttempt(&job, AttemptOutcome::kCompleted, 90, "");
  ASSERT_EQ(job.history.size(), 2u);
  EXPECT_EQ(job.history[1].started_ms, 70);
  EXPECT_EQ(job.history[1].ended_ms, 90);
  EXPECT_EQ(job.history[1].outcome, AttemptOutcome::kCompleted);
  EXPECT_EQ(job.history[1].worker, "");
}

TEST(AttemptTest, AStallOnTheLastAttemptRetriesOnlyWhenNoneStalledBefore) {
  Job job;
  job.max_attempts = 2;
  job.attempts_made = 1;
  StartAttempt(&job, 10, "w");
  EXPECT_TRUE(RetriesAfterStall(job));  // attempts left
  EndAttempt(&job, AttemptOutcome::kRetrying, 11, "451");
  job.attempts_made = 2;
  StartAttempt(&job, 20, "w");
  EXPECT_TRUE(RetriesAfterStall(job));  // the last, but nothing stalled before
  EndAttempt(&job, AttemptOutcome::kStalled, 21, "lease expired");
  job.attempts_made = 3;
  StartAttempt(&job, 30, "w");
  EXPECT_FALSE(RetriesAfterStall(job));  // it stalled once already
  job.max_attempts = 5;
  EXPECT_TRUE(RetriesAfterStall(job));  // attempts left, whatever stalled
}

TEST(AttemptTest, HistoryKeepsTheLatestAttempts) {
  Job job;
  for (int i = 0; i < 30; ++i) {
    StartAttempt(&job, i, "w");
    EndAttempt(&job, AttemptOutcome::kRetrying, i, "e");
  }
  ASSERT_EQ(job.history.size(), kMaxAttemptHistory);
  EXPECT_EQ(job.history.front().started_ms, 5);
  EXPECT_EQ(job.history.back().started_ms, 29);
}

TEST(AttemptTest, ErrorsAndWorkersAreCutAtACharacterBoundary) {
  Job job;
  StartAttempt(&job, 1, std::string(kMaxAttemptWorkerBytes + 10, 'w'));
  EXPECT_EQ(job.history[0].worker.size(), kMaxAttemptWorkerBytes);
  // "é" is two bytes; the cut falls in the middle of the one at the limit.
  std::string error = std::string(kMaxAttemptErrorBytes - 1, 'x') + "\xc3\xa9 tail";
  EndAttempt(&job, AttemptOutcome::kFailed, 2, error);
  EXPECT_EQ(job.history[0].error, std::string(kMaxAttemptErrorBytes - 1, 'x'));
  StartAttempt(&job, 3, "");
  error = std::string(kMaxAttemptErrorBytes - 2, 'x') + "\xc3\xa9 tail";
  EndAttempt(&job, AttemptOutcome::kFailed, 4, error);
  EXPECT_EQ(job.history[1].error, std::string(kMaxAttemptErrorBytes - 2, 'x') + "\xc3\xa9");
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
