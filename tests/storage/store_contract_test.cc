// The store contract: what every backend of Store (storage/store.h) does the same way. Each test
// runs against the embedded store, against PostgreSQL (a server of the test's own, a fresh
// database per test: tests/support/postgres_server.h) and against two PostgreSQL databases
// behind one store by a queue map (OpenPostgresClusters). Where PostgreSQL cannot be started the
// PostgreSQL runs skip, unless HERALD_REQUIRE_POSTGRES is set (the test command sets it).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/queue_index.h"
#include "storage/store.h"
#include "tests/storage/store_fixture.h"
#include "tests/support/postgres_server.h"

namespace herald::storage {
namespace {

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
    case Backend::kEmbedded:
      return "Embedded";
    case Backend::kPostgres:
      return "Postgres";
    case Backend::kPostgresClusters:
      return "PostgresClusters";
  }
  return "";
}

class StoreContractTest : public ::testing::TestWithParam<Backend>, public StoreFixture {
 protected:
  void SetUp() override {
    backend_ = GetParam();
    options_.data_dir = dir_.Sub("db");
    options_.fsync = FsyncMode::kNo;
    options_.logger = NullLogger();
    if (backend_ != Backend::kEmbedded) {
      std::string why_not;
      testing::PostgresServer* server = testing::SharedPostgresServer(&why_not);
      HERALD_SKIP_WITHOUT_POSTGRES(server, why_not);
      static int databases = 0;
      const std::string db = "contract_" + std::to_string(++databases);
      ASSERT_EQ(server->CreateDatabase(db), "");
      pg_conninfo_ = server->ConnInfo(db);
      if (backend_ == Backend::kPostgresClusters) {
        ASSERT_EQ(server->CreateDatabase(db + "_second"), "");
        pg_second_conninfo_ = server->ConnInfo(db + "_second");
      }
    }
    Open();
    ASSERT_TRUE(store_->EnsureQueue("q").ok());
  }
  void TearDown() override { Close(); }
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest,
                         ::testing::Values(Backend::kEmbedded, Backend::kPostgres,
                                           Backend::kPostgresClusters),
                         BackendName);

class RetentionContractTest : public StoreContractTest {
 protected:
  void SetUp() override {
    options_.completed_retention = 3;
    StoreContractTest::SetUp();
  }
  std::string RunToCompletion(const std::string& payload) {
    std::string id = Add(payload);
    Job job = TakeOne();
    EXPECT_EQ(job.id, id);
    EXPECT_TRUE(store_->Complete(id, "", ++now_).ok());
    return id;
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, RetentionContractTest,
                         ::testing::Values(Backend::kEmbedded, Backend::kPostgres,
                                           Backend::kPostgresClusters),
                         BackendName);

TEST_P(StoreContractTest, EnsureQueueRejectsBadNames) {
  EXPECT_TRUE(store_->EnsureQueue("").IsInvalidArgument());
  EXPECT_TRUE(store_->EnsureQueue(std::string(65, 'a')).IsInvalidArgument());
  EXPECT_TRUE(store_->EnsureQueue("has space").IsInvalidArgument());
  EXPECT_TRUE(store_->EnsureQueue("slash/no").IsInvalidArgument());
  EXPECT_TRUE(store_->EnsureQueue("ok_name.v1:x-y").ok());
  EXPECT_TRUE(store_->EnsureQueue(std::string(64, 'a')).ok());
}

TEST_P(StoreContractTest, QueuesAreListedSortedAndSurviveReopen) {
  ASSERT_TRUE(store_->EnsureQueue("emails").ok());
  ASSERT_TRUE(store_->EnsureQueue("tickets").ok());
  ASSERT_TRUE(store_->EnsureQueue("emails").ok());  // idempotent
  std::vector<std::string> expected = {"emails", "q", "tickets"};
  EXPECT_EQ(store_->ListQueues(), expected);
  Reopen();
  EXPECT_EQ(store_->ListQueues(), expected);
  EXPECT_TRUE(store_->HasQueue("emails"));
  EXPECT_FALSE(store_->HasQueue("nope"));
}

TEST_P(StoreContractTest, AddToUnknownQueueIsNotFound) {
  auto added = store_->Add("missing", Payload("x"), now_);
  ASSERT_FALSE(added.ok());
  EXPECT_TRUE(added.status().IsNotFound());
}

TEST_P(StoreContractTest, AddGeneratesIncreasingDecimalIds) {
  std::string a = Add("a");
  std::string b = Add("b");
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(std::all_of(a.begin(), a.end(), ::isdigit));
  EXPECT_LT(std::stoull(a), std::stoull(b));
  auto job = store_->Get(a);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->payload, "a");
  EXPECT_EQ(job->queue, "q");
  EXPECT_EQ(job->state, JobState::kWaiting);
  EXPECT_EQ(job->created_ms, kNow);
  EXPECT_EQ(job->attempts_made, 0u);
  EXPECT_FALSE(job->custom_id);
  // The add's sequence number; in a map of clusters n * clusters + position ("q" is on the
  // second of two).
  const std::uint64_t id = backend_ == Backend::kPostgresClusters ? job->seq * 2 + 1 : job->seq;
  EXPECT_EQ(std::to_string(id), a);
}

TEST_P(StoreContractTest, AddRejectsBadCallerIds) {
  NewJob digits = Payload("x");
  digits.id = "12345";
  EXPECT_TRUE(store_->Add("q", digits, now_).status().IsInvalidArgument());
  NewJob too_long = Payload("x");
  too_long.id = std::string(257, 'a');
  EXPECT_TRUE(store_->Add("q", too_long, now_).status().IsInvalidArgument());
  NewJob nul_first = Payload("x");
  nul_first.id = std::string("\0abc", 4);
  Status nul = store_->Add("q", nul_first, now_).status();
  EXPECT_TRUE(nul.IsInvalidArgument());
  EXPECT_NE(nul.ToString().find("NUL"), std::string::npos) << nul.ToString();
  NewJob nul_inside = Payload("x");
  nul_inside.id = std::string("a\0b", 3);
  EXPECT_TRUE(store_->Add("q", nul_inside, now_).ok());
  NewJob longest = Payload("x");
  longest.id = std::string(256, 'a');
  EXPECT_TRUE(store_->Add("q", longest, now_).ok());
  NewJob zero_attempts = Payload("x");
  zero_attempts.max_attempts = 0;
  EXPECT_TRUE(store_->Add("q", zero_attempts, now_).status().IsInvalidArgument());
  EXPECT_EQ(Counts().waiting, 2u);
}

TEST_P(StoreContractTest, AddWithExistingIdCreatesNothing) {
  NewJob job = Payload("first");
  job.id = "evt-1";
  auto first = store_->Add("q", job, now_);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->id, "evt-1");
  job.payload = "second";
  auto again = store_->Add("q", job, now_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->id, "evt-1");
  EXPECT_EQ(again->state, JobState::kWaiting);
  EXPECT_EQ(store_->Get("evt-1")->payload, "first");
  EXPECT_EQ(Counts().waiting, 1u);
  EXPECT_TRUE(store_->Get("evt-1")->custom_id);
}

TEST_P(StoreContractTest, AddWithExistingIdReportsItsCurrentState) {
  NewJob job = Payload("x");
  job.id = "evt-2";
  ASSERT_TRUE(store_->Add("q", job, now_).ok());
  TakeOne();
  auto again = store_->Add("q", job, now_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->state, JobState::kActive);
}

TEST_P(StoreContractTest, AddManyDedupesWithinTheBatchAndAgainstTheStore) {
  NewJob existing = Payload("old");
  existing.id = "dup";
  ASSERT_TRUE(store_->Add("q", existing, now_).ok());
  std::vector<NewJob> jobs;
  jobs.push_back(Payload("gen1"));
  NewJob a = Payload("a1");
  a.id = "a";
  jobs.push_back(a);
  NewJob a2 = Payload("a2");
  a2.id = "a";
  jobs.push_back(a2);
  NewJob d = Payload("d");
  d.id = "dup";
  jobs.push_back(d);
  jobs.push_back(Payload("gen2"));
  auto added = store_->AddMany("q", jobs, now_);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  ASSERT_EQ(added->size(), 5u);
  EXPECT_TRUE((*added)[0].created);
  EXPECT_TRUE((*added)[1].created);
  EXPECT_FALSE((*added)[2].created);
  EXPECT_FALSE((*added)[3].created);
  EXPECT_TRUE((*added)[4].created);
  EXPECT_EQ(store_->Get("a")->payload, "a1");
  EXPECT_EQ(Counts().waiting, 4u);  // dup, gen1, a, gen2
}

TEST_P(StoreContractTest, ConcurrentAddsOfOneIdCreateItOnce) {
  constexpr int kThreads = 8;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        NewJob job = Payload("from " + std::to_string(t));
        job.id = "same-" + std::to_string(i);
        auto added = store_->Add("q", job, now_);
        if (added.ok() && added->created) created.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 50);
  EXPECT_EQ(Counts().waiting, 50u);
}

TEST_P(StoreContractTest, TakeIsFifoWithinPriorityAndLowerPriorityFirst) {
  Add("p2-a", 2);
  Add("p0-a", 0);
  Add("p1-a", 1);
  Add("p0-b", 0);
  Add("p2-b", 2);
  Add("p0-c", 0);
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) order.push_back(TakePayload());
  EXPECT_EQ(order, (std::vector<std::string>{"p0-a", "p0-b", "p0-c", "p1-a", "p2-a", "p2-b"}));
  EXPECT_TRUE(QueueEmpty());
}

TEST_P(StoreContractTest, TakeSeesAHigherPriorityJobAddedAfterTheHeadWasRead) {
  for (int i = 0; i < 10; ++i) Add("p5-" + std::to_string(i), 5);
  EXPECT_EQ(TakePayload(), "p5-0");  // the head now holds p5-1..p5-9 in memory
  Add("urgent", 0);
  EXPECT_EQ(TakePayload(), "urgent");
  EXPECT_EQ(TakePayload(), "p5-1");
}

TEST_P(StoreContractTest, TakeMarksActiveCountsTheAttemptAndStampsProcessedTime) {
  std::string id = Add("x");
  now_ += 500;
  Job job = TakeOne();
  EXPECT_EQ(job.id, id);
  EXPECT_EQ(job.state, JobState::kActive);
  EXPECT_EQ(job.attempts_made, 1u);
  EXPECT_EQ(job.processed_ms, kNow + 500);
  auto stored = store_->Get(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, JobState::kActive);
  EXPECT_EQ(stored->attempts_made, 1u);
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.waiting, 0u);
  EXPECT_EQ(counts.active, 1u);
}

TEST_P(StoreContractTest, TakeFromEmptyQueueIsNullopt) {
  EXPECT_TRUE(QueueEmpty());
  EXPECT_TRUE(store_->Take("missing", now_).status().IsNotFound());
}

TEST_P(StoreContractTest, TakeIgnoresThePauseFlag) {
  Add("x");
  ASSERT_TRUE(store_->SetPaused("q", true).ok());
  EXPECT_EQ(TakePayload(), "x");
}

TEST_P(StoreContractTest, ConcurrentTakersNeverGetTheSameJob) {
  ExpectConcurrentTakesHandOutEachJobOnce(2000, [&](int) {
    auto taken = store_->Take("q", now_);
    std::vector<Job> jobs;
    if (taken.ok() && taken->has_value()) jobs.push_back(std::move(**taken));
    return jobs;
  });
}

TEST_P(StoreContractTest, TakeManyTakesInTakeOrderAndStopsWhenTheQueueIsEmpty) {
  for (int i = 0; i < 5; ++i) Add("low" + std::to_string(i), 1);
  Add("high", 0);
  auto taken = store_->TakeMany("q", 4, now_);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  ASSERT_EQ(taken->size(), 4u);
  EXPECT_EQ((*taken)[0].payload, "high");
  EXPECT_EQ((*taken)[1].payload, "low0");
  EXPECT_EQ((*taken)[3].payload, "low2");
  for (const Job& job : *taken) {
    EXPECT_EQ(job.state, JobState::kActive);
    EXPECT_EQ(job.attempts_made, 1u);
    EXPECT_EQ(StateOf(job.id), JobState::kActive);
  }
  auto rest = store_->TakeMany("q", 10, now_);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[1].payload, "low4");
  auto none = store_->TakeMany("q", 10, now_);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.waiting, 0u);
  EXPECT_EQ(counts.active, 6u);
}

TEST_P(StoreContractTest, TakeManyReadsPastOneHeadfulAndSurvivesReopenAsActive) {
  constexpr int kJobs = 1500;  // more than the in-memory head holds
  std::vector<NewJob> batch;
  for (int i = 0; i < kJobs; ++i) {
    batch.push_back(Payload(std::to_string(i)));
    batch.back().max_attempts = 3;
  }
  ASSERT_TRUE(store_->AddMany("q", std::move(batch), now_).ok());
  Reopen();  // the head starts empty: every take reads the index
  auto taken = store_->TakeMany("q", 1200, now_);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  ASSERT_EQ(taken->size(), 1200u);
  for (int i = 0; i < 1200; ++i) ASSERT_EQ((*taken)[i].payload, std::to_string(i));
  EXPECT_EQ(Counts().active, 1200u);
  EXPECT_EQ(Counts().waiting, 300u);
  Reopen();  // the 1200 active jobs are waiting again, ahead of the rest, attempt counted
  EXPECT_EQ(Counts().active, 0u);
  EXPECT_EQ(store_->recovered_active(), 1200u);
  EXPECT_EQ(Counts().waiting, static_cast<std::uint64_t>(kJobs));
  Job first = TakeOne();
  EXPECT_EQ(first.payload, "0");
  EXPECT_EQ(first.attempts_made, 2u);
}

TEST_P(StoreContractTest, ConcurrentTakeManyNeverHandsOutAJobTwice) {
  ExpectConcurrentTakesHandOutEachJobOnce(3000, [&](int thread) {
    auto taken = store_->TakeMany("q", static_cast<std::size_t>(1 + thread * 7), now_);
    return taken.ok() ? std::move(taken).value() : std::vector<Job>();
  });
}

TEST_P(StoreContractTest, CompleteManyCompletesEachActiveJobAndReportsTheOthers) {
  std::string a = Add("a");
  std::string b = Add("b");
  std::string waiting = Add("c", 5);  // taken last
  auto taken = store_->TakeMany("q", 2, now_);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 2u);
  now_ += 7;
  std::vector<Completion> done{{a, "ra"}, {"nope", ""}, {waiting, ""}, {b, "rb"}, {a, "again"}};
  auto results = store_->CompleteMany(std::move(done), now_);
  ASSERT_EQ(results.size(), 5u);
  ASSERT_TRUE(results[0].ok()) << results[0].status().ToString();
  EXPECT_EQ(results[0]->return_value, "ra");
  EXPECT_EQ(results[0]->finished_ms, kNow + 7);
  EXPECT_TRUE(results[1].status().IsNotFound());
  EXPECT_EQ(results[2].status().message(), "job " + waiting + " is waiting, not active");
  ASSERT_TRUE(results[3].ok());
  EXPECT_EQ(results[3]->state, JobState::kCompleted);
  EXPECT_TRUE(results[4].status().IsInvalidArgument());
  Reopen();
  auto stored = store_->Get(b);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, JobState::kCompleted);
  EXPECT_EQ(stored->return_value, "rb");
  EXPECT_EQ(store_->Get(a)->return_value, "ra");
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.completed, 2u);
  EXPECT_EQ(counts.active, 0u);
  EXPECT_EQ(counts.waiting, 1u);
}

TEST_P(StoreContractTest, CompleteAndTakeCompletesAndTakesTheNextInOneGo) {
  ASSERT_TRUE(store_->EnsureQueue("other").ok());
  std::string a = Add("a");
  NewJob job_b = Payload("b");
  job_b.max_attempts = 3;  // survives the restart below as waiting, not failed
  std::string b = Add(std::move(job_b), "other");
  std::string c = Add(Payload("c"), "other");
  TakeOne();
  auto result = store_->CompleteAndTake({a, "done"}, "other", now_);
  ASSERT_TRUE(result.completed.ok()) << result.completed.status().ToString();
  EXPECT_EQ(result.completed->state, JobState::kCompleted);
  EXPECT_EQ(result.completed->return_value, "done");
  ASSERT_TRUE(result.next.has_value());
  EXPECT_EQ(result.next->id, b);
  EXPECT_EQ(result.next->state, JobState::kActive);
  EXPECT_EQ(result.next->attempts_made, 1u);
  Reopen();  // both halves were written
  EXPECT_EQ(StateOf(a), JobState::kCompleted);
  EXPECT_EQ(Counts("other").waiting, 2u);  // b was active: waiting again after the restart
  EXPECT_EQ(store_->Get(b)->attempts_made, 1u);
  EXPECT_EQ(TakeOne("other").id, b);
  EXPECT_EQ(TakeOne("other").id, c);
  // Nothing left to take: the completion still happens.
  auto last = store_->CompleteAndTake({b, ""}, "other", now_);
  ASSERT_TRUE(last.completed.ok());
  EXPECT_FALSE(last.next.has_value());
  EXPECT_EQ(Counts("other").active, 1u);
}

TEST_P(StoreContractTest, CompleteAndTakeTakesNothingWhenTheCompletionFails) {
  std::string a = Add("a");
  auto result = store_->CompleteAndTake({a, ""}, "q", now_);  // a is waiting, not active
  EXPECT_TRUE(result.completed.status().IsInvalidArgument());
  EXPECT_FALSE(result.next.has_value());
  EXPECT_EQ(Counts().waiting, 1u);
  EXPECT_EQ(Counts().active, 0u);
}

TEST_P(StoreContractTest, CompleteManyAcrossQueues) {
  ASSERT_TRUE(store_->EnsureQueue("other").ok());
  std::string a = Add("a");
  std::string b = Add(Payload("b"), "other");
  TakeOne();
  TakeOne("other");
  auto results = store_->CompleteMany({{a, "1"}, {b, "2"}}, now_);
  ASSERT_TRUE(results[0].ok());
  ASSERT_TRUE(results[1].ok());
  EXPECT_EQ(Counts().completed, 1u);
  EXPECT_EQ(Counts("other").completed, 1u);
}

TEST_P(StoreContractTest, CompleteMovesActiveToCompletedWithReturnValue) {
  std::string id = Add("x");
  TakeOne();
  now_ += 10;
  auto done = store_->Complete(id, "sent", now_);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->state, JobState::kCompleted);
  EXPECT_EQ(done->finished_ms, kNow + 10);
  auto stored = store_->Get(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->return_value, "sent");
  EXPECT_EQ(stored->state, JobState::kCompleted);
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.active, 0u);
  EXPECT_EQ(counts.completed, 1u);
}

TEST_P(StoreContractTest, CompleteOfAWaitingJobNamesItsState) {
  std::string id = Add("x");
  auto done = store_->Complete(id, "", now_);
  ASSERT_FALSE(done.ok());
  EXPECT_TRUE(done.status().IsInvalidArgument());
  EXPECT_EQ(done.status().message(), "job " + id + " is waiting, not active");
}

TEST_P(StoreContractTest, TransitionsOfUnknownJobsAreNotFound) {
  EXPECT_TRUE(store_->Complete("nope", "", now_).status().IsNotFound());
  EXPECT_TRUE(store_->FailFinal("nope", "", now_).status().IsNotFound());
  EXPECT_TRUE(store_->Retry("nope", now_).status().IsNotFound());
  EXPECT_TRUE(store_->Delete("nope").IsNotFound());
  EXPECT_TRUE(store_->Get("nope").status().IsNotFound());
}

TEST_P(StoreContractTest, FailRetryDelaysUntilDueAndKeepsTheError) {
  std::string id = Add("x");
  TakeOne();
  auto failed = store_->FailRetry(id, "smtp 451", now_ + 2000, now_);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, JobState::kDelayed);
  EXPECT_EQ(failed->due_ms, now_ + 2000);
  EXPECT_EQ(store_->Get(id)->last_error, "smtp 451");
  EXPECT_EQ(store_->NextDue("q"), now_ + 2000);
  EXPECT_TRUE(QueueEmpty());
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.delayed, 1u);
  EXPECT_EQ(counts.active, 0u);
}

TEST_P(StoreContractTest, FailRetryWithDueInThePastIsWaitingAtOnce) {
  std::string id = Add("x");
  TakeOne();
  auto failed = store_->FailRetry(id, "boom", now_, now_);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, JobState::kWaiting);
  Job again = TakeOne();
  EXPECT_EQ(again.id, id);
  EXPECT_EQ(again.attempts_made, 2u);
}

TEST_P(StoreContractTest, FailFinalMovesToFailed) {
  std::string id = Add("x");
  TakeOne();
  auto failed = store_->FailFinal(id, "gave up", now_ + 5);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, JobState::kFailed);
  EXPECT_EQ(failed->finished_ms, now_ + 5);
  EXPECT_EQ(Counts().failed, 1u);
  EXPECT_EQ(store_->Get(id)->last_error, "gave up");
}

TEST_P(StoreContractTest, RequeuePutsAnActiveJobBackAtItsPlace) {
  std::string first = Add("first");
  Add("second");
  TakeOne();
  auto back = store_->Requeue(first, "lease expired", now_);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, JobState::kWaiting);
  Job again = TakeOne();
  EXPECT_EQ(again.id, first);  // ahead of "second", as before
  EXPECT_EQ(again.attempts_made, 2u);
  EXPECT_EQ(again.last_error, "lease expired");
}

TEST_P(StoreContractTest, EachTransitionOfAnActiveJobSeesItsLatestRecord) {
  NewJob job = Payload("x");
  job.max_attempts = 3;
  std::string id = Add(job);
  TakeOne();
  ASSERT_TRUE(store_->FailRetry(id, "first failure", now_, now_).ok());
  Job second = TakeOne();
  EXPECT_EQ(second.attempts_made, 2u);
  EXPECT_EQ(second.last_error, "first failure");
  // Transitions refused for the wrong state leave the active job as it was.
  EXPECT_TRUE(store_->Retry(id, now_).status().IsInvalidArgument());
  EXPECT_TRUE(store_->Promote(id, now_).status().IsInvalidArgument());
  auto done = store_->Complete(id, "ok", now_);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->attempts_made, 2u);
  EXPECT_EQ(done->last_error, "first failure");
  EXPECT_EQ(done->processed_ms, now_);
  auto stored = store_->Get(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->attempts_made, 2u);
  EXPECT_EQ(stored->return_value, "ok");
  EXPECT_TRUE(store_->Complete(id, "again", now_).status().IsInvalidArgument());
}

TEST_P(StoreContractTest, LargePayloadsTakeTheReadPath) {
  std::string big(100'000, 'p');
  std::string id = Add(big);
  Job job = TakeOne();
  EXPECT_EQ(job.payload, big);
  auto done = store_->Complete(id, "", now_);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->payload, big);
}

TEST_P(StoreContractTest, JobsDeletedWhileQueuedAreNeverTaken) {
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) ids.push_back(Add("j" + std::to_string(i)));
  TakeOne();  // loads the head
  for (int i = 1; i < 300; i += 2) ASSERT_TRUE(store_->Delete(ids[i]).ok());
  for (int i = 2; i < 300; i += 2) EXPECT_EQ(TakeOne().id, ids[i]);
  EXPECT_TRUE(QueueEmpty());
}

TEST_P(StoreContractTest, ConcurrentDeletesAndTakesNeverResurrectAJob) {
  constexpr int kJobs = 2000;
  std::vector<NewJob> batch;
  for (int i = 0; i < kJobs; ++i) batch.push_back(Payload(std::to_string(i)));
  auto added = store_->AddMany("q", std::move(batch), now_);
  ASSERT_TRUE(added.ok());
  std::atomic<int> taken{0};
  std::atomic<int> deleted{0};
  std::thread taker([&] {
    while (true) {
      auto t = store_->Take("q", now_);
      if (!t.ok() || !t->has_value()) return;
      taken.fetch_add(1);
    }
  });
  std::thread deleter([&] {
    for (int i = kJobs - 1; i >= 0; --i) {
      if (store_->Delete((*added)[i].id).ok()) deleted.fetch_add(1);
    }
  });
  taker.join();
  deleter.join();
  // Every job was either taken (then possibly deleted while active) or deleted while waiting.
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.waiting, 0u);
  EXPECT_EQ(deleted.load(), kJobs);
  EXPECT_EQ(counts.active, 0u);
  for (const auto& r : *added) EXPECT_TRUE(store_->Get(r.id).status().IsNotFound()) << r.id;
  EXPECT_LE(taken.load(), kJobs);
}

TEST_P(StoreContractTest, AHugeErrorIsCutInTheJobAndItsAttempt) {
  const std::string id = Add("x");
  ASSERT_TRUE(store_->Take("q", now_)->has_value());
  const std::string huge = std::string(10 << 20, 'e') + "\xc3\xa9";  // 10 MiB, then an é
  auto failed = store_->FailFinal(id, huge, now_);
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  Reopen();
  auto read = store_->Get(id);
  ASSERT_TRUE(read.ok());
  EXPECT_LE(read->last_error.size(), kMaxLastErrorBytes);
  EXPECT_EQ(read->last_error.rfind(std::string(1000, 'e'), 0), 0u);
  EXPECT_NE(read->last_error.find("(10485762 bytes, cut)"), std::string::npos);
  ASSERT_EQ(read->history.size(), 1u);
  EXPECT_LE(read->history[0].error.size(), kMaxAttemptErrorBytes);
  EXPECT_EQ(CutLastError("short"), "short");
}

TEST_P(StoreContractTest, RetryResetsAttemptsAndKeepsTheError) {
  std::string id = Add("x");
  TakeOne();
  ASSERT_TRUE(store_->FailFinal(id, "bad", now_).ok());
  auto retried = store_->Retry(id, now_);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->state, JobState::kWaiting);
  EXPECT_EQ(retried->attempts_made, 0u);
  EXPECT_EQ(retried->last_error, "bad");
  EXPECT_EQ(TakeOne().id, id);
  EXPECT_TRUE(store_->Retry(id, now_).status().IsInvalidArgument());  // active, not failed
}

TEST_P(StoreContractTest, RetryAllFailedMovesEveryFailedJob) {
  std::vector<std::string> ids;
  for (int i = 0; i < 600; ++i) ids.push_back(Add("x" + std::to_string(i)));
  for (int i = 0; i < 600; ++i) {
    Job job = TakeOne();
    ASSERT_TRUE(store_->FailFinal(job.id, "e", now_ + i).ok());
  }
  EXPECT_EQ(Counts().failed, 600u);
  auto moved = store_->RetryAllFailed("q", now_);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 600u);
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.failed, 0u);
  EXPECT_EQ(counts.waiting, 600u);
  EXPECT_EQ(TakeOne().id, ids[0]);
}

TEST_P(StoreContractTest, DelayedJobIsNotTakenUntilPromoted) {
  std::string id = AddDelayed("later", now_ + 1000);
  EXPECT_EQ(StateOf(id), JobState::kDelayed);
  EXPECT_EQ(Counts().delayed, 1u);
  EXPECT_TRUE(QueueEmpty());
  auto moved = store_->PromoteDue("q", now_ + 999, 100);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 0u);
  moved = store_->PromoteDue("q", now_ + 1000, 100);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 1u);
  EXPECT_EQ(TakeOne().id, id);
  EXPECT_EQ(store_->NextDue("q"), std::nullopt);
}

TEST_P(StoreContractTest, NextDueIsTheEarliestDueTime) {
  EXPECT_EQ(store_->NextDue("q"), std::nullopt);
  AddDelayed("c", now_ + 3000);
  EXPECT_EQ(store_->NextDue("q"), now_ + 3000);
  AddDelayed("a", now_ + 1000);
  EXPECT_EQ(store_->NextDue("q"), now_ + 1000);
  AddDelayed("b", now_ + 2000);
  EXPECT_EQ(store_->NextDue("q"), now_ + 1000);
  EXPECT_EQ(store_->NextDue("missing"), std::nullopt);
}

TEST_P(StoreContractTest, PromoteDueMovesDueJobsInDueOrderWithinTheLimit) {
  AddDelayed("c", now_ + 300);
  AddDelayed("a", now_ + 100);
  AddDelayed("d", now_ + 400);
  AddDelayed("b", now_ + 200);
  auto moved = store_->PromoteDue("q", now_ + 350, 2);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 2u);
  EXPECT_EQ(store_->NextDue("q"), now_ + 300);
  moved = store_->PromoteDue("q", now_ + 350, 100);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 1u);
  EXPECT_EQ(store_->NextDue("q"), now_ + 400);
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.waiting, 3u);
  EXPECT_EQ(counts.delayed, 1u);
  // Waiting order is add order (seq), not due order.
  EXPECT_EQ(TakePayload(), "c");
  EXPECT_EQ(TakePayload(), "a");
  EXPECT_EQ(TakePayload(), "b");
}

TEST_P(StoreContractTest, PromoteDueHandlesMoreThanOneHeadfulOfJobs) {
  std::vector<NewJob> batch;
  for (int i = 0; i < 1500; ++i) {
    NewJob job = Payload("d" + std::to_string(i));
    job.due_ms = now_ + 1 + (i % 7);
    batch.push_back(job);
  }
  ASSERT_TRUE(store_->AddMany("q", batch, now_).ok());
  auto moved = store_->PromoteDue("q", now_ + 100, 1'000'000);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 1500u);
  EXPECT_EQ(store_->NextDue("q"), std::nullopt);
  EXPECT_EQ(Counts().waiting, 1500u);
}

TEST_P(StoreContractTest, PromoteMovesOneDelayedJob) {
  std::string a = AddDelayed("a", now_ + 100);
  AddDelayed("b", now_ + 200);
  auto promoted = store_->Promote(a, now_);
  ASSERT_TRUE(promoted.ok());
  EXPECT_EQ(promoted->state, JobState::kWaiting);
  EXPECT_EQ(store_->NextDue("q"), now_ + 200);
  EXPECT_EQ(TakeOne().id, a);
  EXPECT_TRUE(store_->Promote(a, now_).status().IsInvalidArgument());
}

TEST_P(StoreContractTest, DeleteRemovesAJobInAnyState) {
  std::string waiting = Add("w");
  std::string active = Add("a");
  std::string delayed = AddDelayed("d", now_ + 100);
  ASSERT_TRUE(store_->Delete(waiting).ok());  // the head held it: Take must not see it
  EXPECT_EQ(TakeOne().id, active);
  ASSERT_TRUE(store_->Delete(active).ok());
  ASSERT_TRUE(store_->Delete(delayed).ok());
  EXPECT_EQ(store_->NextDue("q"), std::nullopt);
  EXPECT_TRUE(store_->Get(waiting).status().IsNotFound());
  EXPECT_TRUE(store_->Delete(waiting).IsNotFound());
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.waiting + counts.active + counts.delayed, 0u);
  EXPECT_TRUE(QueueEmpty());
  Reopen();
  counts = Counts();
  EXPECT_EQ(counts.waiting + counts.active + counts.delayed, 0u);
}

TEST_P(StoreContractTest, CleanRemovesOldFinishedJobsUpToTheLimit) {
  for (int i = 0; i < 10; ++i) {
    Add("c" + std::to_string(i));
    Job job = TakeOne();
    ASSERT_TRUE(store_->Complete(job.id, "", now_ + i * 100).ok());
  }
  for (int i = 0; i < 4; ++i) {
    Add("f" + std::to_string(i));
    Job job = TakeOne();
    ASSERT_TRUE(store_->FailFinal(job.id, "", now_ + i * 100).ok());
  }
  // Completed at now+0 .. now+900; at or before now+400 are 5 of them; limit 3.
  auto removed = store_->Clean("q", JobState::kCompleted, now_ + 400, 3);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 3u);
  removed = store_->Clean("q", JobState::kCompleted, now_ + 400, 100);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2u);
  EXPECT_EQ(Counts().completed, 5u);
  removed = store_->Clean("q", JobState::kFailed, now_ + 250, 100);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 3u);
  EXPECT_EQ(Counts().failed, 1u);
}

TEST_P(StoreContractTest, CleanRemovesOldWaitingAndDelayedJobs) {
  Add("old");
  now_ += 1000;
  std::string fresh = Add("fresh");
  AddDelayed("soon", now_ + 10);
  AddDelayed("late", now_ + 5000);
  auto removed = store_->Clean("q", JobState::kWaiting, now_ - 1, 100);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  removed = store_->Clean("q", JobState::kDelayed, now_ + 100, 100);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(store_->NextDue("q"), now_ + 5000);
  EXPECT_EQ(TakeOne().id, fresh);
  EXPECT_TRUE(store_->Clean("q", JobState::kActive, now_, 1).status().IsInvalidArgument());
  // A job of exactly the cut-off's millisecond is old enough: age 0 cleans it.
  Add("edge");
  removed = store_->Clean("q", JobState::kWaiting, now_, 100);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  removed = store_->Clean("q", JobState::kDelayed, now_ + 5000, 100);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
}

TEST_P(RetentionContractTest, OnlyTheNewestCompletedJobsAreKept) {
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(RunToCompletion("j" + std::to_string(i)));
  EXPECT_EQ(Counts().completed, 3u);
  for (int i = 0; i < 7; ++i) EXPECT_TRUE(store_->Get(ids[i]).status().IsNotFound()) << i;
  for (int i = 7; i < 10; ++i) EXPECT_TRUE(store_->Get(ids[i]).ok()) << i;
  auto page = store_->List("q", JobState::kCompleted, "", 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->jobs.size(), 3u);
  EXPECT_EQ(page->jobs[0].id, ids[9]);
}

TEST_P(RetentionContractTest, CompleteManyKeepsTheNewestAcrossBatches) {
  std::vector<std::string> ids;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 5; ++i) ids.push_back(Add("j" + std::to_string(round * 5 + i)));
    auto taken = store_->TakeMany("q", 5, now_);
    ASSERT_TRUE(taken.ok());
    std::vector<Completion> done;
    for (const Job& job : *taken) done.push_back({job.id, ""});
    for (const auto& result : store_->CompleteMany(std::move(done), ++now_)) {
      ASSERT_TRUE(result.ok()) << result.status().ToString();
    }
  }
  EXPECT_EQ(Counts().completed, 3u);
  for (std::size_t i = 0; i + 3 < ids.size(); ++i) {
    EXPECT_TRUE(store_->Get(ids[i]).status().IsNotFound()) << i;
  }
  for (std::size_t i = ids.size() - 3; i < ids.size(); ++i) EXPECT_TRUE(store_->Get(ids[i]).ok());
  Reopen();
  EXPECT_EQ(Counts().completed, 3u);
}

TEST_P(RetentionContractTest, ALowerRetentionIsAppliedAtOpen) {
  options_.completed_retention = 100;
  Reopen();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(RunToCompletion("j" + std::to_string(i)));
  EXPECT_EQ(Counts().completed, 20u);
  options_.completed_retention = 5;
  Reopen();
  EXPECT_EQ(Counts().completed, 5u);
  EXPECT_TRUE(store_->Get(ids[14]).status().IsNotFound());
  EXPECT_TRUE(store_->Get(ids[15]).ok());
}

TEST_P(RetentionContractTest, ZeroRetentionKeepsNoCompletedJob) {
  options_.completed_retention = 0;
  Reopen();
  std::string id = RunToCompletion("x");
  EXPECT_EQ(Counts().completed, 0u);
  EXPECT_TRUE(store_->Get(id).status().IsNotFound());
}

TEST_P(StoreContractTest, ListPagesThroughWaitingJobsInTakeOrder) {
  for (int i = 0; i < 7; ++i) Add("w" + std::to_string(i), i % 2);
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = store_->List("q", JobState::kWaiting, cursor, 3);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& job : page->jobs) seen.push_back(job.payload);
    cursor = page->next_cursor;
    ++pages;
  } while (!cursor.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"w0", "w2", "w4", "w6", "w1", "w3", "w5"}));
}

TEST_P(StoreContractTest, ListShowsFinishedJobsNewestFirst) {
  for (int i = 0; i < 5; ++i) {
    Add("c" + std::to_string(i));
    Job job = TakeOne();
    ASSERT_TRUE(store_->Complete(job.id, "", now_ + i).ok());
  }
  auto first = store_->List("q", JobState::kCompleted, "", 2);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->jobs.size(), 2u);
  EXPECT_EQ(first->jobs[0].payload, "c4");
  EXPECT_EQ(first->jobs[1].payload, "c3");
  auto second = store_->List("q", JobState::kCompleted, first->next_cursor, 10);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->jobs.size(), 3u);
  EXPECT_EQ(second->jobs[0].payload, "c2");
  EXPECT_EQ(second->jobs[2].payload, "c0");
  EXPECT_TRUE(second->next_cursor.empty());
}

TEST_P(StoreContractTest, ListRejectsABadCursorAndUnknownQueue) {
  EXPECT_TRUE(store_->List("q", JobState::kWaiting, "xyz", 10).status().IsInvalidArgument());
  EXPECT_TRUE(store_->List("nope", JobState::kWaiting, "", 10).status().IsNotFound());
}

TEST_P(StoreContractTest, ListShowsActiveAndDelayedJobs) {
  AddDelayed("d2", now_ + 20);
  AddDelayed("d1", now_ + 10);
  Add("a");
  TakeOne();
  auto delayed = store_->List("q", JobState::kDelayed, "", 10);
  ASSERT_TRUE(delayed.ok());
  ASSERT_EQ(delayed->jobs.size(), 2u);
  EXPECT_EQ(delayed->jobs[0].payload, "d1");
  auto active = store_->List("q", JobState::kActive, "", 10);
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->jobs.size(), 1u);
  EXPECT_EQ(active->jobs[0].payload, "a");
}

TEST_P(StoreContractTest, PauseFlagPersistsAcrossReopen) {
  EXPECT_FALSE(store_->IsPaused("q"));
  ASSERT_TRUE(store_->SetPaused("q", true).ok());
  EXPECT_TRUE(store_->IsPaused("q"));
  EXPECT_TRUE(Counts().paused);
  Reopen();
  EXPECT_TRUE(store_->IsPaused("q"));
  ASSERT_TRUE(store_->SetPaused("q", false).ok());
  Reopen();
  EXPECT_FALSE(store_->IsPaused("q"));
  EXPECT_TRUE(store_->SetPaused("missing", true).IsNotFound());
}

TEST_P(StoreContractTest, EveryTransitionSurvivesReopen) {
  auto with_attempts = [](const char* payload) {
    NewJob job = Payload(payload);
    job.max_attempts = 5;  // survives the restart below as waiting, not failed
    return job;
  };
  std::string done = Add(with_attempts("done"));
  std::string retry = Add(with_attempts("retry"));
  std::string fail = Add(with_attempts("fail"));
  std::string wait = Add(with_attempts("wait"));
  std::string delayed = AddDelayed("delayed", now_ + 5000);
  Reopen();
  EXPECT_EQ(TakeOne().id, done);
  Reopen();  // the active job comes back as waiting, its attempt counted
  Job again = TakeOne();
  EXPECT_EQ(again.id, done);
  EXPECT_EQ(again.attempts_made, 2u);
  ASSERT_TRUE(store_->Complete(done, "ok", now_).ok());
  Reopen();
  EXPECT_EQ(StateOf(done), JobState::kCompleted);
  EXPECT_EQ(TakeOne().id, retry);
  ASSERT_TRUE(store_->FailRetry(retry, "later", now_ + 100, now_).ok());
  Reopen();
  EXPECT_EQ(StateOf(retry), JobState::kDelayed);
  EXPECT_EQ(store_->NextDue("q"), now_ + 100);
  EXPECT_EQ(TakeOne().id, fail);
  ASSERT_TRUE(store_->FailFinal(fail, "no", now_).ok());
  Reopen();
  EXPECT_EQ(StateOf(fail), JobState::kFailed);
  ASSERT_TRUE(store_->Retry(fail, now_).ok());
  Reopen();
  EXPECT_EQ(StateOf(fail), JobState::kWaiting);
  ASSERT_EQ(*store_->PromoteDue("q", now_ + 100, 10), 1u);
  Reopen();
  EXPECT_EQ(StateOf(retry), JobState::kWaiting);
  ASSERT_TRUE(store_->Promote(delayed, now_).ok());
  Reopen();
  EXPECT_EQ(StateOf(delayed), JobState::kWaiting);
  ASSERT_TRUE(store_->Delete(wait).ok());
  Reopen();
  EXPECT_TRUE(store_->Get(wait).status().IsNotFound());
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.waiting, 3u);  // retry, fail, delayed
  EXPECT_EQ(counts.completed, 1u);
  EXPECT_EQ(counts.active + counts.delayed + counts.failed, 0u);
  // Take order after all that: by seq (add order).
  EXPECT_EQ(TakeOne().id, retry);
  EXPECT_EQ(TakeOne().id, fail);
  EXPECT_EQ(TakeOne().id, delayed);
}

TEST_P(StoreContractTest, ActiveJobsAreWaitingAgainAfterReopenWithAttemptsKept) {
  NewJob job = Payload("x");
  job.max_attempts = 3;
  std::string id = Add(job);
  Add("y");
  TakeOne();
  Reopen();
  EXPECT_EQ(store_->recovered_active(), 1u);
  auto stored = store_->Get(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, JobState::kWaiting);
  EXPECT_EQ(stored->attempts_made, 1u);
  EXPECT_EQ(stored->last_error, "stalled: worker lost (process restarted)");
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.active, 0u);
  EXPECT_EQ(counts.waiting, 2u);
  Job again = TakeOne();
  EXPECT_EQ(again.id, id);  // back at its place, ahead of y
  EXPECT_EQ(again.attempts_made, 2u);
}

TEST_P(StoreContractTest, ListPagesThroughActiveJobsInAddOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Add("a" + std::to_string(i)));
  Add("still waiting");
  for (int i = 0; i < 5; ++i) TakeOne();
  std::vector<std::string> listed;
  std::string cursor;
  do {
    auto page = store_->List("q", JobState::kActive, cursor, 2);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_LE(page->jobs.size(), 2u);
    for (const Job& job : page->jobs) {
      EXPECT_EQ(job.state, JobState::kActive);
      EXPECT_EQ(job.attempts_made, 1u);
      listed.push_back(job.id);
    }
    cursor = page->next_cursor;
  } while (!cursor.empty());
  EXPECT_EQ(listed, ids);
  EXPECT_FALSE(store_->List("q", JobState::kActive, "zz", 2).ok());
  auto waiting = store_->List("q", JobState::kWaiting, "", 10);
  ASSERT_TRUE(waiting.ok());
  ASSERT_EQ(waiting->jobs.size(), 1u);
  EXPECT_EQ(waiting->jobs[0].payload, "still waiting");
}

TEST_P(StoreContractTest, ActiveJobWithAttemptsUsedUpFailsAtReopen) {
  NewJob job = Payload("poison");
  job.max_attempts = 2;
  std::string id = Add(job);
  TakeOne();
  Reopen();
  EXPECT_EQ(StateOf(id), JobState::kWaiting);
  TakeOne();  // attempt 2 of 2, and the worker dies again
  Reopen();
  EXPECT_EQ(store_->recovered_active(), 1u);
  auto stored = store_->Get(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, JobState::kFailed);
  EXPECT_EQ(stored->last_error, "stalled: worker lost (process restarted)");
  EXPECT_GT(stored->finished_ms, 0);
  EXPECT_EQ(Counts().failed, 1u);
  EXPECT_TRUE(QueueEmpty());
}

TEST_P(StoreContractTest, SequenceNumbersAreNeverReusedAcrossReopen) {
  std::set<std::uint64_t> seqs;
  std::uint64_t last = 0;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 5; ++i) {
      std::string id = Add("x");
      auto job = store_->Get(id);
      ASSERT_TRUE(job.ok());
      EXPECT_GT(job->seq, last);
      last = job->seq;
      EXPECT_TRUE(seqs.insert(job->seq).second);
    }
    Reopen();
  }
}

TEST_P(StoreContractTest, CountsAreRebuiltAtOpen) {
  for (int i = 0; i < 5; ++i) Add("w");
  AddDelayed("d", now_ + 10);
  Job a = TakeOne();
  Job b = TakeOne();
  ASSERT_TRUE(store_->Complete(a.id, "", now_).ok());
  ASSERT_TRUE(store_->FailFinal(b.id, "", now_).ok());
  const std::string lost = TakeOne().id;  // active with its only attempt: waiting at reopen
  Reopen();
  QueueCounts counts = Counts();
  EXPECT_EQ(counts.waiting, 3u);
  EXPECT_EQ(counts.delayed, 1u);
  EXPECT_EQ(counts.completed, 1u);
  EXPECT_EQ(counts.failed, 1u);
  EXPECT_EQ(counts.active, 0u);
  // Lost a second time: failed (it stalled before).
  Job again;
  do {
    again = TakeOne();
  } while (again.id != lost);
  Reopen();
  counts = Counts();
  EXPECT_EQ(counts.failed, 2u);
  EXPECT_EQ(counts.active, 0u);
  auto failed = store_->Get(lost);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, JobState::kFailed);
  ASSERT_EQ(failed->history.size(), 2u);
  EXPECT_EQ(failed->history[0].outcome, AttemptOutcome::kStalled);
  EXPECT_EQ(failed->history[1].outcome, AttemptOutcome::kStalled);
}

TEST_P(StoreContractTest, RecordsAreWalkedPageByPageAfterAKey) {
  for (const char* key : {"b", "a", "c", "d"}) {
    ASSERT_TRUE(store_->PutRecord(RecordTable::kTickets, key, std::string("v") + key).ok());
  }
  ASSERT_TRUE(store_->PutRecord(RecordTable::kTickets, std::string("\0d", 2), "binary").ok());
  std::vector<std::string> keys;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    auto rows = store_->ScanRecordsAfter(RecordTable::kTickets, after, 2);
    ASSERT_TRUE(rows.ok());
    if (rows->empty()) break;
    for (const auto& [key, value] : *rows) keys.push_back(key);
    after = rows->back().first;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{std::string("\0d", 2), "a", "b", "c", "d"}));
  // Meta records are walked without their prefix, and not beyond it.
  ASSERT_TRUE(store_->PutRecord(RecordTable::kMeta, "audit|1", "x").ok());
  auto meta = store_->ScanRecordsAfter(RecordTable::kMeta, "", 100);
  ASSERT_TRUE(meta.ok());
  ASSERT_EQ(meta->size(), 1u);
  EXPECT_EQ((*meta)[0].first, "audit|1");
}

TEST_P(StoreContractTest, AnImportedJobKeepsItsStateAttemptsAndHistoryOnce) {
  Job job;
  job.id = "exported-1";
  job.payload = "p";
  job.name = "booking-created";
  job.state = JobState::kFailed;
  job.attempts_made = 2;
  job.max_attempts = 2;
  job.created_ms = 100;
  job.processed_ms = 200;
  job.finished_ms = 300;
  job.last_error = "smtp down";
  job.history.push_back(Attempt{.started_ms = 200,
                                .ended_ms = 300,
                                .outcome = AttemptOutcome::kFailed,
                                .error = "smtp down",
                                .worker = "local:1",
                                .backoff_ms = 0,
                                .next_due_ms = 0});
  auto imported = store_->Import("q", job);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_TRUE(imported->created);
  EXPECT_EQ(imported->state, JobState::kFailed);
  EXPECT_EQ(store_->Counts("q")->failed, 1u);
  job.payload = "changed";
  auto again = store_->Import("q", job);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  Reopen();
  auto read = store_->Get("exported-1");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->payload, "p");
  EXPECT_EQ(read->name, "booking-created");
  EXPECT_EQ(read->attempts_made, 2u);
  EXPECT_EQ(read->finished_ms, 300);
  ASSERT_EQ(read->history.size(), 1u);
  EXPECT_EQ(read->history[0].worker, "local:1");
  EXPECT_EQ(store_->Counts("q")->failed, 1u);
  ASSERT_TRUE(store_->Retry("exported-1", now_).ok());
  EXPECT_EQ(store_->Counts("q")->waiting, 1u);

  // A generated id of another store: this one's ids continue above it. An active job comes
  // in waiting.
  Job numbered;
  numbered.id = "900000";
  numbered.payload = "n";
  numbered.state = JobState::kActive;
  numbered.attempts_made = 1;
  auto added = store_->Import("q", numbered);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->state, JobState::kWaiting);
  EXPECT_GT(std::stoull(Add("next")), 900000u);
  EXPECT_TRUE(store_->Import("nope", numbered).status().IsNotFound());
  numbered.id = "";
  EXPECT_TRUE(store_->Import("q", numbered).status().IsInvalidArgument());
}

TEST_P(StoreContractTest, RecordsScanByPrefixInBothOrders) {
  for (const char* key : {"u1|3", "u1|1", "u2|1", "u1|2", "u0|9"}) {
    ASSERT_TRUE(store_->PutRecord(RecordTable::kInbox, key, std::string("v") + key).ok());
  }
  auto asc = store_->ScanRecords(RecordTable::kInbox, "u1|", 10, ScanOrder::kOldestFirst);
  ASSERT_TRUE(asc.ok());
  ASSERT_EQ(asc->size(), 3u);
  EXPECT_EQ((*asc)[0].first, "u1|1");
  EXPECT_EQ((*asc)[2].first, "u1|3");
  EXPECT_EQ((*asc)[2].second, "vu1|3");
  auto desc = store_->ScanRecords(RecordTable::kInbox, "u1|", 2, ScanOrder::kNewestFirst);
  ASSERT_TRUE(desc.ok());
  ASSERT_EQ(desc->size(), 2u);
  EXPECT_EQ((*desc)[0].first, "u1|3");
  EXPECT_EQ((*desc)[1].first, "u1|2");
  // A key equal to the prefix's end ("u1}") is outside the prefix in both directions.
  ASSERT_TRUE(store_->PutRecord(RecordTable::kInbox, "u1}", "outside").ok());
  desc = store_->ScanRecords(RecordTable::kInbox, "u1|", 10, ScanOrder::kNewestFirst);
  ASSERT_TRUE(desc.ok());
  ASSERT_EQ(desc->size(), 3u);
  EXPECT_EQ((*desc)[0].first, "u1|3");
  ASSERT_TRUE(store_->DeleteRecord(RecordTable::kInbox, "u1}").ok());
  auto all = store_->ScanRecords(RecordTable::kInbox, "", 0, ScanOrder::kNewestFirst);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ(all->front().first, "u2|1");
}

TEST_P(StoreContractTest, RecordTablesAreSeparateAndPersistent) {
  ASSERT_TRUE(store_->PutRecord(RecordTable::kPrefs, "u1", "email=on").ok());
  ASSERT_TRUE(store_->PutRecord(RecordTable::kTickets, "u1", "ticket").ok());
  ASSERT_TRUE(store_->PutRecord(RecordTable::kMeta, "queue|evil", "x").ok());
  Reopen();
  EXPECT_EQ(**store_->GetRecord(RecordTable::kPrefs, "u1"), "email=on");
  EXPECT_EQ(**store_->GetRecord(RecordTable::kTickets, "u1"), "ticket");
  EXPECT_FALSE(store_->GetRecord(RecordTable::kSent, "u1")->has_value());
  // A caller's meta record can't pose as a registry row.
  EXPECT_FALSE(store_->HasQueue("evil"));
  auto meta = store_->ScanRecords(RecordTable::kMeta, "", 10, ScanOrder::kOldestFirst);
  ASSERT_TRUE(meta.ok());
  ASSERT_EQ(meta->size(), 1u);
  EXPECT_EQ((*meta)[0].first, "queue|evil");
  ASSERT_TRUE(store_->DeleteRecord(RecordTable::kPrefs, "u1").ok());
  EXPECT_FALSE(store_->GetRecord(RecordTable::kPrefs, "u1")->has_value());
}

TEST_P(StoreContractTest, TakeStartsAnAttemptOfItsWorkerAndCompleteEndsIt) {
  std::string id = Add("x");
  Job taken = TakeAs("mailer-1@10.0.0.7:51234");
  ASSERT_EQ(taken.history.size(), 1u);
  ExpectAttempt(taken.history[0], now_, 0, AttemptOutcome::kRunning, "", "mailer-1@10.0.0.7:51234");
  auto shown = store_->Get(id);
  ASSERT_TRUE(shown.ok());
  ASSERT_EQ(shown->history.size(), 1u);
  EXPECT_EQ(shown->history[0].outcome, AttemptOutcome::kRunning);
  auto done = store_->Complete(id, "ok", now_ + 25);
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(done->history.size(), 1u);
  ExpectAttempt(done->history[0], now_, now_ + 25, AttemptOutcome::kCompleted, "",
                "mailer-1@10.0.0.7:51234");
}

TEST_P(StoreContractTest, AJobThatFailsTwiceThenCompletesKeepsThreeAttempts) {
  NewJob job = Payload("x");
  job.max_attempts = 3;
  std::string id = Add(job);
  TakeAs("local:1");
  now_ += 30;
  ASSERT_TRUE(store_->FailRetry(id, "smtp 451", now_ + 2000, now_).ok());
  now_ += 2000;
  ASSERT_EQ(store_->PromoteDue("q", now_, 10).value(), 1u);
  now_ += 5;
  TakeAs("mailer@10.0.0.7:5000");
  now_ += 40;
  // Due already: waiting at once, no backoff.
  ASSERT_TRUE(store_->FailRetry(id, "connection reset", now_ - 1, now_).ok());
  now_ += 1;
  TakeAs("local:2");
  now_ += 7;
  ASSERT_TRUE(store_->Complete(id, "250 sent", now_).ok());
  for (int open = 0; open < 2; ++open) {
    auto shown = store_->Get(id);
    ASSERT_TRUE(shown.ok());
    ASSERT_EQ(shown->history.size(), 3u);
    ExpectAttempt(shown->history[0], kNow, kNow + 30, AttemptOutcome::kRetrying, "smtp 451",
                  "local:1", 2000, kNow + 2030);
    ExpectAttempt(shown->history[1], kNow + 2035, kNow + 2075, AttemptOutcome::kRetrying,
                  "connection reset", "mailer@10.0.0.7:5000", 0, kNow + 2075);
    ExpectAttempt(shown->history[2], kNow + 2076, kNow + 2083, AttemptOutcome::kCompleted, "",
                  "local:2");
    Reopen();
  }
}

TEST_P(StoreContractTest, FailFinalEndsTheAttemptFailedOrStalled) {
  std::string failed = Add("a");
  std::string expired = Add("b");
  TakeAs("w1");
  TakeAs("w2");
  std::string long_error(5000, 'e');
  auto a = store_->FailFinal(failed, long_error, now_ + 1);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->last_error, long_error);  // the job's last error is as before
  ASSERT_EQ(a->history.size(), 1u);
  ExpectAttempt(a->history[0], now_, now_ + 1, AttemptOutcome::kFailed,
                std::string(kMaxAttemptErrorBytes, 'e'), "w1");
  auto b = store_->FailFinal(expired, "lease expired", now_ + 2, AttemptOutcome::kStalled);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->history.size(), 1u);
  ExpectAttempt(b->history[0], now_, now_ + 2, AttemptOutcome::kStalled, "lease expired", "w2");
}

TEST_P(StoreContractTest, RequeueEndsTheAttemptStalledWithTheReason) {
  std::string id = Add("x");
  TakeAs("gone@10.0.0.9:4000");
  ASSERT_TRUE(store_->Requeue(id, "lease expired", now_ + 60000).ok());
  Job again = TakeAs("local:0");
  ASSERT_EQ(again.history.size(), 2u);
  ExpectAttempt(again.history[0], now_, now_ + 60000, AttemptOutcome::kStalled, "lease expired",
                "gone@10.0.0.9:4000");
  ExpectAttempt(again.history[1], now_, 0, AttemptOutcome::kRunning, "", "local:0");
}

TEST_P(StoreContractTest, HistoryKeepsTheLast25AttemptsAcrossReopen) {
  NewJob job = Payload("x");
  job.max_attempts = 100;
  std::string id = Add(job);
  for (int i = 0; i < 30; ++i) {
    now_ = kNow + i * 10;
    TakeAs("local:" + std::to_string(i));
    ASSERT_TRUE(store_->FailRetry(id, "e" + std::to_string(i), now_, now_).ok());
  }
  Reopen();
  auto shown = store_->Get(id);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->attempts_made, 30u);
  ASSERT_EQ(shown->history.size(), kMaxAttemptHistory);
  EXPECT_EQ(shown->history.front().worker, "local:5");  // the first five were dropped
  EXPECT_EQ(shown->history.front().error, "e5");
  EXPECT_EQ(shown->history.back().worker, "local:29");
  // And a take keeps the bound, with the running attempt last.
  Job taken = TakeAs("local:30");
  ASSERT_EQ(taken.history.size(), kMaxAttemptHistory);
  EXPECT_EQ(taken.history.front().worker, "local:6");
  EXPECT_EQ(taken.history.back().outcome, AttemptOutcome::kRunning);
}

TEST_P(StoreContractTest, TransitionsThatAreNotAttemptsKeepTheHistory) {
  std::string failed = Add("f");
  std::string delayed = Add("d");
  TakeAs("w");
  TakeAs("w");
  ASSERT_TRUE(store_->FailFinal(failed, "bad", now_).ok());
  ASSERT_TRUE(store_->FailRetry(delayed, "later", now_ + 1000, now_).ok());
  auto retried = store_->RetryAllFailed("q", now_);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(*retried, 1u);
  ASSERT_TRUE(store_->Promote(delayed, now_).ok());
  for (const std::string& id : {failed, delayed}) {
    auto shown = store_->Get(id);
    ASSERT_TRUE(shown.ok());
    EXPECT_EQ(shown->state, JobState::kWaiting);
    ASSERT_EQ(shown->history.size(), 1u) << id;
    EXPECT_EQ(shown->history[0].outcome,
              id == failed ? AttemptOutcome::kFailed : AttemptOutcome::kRetrying);
  }
  TakeAs("w");
  ASSERT_TRUE(store_->FailFinal(failed, "bad again", now_).ok());
  ASSERT_TRUE(store_->Retry(failed, now_).ok());
  EXPECT_EQ(store_->Get(failed)->history.size(), 2u);
}

TEST_P(StoreContractTest, CompleteAndTakeStartsTheAttemptOfTheJobTakenAlong) {
  std::string first = Add("a");
  std::string second = Add("b");
  TakeAs("local:4");
  auto result = store_->CompleteAndTake({first, ""}, "q", now_ + 3, "local:4");
  ASSERT_TRUE(result.completed.ok());
  ASSERT_TRUE(result.next.has_value());
  EXPECT_EQ(result.next->id, second);
  ASSERT_EQ(result.next->history.size(), 1u);
  ExpectAttempt(result.next->history[0], now_ + 3, 0, AttemptOutcome::kRunning, "", "local:4");
  ExpectAttempt(result.completed->history.at(0), now_, now_ + 3, AttemptOutcome::kCompleted, "",
                "local:4");
}

// The running attempt is in the lease alone until it ends; a restart ends it stalled.
TEST_P(StoreContractTest, TheLeaseKeepsTheWorkerAndOpenEndsTheAttemptStalled) {
  NewJob job = Payload("poison");
  job.max_attempts = 2;
  std::string id = Add(job);
  TakeAs("crashy@10.0.0.3:7000");
  Reopen();
  auto shown = store_->Get(id);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->state, JobState::kWaiting);
  ASSERT_EQ(shown->history.size(), 1u);
  const Attempt& first = shown->history[0];
  EXPECT_EQ(first.started_ms, now_);
  EXPECT_GT(first.ended_ms, 0);
  EXPECT_EQ(first.outcome, AttemptOutcome::kStalled);
  EXPECT_EQ(first.error, "stalled: worker lost (process restarted)");
  EXPECT_EQ(first.worker, "crashy@10.0.0.3:7000");
  // The last attempt: the job fails, and its attempt says why.
  TakeAs("local:0");
  Reopen();
  shown = store_->Get(id);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->state, JobState::kFailed);
  ASSERT_EQ(shown->history.size(), 2u);
  EXPECT_EQ(shown->history[1].outcome, AttemptOutcome::kStalled);
  EXPECT_EQ(shown->history[1].worker, "local:0");
}

// Past the memory budget of active jobs, the payload and the earlier attempts are read back
// from the record: reads and the transition see the whole history.
TEST_P(StoreContractTest, AnActiveJobKeptWithoutItsPayloadHasItsWholeHistory) {
  NewJob job = Payload(std::string(100'000, 'p'));
  job.max_attempts = 3;
  std::string id = Add(job);
  TakeAs("local:0");
  ASSERT_TRUE(store_->FailRetry(id, "first", now_, now_).ok());
  now_ += 10;
  TakeAs("local:1");
  auto shown = store_->Get(id);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->payload.size(), 100'000u);
  ASSERT_EQ(shown->history.size(), 2u);
  EXPECT_EQ(shown->history[0].error, "first");
  ExpectAttempt(shown->history[1], now_, 0, AttemptOutcome::kRunning, "", "local:1");
  ASSERT_TRUE(store_->Complete(id, "", now_ + 1).ok());
  shown = store_->Get(id);
  ASSERT_EQ(shown->history.size(), 2u);
  EXPECT_EQ(shown->history[0].outcome, AttemptOutcome::kRetrying);
  EXPECT_EQ(shown->history[1].outcome, AttemptOutcome::kCompleted);
}

}  // namespace
}  // namespace herald::storage
