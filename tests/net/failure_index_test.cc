// FailureIndex over a broker with a real store in a temp dir, fed by the broker's own job
// events: its triage is the walk's, and it follows failures, retries, deletes and cleans.
#include "net/http/failure_index.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "tests/net/server_fixture.h"

namespace herald::net::http {
namespace {

using engine::JobState;

class FailureIndexTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    // One subscription for the test (one cannot be taken back): it feeds whichever index the
    // test made last.
    ASSERT_TRUE(broker_->events()
                    .Subscribe([this](const engine::JobEvent& event) {
                      MutexLock lock(&index_mu_);
                      if (index_) index_->Record(event);
                    })
                    .ok());
    StartIndex(FailureIndex::kDefaultMaxIndexed);
  }
  void TearDown() override {
    DropIndex();
    StopServer();
  }

  void StartIndex(std::uint64_t max_indexed) {
    MutexLock lock(&index_mu_);
    index_ = std::make_unique<FailureIndex>(broker_.get(), max_indexed);
    index_->Start();
  }
  void DropIndex() {
    MutexLock lock(&index_mu_);
    if (index_) index_->Stop();
    index_.reset();
  }

  // Adds and fails (for good) one job of `queue` per error, its payload an event of `type`.
  std::vector<std::string> Fail(const std::string& queue, const std::vector<std::string>& errors,
                                const std::string& type) {
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < errors.size(); ++i) {
      auto added = broker_->Add(
          queue, R"({"eventType":")" + type + R"(","n":)" + std::to_string(i) + "}", {});
      EXPECT_TRUE(added.ok());
      ids.push_back(added->id);
    }
    engine::TakeRequest take;
    take.queues = {queue};
    take.count = static_cast<std::uint32_t>(errors.size());
    auto taken = broker_->Take(take);
    EXPECT_TRUE(taken.ok());
    EXPECT_EQ(taken->size(), errors.size());
    for (std::size_t i = 0; i < taken->size(); ++i) {
      EXPECT_TRUE(broker_->Fail((*taken)[i].job.id, errors[i], engine::FailMode::kPermanent).ok());
    }
    return ids;
  }

  // The triage the walk gives: every failed job, grouped.
  FailureTriage Walked(const std::string& queue) {
    FailureGrouper grouper;
    std::string cursor;
    do {
      auto page = broker_->List(queue, JobState::kFailed, cursor, 100);
      EXPECT_TRUE(page.ok());
      for (const engine::Job& job : page->jobs) grouper.Add(job);
      cursor = page->next_cursor;
    } while (!cursor.empty());
    return std::move(grouper).Finish(100);
  }

  // The index's triage once it counts `failed` jobs (events are delivered a little after the
  // change); nullopt when it does not get there in 10 s.
  std::optional<FailureTriage> IndexedWith(const std::string& queue, std::uint64_t failed) {
    std::optional<FailureTriage> last;
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
         std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(std::chrono::milliseconds(2))) {
      auto triage = index_->Triage(queue, 100);
      EXPECT_TRUE(triage.ok()) << triage.status().ToString();
      if (triage.ok() && triage->has_value() && (*triage)->failed == failed) return *triage;
    }
    return std::nullopt;
  }

  static void ExpectSame(const FailureTriage& a, const FailureTriage& b) {
    EXPECT_EQ(a.failed, b.failed);
    ASSERT_EQ(a.groups.size(), b.groups.size());
    for (std::size_t i = 0; i < a.groups.size(); ++i) {
      EXPECT_EQ(a.groups[i].fingerprint, b.groups[i].fingerprint) << i;
      EXPECT_EQ(a.groups[i].event_type, b.groups[i].event_type) << i;
      EXPECT_EQ(a.groups[i].pattern, b.groups[i].pattern) << i;
      EXPECT_EQ(a.groups[i].error, b.groups[i].error) << i;
      EXPECT_EQ(a.groups[i].count, b.groups[i].count) << i;
      EXPECT_EQ(a.groups[i].first_seen, b.groups[i].first_seen) << i;
      EXPECT_EQ(a.groups[i].last_seen, b.groups[i].last_seen) << i;
    }
  }

  Mutex index_mu_;
  // Set and replaced under index_mu_; used by the test's thread only between those.
  std::unique_ptr<FailureIndex> index_;
};

std::vector<std::string> Errors(const std::string& stem, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(stem + " 10.0.0." + std::to_string(i) + ":25");
  return out;
}

TEST_F(FailureIndexTest, JobsFailedBeforeItStartedAreFoundByItsWalk) {
  DropIndex();
  Fail("mail", Errors("connect timed out", 7), "booking.created");
  Fail("mail", Errors("refused by", 3), "booking.confirmed");
  StartIndex(FailureIndex::kDefaultMaxIndexed);
  auto indexed = IndexedWith("mail", 10);
  ASSERT_TRUE(indexed.has_value());
  ExpectSame(*indexed, Walked("mail"));
  EXPECT_EQ(indexed->groups[0].count, 7u);
  EXPECT_EQ(indexed->groups[0].pattern, "connect timed out #");
  EXPECT_EQ(indexed->groups[1].event_type, "booking.confirmed");
  EXPECT_EQ(index_->indexed(), 10u);
}

// "emails" is one of the queues the index walks at its start: what follows comes from events.
TEST_F(FailureIndexTest, ItFollowsFailuresRetriesDeletesAndCleans) {
  ASSERT_TRUE(IndexedWith("emails", 0).has_value());
  std::vector<std::string> ids = Fail("emails", Errors("connect timed out", 6), "booking.created");
  auto indexed = IndexedWith("emails", 6);
  ASSERT_TRUE(indexed.has_value());
  ExpectSame(*indexed, Walked("emails"));
  // A read of the marked jobs, no walk: fewer jobs read than failed.
  auto again = index_->Triage("emails", 100);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->scanned, 0u);

  ASSERT_TRUE(broker_->Retry(ids[0]).ok());
  ASSERT_TRUE(broker_->Delete(ids[1]).ok());
  indexed = IndexedWith("emails", 4);
  ASSERT_TRUE(indexed.has_value());
  ExpectSame(*indexed, Walked("emails"));

  // The retried job fails again, with another error: a group of its own.
  Fail("emails", {"mailbox full"}, "booking.created");
  indexed = IndexedWith("emails", 5);
  ASSERT_TRUE(indexed.has_value());
  ExpectSame(*indexed, Walked("emails"));
  EXPECT_EQ(indexed->groups.size(), 2u);

  auto cleaned = broker_->Clean("emails", JobState::kFailed, 0, 100);
  ASSERT_TRUE(cleaned.ok());
  EXPECT_EQ(*cleaned, 5u);
  indexed = IndexedWith("emails", 0);
  ASSERT_TRUE(indexed.has_value());
  EXPECT_TRUE(indexed->groups.empty());
}

TEST_F(FailureIndexTest, AGroupsLatestMessageIsTheNextOneWhenItsLatestJobLeaves) {
  ASSERT_TRUE(IndexedWith("emails", 0).has_value());
  std::vector<std::string> first = Fail("emails", {"timed out after 100 ms"}, "booking.created");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // finish times apart
  std::vector<std::string> second = Fail("emails", {"timed out after 200 ms"}, "booking.created");
  auto indexed = IndexedWith("emails", 2);
  ASSERT_TRUE(indexed.has_value());
  ASSERT_EQ(indexed->groups.size(), 1u);
  EXPECT_EQ(indexed->groups[0].error, "timed out after 200 ms");
  ASSERT_TRUE(broker_->Retry(second[0]).ok());
  indexed = IndexedWith("emails", 1);
  ASSERT_TRUE(indexed.has_value());
  ASSERT_EQ(indexed->groups.size(), 1u);
  EXPECT_EQ(indexed->groups[0].error, "timed out after 100 ms");
  ExpectSame(*indexed, Walked("emails"));
}

TEST_F(FailureIndexTest, AQueueWithTooManyIsWalkedUntilItIsDownToHalf) {
  DropIndex();
  std::vector<std::string> ids = Fail("mail", Errors("connect timed out", 6), "booking.created");
  StartIndex(4);
  // Never indexed with 6 failed: every triage asks for a walk.
  for (int i = 0; i < 20; ++i) {
    auto triage = index_->Triage("mail", 100);
    ASSERT_TRUE(triage.ok());
    EXPECT_FALSE(triage->has_value());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(broker_->Retry(ids[static_cast<std::size_t>(i)]).ok());
  // 2 left, half of 4: indexed again.
  auto indexed = IndexedWith("mail", 2);
  ASSERT_TRUE(indexed.has_value());
  ExpectSame(*indexed, Walked("mail"));
}

TEST_F(FailureIndexTest, AnUnknownQueueIsWalkedNotIndexed) {
  auto triage = index_->Triage("nope", 100);
  ASSERT_TRUE(triage.ok());
  EXPECT_FALSE(triage->has_value());
}

}  // namespace
}  // namespace herald::net::http
