// ActiveJobs alone: what Put keeps is what Find and OfQueue return until Erase; a job whose
// payload is too large, or that would go beyond the byte budget, is kept bare (no payload,
// only its running attempt) while the caller's job stays whole; Erase and replacement give
// their bytes back; threads working on different jobs see only their own.
#include "storage/active_jobs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/job.h"

namespace herald::storage {
namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;

// A job as Take makes it active: attempts_made, processed time and a running attempt.
std::shared_ptr<Job> ActiveJob(const std::string& id, const std::string& queue = "emails",
                               std::string payload = R"({"to":"a@example.com"})") {
  auto job = std::make_shared<Job>();
  job->id = id;
  job->queue = queue;
  job->payload = std::move(payload);
  job->max_attempts = 5;
  job->seq = 7;
  job->created_ms = kNow - 1000;
  TakeJob(job.get(), kNow, "local:1");
  return job;
}

// `job` after `failures` failed attempts, then taken again: history of failures + 1.
std::shared_ptr<Job> RetriedJob(const std::string& id, int failures, std::string payload) {
  auto job = ActiveJob(id, "emails", std::move(payload));
  for (int i = 0; i < failures; ++i) {
    RetryJobLater(job.get(), "relay refused #" + std::to_string(i), kNow, kNow);
    TakeJob(job.get(), kNow + i + 1, "local:" + std::to_string(i + 2));
  }
  return job;
}

std::set<std::string> IdsOf(const std::vector<ActiveJobs::Found>& found) {
  std::set<std::string> ids;
  for (const auto& f : found) ids.insert(f.job->id);
  return ids;
}

class ActiveJobsTest : public ::testing::Test {
 protected:
  ActiveJobs active_;
};

TEST_F(ActiveJobsTest, FindsNothingForAnIdThatIsNotActive) {
  EXPECT_FALSE(active_.Find("1").has_value());
  active_.Put(ActiveJob("1"));
  EXPECT_FALSE(active_.Find("2").has_value());
  EXPECT_FALSE(active_.Find("").has_value());
}

TEST_F(ActiveJobsTest, FindReturnsTheJobAsPutWithItsPayload) {
  active_.Put(ActiveJob("1", "emails", "hello"));
  auto found = active_.Find("1");
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->payload_kept);
  EXPECT_EQ(found->job->id, "1");
  EXPECT_EQ(found->job->queue, "emails");
  EXPECT_EQ(found->job->payload, "hello");
  EXPECT_EQ(found->job->state, JobState::kActive);
  EXPECT_EQ(found->job->attempts_made, 1u);
  EXPECT_EQ(found->job->processed_ms, kNow);
  ASSERT_EQ(found->job->history.size(), 1u);
  EXPECT_EQ(found->job->history[0].worker, "local:1");
}

TEST_F(ActiveJobsTest, PutReplacesTheJobOfTheSameId) {
  active_.Put(ActiveJob("1", "emails", "first"));
  active_.Put(ActiveJob("1", "emails", "second"));
  auto found = active_.Find("1");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->job->payload, "second");
  EXPECT_EQ(active_.OfQueue("emails").size(), 1u);
}

TEST_F(ActiveJobsTest, EraseForgetsOnlyThatJob) {
  active_.Put(ActiveJob("1"));
  active_.Put(ActiveJob("2"));
  active_.Erase("1");
  EXPECT_FALSE(active_.Find("1").has_value());
  EXPECT_TRUE(active_.Find("2").has_value());
  EXPECT_EQ(IdsOf(active_.OfQueue("emails")), (std::set<std::string>{"2"}));
}

TEST_F(ActiveJobsTest, EraseOfAnIdThatIsNotActiveChangesNothing) {
  active_.Erase("1");  // nothing at all yet
  active_.Put(ActiveJob("2"));
  active_.Erase("1");
  active_.Erase("1");
  EXPECT_TRUE(active_.Find("2").has_value());
  EXPECT_EQ(active_.OfQueue("emails").size(), 1u);
}

TEST_F(ActiveJobsTest, AFoundJobStaysReadableAfterItIsErased) {
  active_.Put(ActiveJob("1", "emails", "payload"));
  auto found = active_.Find("1");
  ASSERT_TRUE(found.has_value());
  active_.Erase("1");
  EXPECT_EQ(found->job->payload, "payload");
  EXPECT_EQ(found->job->id, "1");
}

TEST_F(ActiveJobsTest, OfQueueReturnsEveryActiveJobOfThatQueueOnly) {
  std::set<std::string> emails;
  std::set<std::string> tickets;
  for (int i = 0; i < 40; ++i) {
    std::string id = std::to_string(i);
    bool is_email = i % 3 != 0;
    active_.Put(ActiveJob(id, is_email ? "emails" : "tickets"));
    (is_email ? emails : tickets).insert(id);
  }
  active_.Erase("1");
  emails.erase("1");
  active_.Erase("3");
  tickets.erase("3");

  EXPECT_EQ(IdsOf(active_.OfQueue("emails")), emails);
  EXPECT_EQ(IdsOf(active_.OfQueue("tickets")), tickets);
  EXPECT_TRUE(active_.OfQueue("notifications").empty());
  EXPECT_TRUE(active_.OfQueue("email").empty());  // the queue's whole name, not a prefix
}

TEST_F(ActiveJobsTest, APayloadUpToTheLimitIsKept) {
  active_.Put(ActiveJob("1", "emails", std::string(ActiveJobs::kMaxPayloadBytes, 'x')));
  auto found = active_.Find("1");
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->payload_kept);
  EXPECT_EQ(found->job->payload.size(), ActiveJobs::kMaxPayloadBytes);
}

TEST_F(ActiveJobsTest, AJobWithAPayloadOverTheLimitIsKeptWithoutItAndOnlyItsRunningAttempt) {
  auto job = RetriedJob("1", 3, std::string(ActiveJobs::kMaxPayloadBytes + 1, 'x'));
  ASSERT_EQ(job->history.size(), 4u);
  active_.Put(job);

  auto found = active_.Find("1");
  ASSERT_TRUE(found.has_value());
  EXPECT_FALSE(found->payload_kept);
  EXPECT_TRUE(found->job->payload.empty());
  ASSERT_EQ(found->job->history.size(), 1u);
  EXPECT_EQ(AttemptOutcomeName(found->job->history[0].outcome), "running");
  EXPECT_EQ(found->job->history[0].worker, "local:4");
  EXPECT_EQ(found->job->history[0].started_ms, kNow + 3);
  // Everything but the payload and the earlier attempts is as put.
  EXPECT_EQ(found->job->id, "1");
  EXPECT_EQ(found->job->queue, "emails");
  EXPECT_EQ(found->job->attempts_made, 4u);
  EXPECT_EQ(found->job->max_attempts, 5u);
  EXPECT_EQ(found->job->last_error, "relay refused #2");
  EXPECT_EQ(found->job->seq, 7u);
  EXPECT_EQ(found->job->state, JobState::kActive);
  EXPECT_EQ(IdsOf(active_.OfQueue("emails")), (std::set<std::string>{"1"}));
  EXPECT_FALSE(active_.OfQueue("emails")[0].payload_kept);

  // The caller's job is not the one cut down.
  EXPECT_EQ(job->payload.size(), ActiveJobs::kMaxPayloadBytes + 1);
  EXPECT_EQ(job->history.size(), 4u);
}

TEST_F(ActiveJobsTest, ABareJobWithoutHistoryStaysWithoutHistory) {
  auto job = ActiveJob("1", "emails", std::string(ActiveJobs::kMaxPayloadBytes + 1, 'x'));
  job->history.clear();  // taken by a build that kept no history
  active_.Put(job);
  auto found = active_.Find("1");
  ASSERT_TRUE(found.has_value());
  EXPECT_FALSE(found->payload_kept);
  EXPECT_TRUE(found->job->payload.empty());
  EXPECT_TRUE(found->job->history.empty());
}

TEST_F(ActiveJobsTest, JobsBeyondTheByteBudgetAreKeptWithoutTheirPayloads) {
  // Payloads at the per-job limit, twice as many bytes as the whole budget.
  const std::size_t n = 2 * ActiveJobs::kMaxBytes / ActiveJobs::kMaxPayloadBytes;
  const std::string payload(ActiveJobs::kMaxPayloadBytes, 'x');
  for (std::size_t i = 0; i < n; ++i) active_.Put(ActiveJob(std::to_string(i), "emails", payload));

  std::size_t kept = 0;
  std::size_t kept_payload_bytes = 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto found = active_.Find(std::to_string(i));
    ASSERT_TRUE(found.has_value()) << i;  // bare or not, every one is active
    if (found->payload_kept) {
      ++kept;
      kept_payload_bytes += found->job->payload.size();
      EXPECT_EQ(found->job->payload, payload);
    } else {
      EXPECT_TRUE(found->job->payload.empty());
    }
  }
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, n);
  EXPECT_LE(kept_payload_bytes, ActiveJobs::kMaxBytes);
  EXPECT_EQ(active_.OfQueue("emails").size(), n);
}

TEST_F(ActiveJobsTest, ErasedJobsGiveTheirBytesBack) {
  const std::string payload(ActiveJobs::kMaxPayloadBytes, 'x');
  // Puts until one is kept bare: its shard is at its budget.
  std::vector<std::string> ids;
  std::string bare_id;
  for (int i = 0; bare_id.empty(); ++i) {
    ASSERT_LT(i, 10000) << "the budget never ran out";
    std::string id = std::to_string(i);
    active_.Put(ActiveJob(id, "emails", payload));
    auto found = active_.Find(id);
    ASSERT_TRUE(found.has_value()) << id;
    if (!found->payload_kept) {
      bare_id = id;
    } else {
      ids.push_back(id);
    }
  }
  for (const std::string& id : ids) active_.Erase(id);
  active_.Put(ActiveJob(bare_id, "emails", payload));
  auto found = active_.Find(bare_id);
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->payload_kept);
  EXPECT_EQ(found->job->payload, payload);
}

TEST_F(ActiveJobsTest, ReplacingOneJobManyTimesDoesNotUseUpTheBudget) {
  const std::string payload(ActiveJobs::kMaxPayloadBytes, 'x');
  // Far more puts of one id than the budget holds jobs of this size.
  const std::size_t n = 2 * ActiveJobs::kMaxBytes / ActiveJobs::kMaxPayloadBytes;
  for (std::size_t i = 0; i < n; ++i) active_.Put(ActiveJob("1", "emails", payload));
  auto found = active_.Find("1");
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->payload_kept);
  EXPECT_EQ(active_.OfQueue("emails").size(), 1u);
}

TEST_F(ActiveJobsTest, ThreadsPuttingAndErasingTheirOwnJobsSeeOnlyTheirOwn) {
  constexpr int kThreads = 4;
  constexpr int kJobs = 300;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string queue = "q" + std::to_string(t);
      for (int i = 0; i < kJobs; ++i) {
        std::string id = std::to_string(t) + "-" + std::to_string(i);
        active_.Put(ActiveJob(id, queue, id));
        auto found = active_.Find(id);
        if (!found || found->job->payload != id || found->job->queue != queue) ++mismatches[t];
        if (i % 2 == 0) active_.Erase(id);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
    std::set<std::string> odd;
    for (int i = 1; i < kJobs; i += 2) odd.insert(std::to_string(t) + "-" + std::to_string(i));
    EXPECT_EQ(IdsOf(active_.OfQueue("q" + std::to_string(t))), odd) << "thread " << t;
  }
}

}  // namespace
}  // namespace herald::storage
