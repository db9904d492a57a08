// Broker lifecycle without worker threads: a fake clock, the scheduler driven by Tick(), takes
// made as a remote worker would make them.
#include "engine/broker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "tests/engine/broker_fixture.h"

namespace herald::engine {
namespace {

using storage::JobState;

class BrokerTest : public BrokerFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(BrokerFixture::SetUp());
    ASSERT_NO_FATAL_FAILURE(CreateBroker());
    StartBroker();
  }

  // Fails the active job and checks when it is due again.
  void FailAndExpectDueIn(const std::string& id, std::int64_t delay_ms) {
    auto failed = broker_->Fail(id, "smtp 451");
    ASSERT_TRUE(failed.ok()) << failed.status().ToString();
    EXPECT_EQ(failed->state, JobState::kDelayed);
    EXPECT_EQ(failed->due_ms, clock_.NowMs() + delay_ms);
  }
};

TEST_F(BrokerTest, EmailsBackoffWaitsTwoFourEightSixteenSecondsThenFails) {
  std::string id = AddJob("emails", "mail");
  const std::int64_t expected[] = {2000, 4000, 8000, 16000};
  for (std::int64_t delay : expected) {
    LeasedJob job = TakeOne("emails");
    ASSERT_EQ(job.job.id, id);
    FailAndExpectDueIn(id, delay);
    // Not due a millisecond early; due exactly on time.
    clock_.Advance(delay - 1);
    broker_->Tick();
    EXPECT_EQ(Available("emails"), 0u);
    clock_.Advance(1);
    broker_->Tick();
  }
  LeasedJob last = TakeOne("emails");
  EXPECT_EQ(last.job.attempts_made, 5u);
  auto failed = broker_->Fail(id, "smtp 451 again");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, JobState::kFailed);
  EXPECT_EQ(failed->last_error, "smtp 451 again");
}

TEST_F(BrokerTest, NotificationsBackoffWaitsOneThenTwoSeconds) {
  std::string id = AddJob("notifications", "push");
  for (std::int64_t delay : {1000, 2000}) {
    TakeOne("notifications");
    FailAndExpectDueIn(id, delay);
    clock_.Advance(delay);
    broker_->Tick();
  }
  TakeOne("notifications");
  auto failed = broker_->Fail(id, "no");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, JobState::kFailed);
  EXPECT_EQ(failed->attempts_made, 3u);
}

TEST_F(BrokerTest, TicketsBackoffIsFixedFiveSeconds) {
  std::string id = AddJob("tickets", "ticket");
  for (int i = 0; i < 2; ++i) {
    TakeOne("tickets");
    FailAndExpectDueIn(id, 5000);
    clock_.Advance(5000);
    broker_->Tick();
  }
  TakeOne("tickets");
  EXPECT_EQ(broker_->Fail(id, "no")->state, JobState::kFailed);
}

TEST_F(BrokerTest, PerJobOverridesBeatTheQueuePolicy) {
  JobOptions options;
  options.attempts = 2;
  options.backoff_type = storage::BackoffType::kFixed;
  options.backoff_ms = 300;
  std::string id = AddJob("emails", "x", options);
  TakeOne("emails");
  FailAndExpectDueIn(id, 300);
  clock_.Advance(300);
  broker_->Tick();
  TakeOne("emails");
  EXPECT_EQ(broker_->Fail(id, "no")->state, JobState::kFailed);
}

TEST_F(BrokerTest, PermanentFailureSkipsRemainingAttempts) {
  std::string id = AddJob("emails", "x");
  TakeOne("emails");
  auto failed = broker_->Fail(id, "550 no such user", FailMode::kPermanent);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, JobState::kFailed);
  EXPECT_EQ(failed->attempts_made, 1u);
}

TEST_F(BrokerTest, RetryOfAFailedJobRunsItAgain) {
  JobOptions options;
  options.attempts = 1;
  std::string id = AddJob("emails", "x", options);
  TakeOne("emails");
  ASSERT_EQ(broker_->Fail(id, "boom")->state, JobState::kFailed);
  EXPECT_EQ(broker_->Counts("emails")->failed, 1u);
  auto retried = broker_->Retry(id);
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(retried->state, JobState::kWaiting);
  LeasedJob again = TakeOne("emails");
  EXPECT_EQ(again.job.id, id);
  ASSERT_TRUE(broker_->Ack(id, "done").ok());
  EXPECT_EQ(broker_->Show(id)->state, JobState::kCompleted);
  EXPECT_EQ(broker_->Show(id)->return_value, "done");
}

TEST_F(BrokerTest, RetryAllMovesEveryFailedJob) {
  JobOptions options;
  options.attempts = 1;
  for (int i = 0; i < 3; ++i) {
    std::string id = AddJob("tickets", "t", options);
    TakeOne("tickets");
    ASSERT_TRUE(broker_->Fail(id, "x").ok());
  }
  EXPECT_EQ(*broker_->RetryAll("tickets"), 3u);
  EXPECT_EQ(broker_->Counts("tickets")->waiting, 3u);
}

TEST_F(BrokerTest, AckOfAJobNotActiveIsNotFound) {
  std::string id = AddJob("emails", "x");
  EXPECT_TRUE(broker_->Ack(id).status().IsNotFound());
  EXPECT_TRUE(broker_->Ack("nope").status().IsNotFound());
  TakeOne("emails");
  EXPECT_TRUE(broker_->Ack(id).ok());
  EXPECT_TRUE(broker_->Ack(id).status().IsNotFound());
}

TEST_F(BrokerTest, TakeWithACountLeasesEachJobAndAckManyCompletesThemTogether) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(AddJob("emails", "m" + std::to_string(i)));
  auto jobs = broker_->Take(Request({"emails"}, 3, 0));
  ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
  ASSERT_EQ(jobs->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*jobs)[i].job.id, ids[i]);
    EXPECT_GT((*jobs)[i].lease_until_ms, clock_.NowMs());
  }
  EXPECT_EQ(broker_->Counts("emails")->active, 3u);
  auto results = broker_->AckMany({{ids[0], "r0"}, {ids[3], ""}, {ids[2], "r2"}, {"nope", ""}});
  ASSERT_EQ(results.size(), 4u);
  ASSERT_TRUE(results[0].ok()) << results[0].status().ToString();
  EXPECT_EQ(results[0]->return_value, "r0");
  EXPECT_TRUE(results[1].status().IsNotFound());  // waiting, never leased
  ASSERT_TRUE(results[2].ok());
  EXPECT_TRUE(results[3].status().IsNotFound());
  EXPECT_EQ(broker_->Show(ids[2])->state, JobState::kCompleted);
  EXPECT_EQ(broker_->Show(ids[2])->return_value, "r2");
  EXPECT_EQ(broker_->Show(ids[1])->state, JobState::kActive);
  // Acked leases are gone: a second ack of the same id finds nothing.
  EXPECT_TRUE(broker_->Ack(ids[0]).status().IsNotFound());
  EXPECT_TRUE(broker_->Ack(ids[1]).ok());
  auto counts = broker_->Counts("emails");
  EXPECT_EQ(counts->completed, 3u);
  EXPECT_EQ(counts->waiting, 2u);
  EXPECT_EQ(counts->active, 0u);
}

TEST_F(BrokerTest, TakeWithACountStaysWithinTheConcurrencyLimit) {
  Policy("emails").concurrency = 2;
  CreateBroker();
  for (int i = 0; i < 5; ++i) AddJob("emails", "x");
  auto jobs = broker_->Take(Request({"emails"}, 10, 0));
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ(Available("emails"), 0u);
  ASSERT_TRUE(broker_->Ack((*jobs)[0].job.id).ok());
  EXPECT_EQ(Available("emails"), 1u);
}

TEST_F(BrokerTest, PausedQueueHandsOutNothingButAcceptsAdds) {
  ASSERT_TRUE(broker_->Pause("emails").ok());
  std::string id = AddJob("emails", "x");
  EXPECT_EQ(Available("emails"), 0u);
  EXPECT_TRUE(broker_->Counts("emails")->paused);
  EXPECT_EQ(broker_->Counts("emails")->waiting, 1u);
  ASSERT_TRUE(broker_->Resume("emails").ok());
  EXPECT_EQ(TakeOne("emails").job.id, id);
}

TEST_F(BrokerTest, PauseSurvivesRestart) {
  ASSERT_TRUE(broker_->Pause("emails").ok());
  AddJob("emails", "x");
  Reopen();
  EXPECT_EQ(Available("emails"), 0u);
  ASSERT_TRUE(broker_->Resume("emails").ok());
  EXPECT_EQ(Available("emails"), 1u);
}

TEST_F(BrokerTest, DelayedJobBecomesWaitingWhenDue) {
  JobOptions options;
  options.delay_ms = 1500;
  std::string id = AddJob("emails", "later", options);
  EXPECT_EQ(broker_->Show(id)->state, JobState::kDelayed);
  EXPECT_EQ(broker_->Tick(), clock_.NowMs() + 1500);
  EXPECT_EQ(Available("emails"), 0u);
  clock_.Advance(1500);
  broker_->Tick();
  EXPECT_EQ(TakeOne("emails").job.id, id);
}

TEST_F(BrokerTest, PromoteMakesADelayedJobWaitingNow) {
  JobOptions options;
  options.delay_ms = 60000;
  std::string id = AddJob("emails", "later", options);
  ASSERT_TRUE(broker_->Promote(id).ok());
  EXPECT_EQ(TakeOne("emails").job.id, id);
}

TEST_F(BrokerTest, ExpiredLeaseRequeuesAndCountsTheAttempt) {
  std::string id = AddJob("notifications", "x");
  LeasedJob job = TakeOne("notifications", 2000);
  EXPECT_EQ(job.lease_until_ms, clock_.NowMs() + 2000);
  clock_.Advance(2000);
  broker_->Tick();
  auto shown = broker_->Show(id);
  EXPECT_EQ(shown->state, JobState::kWaiting);
  EXPECT_NE(shown->last_error.find("lease expired"), std::string::npos);
  EXPECT_TRUE(broker_->Ack(id).status().IsNotFound());  // the late worker lost it
  EXPECT_EQ(TakeOne("notifications").job.attempts_made, 2u);
}

TEST_F(BrokerTest, PoisonJobWhoseLeasesKeepExpiringEndsInFailed) {
  std::string id = AddJob("notifications", "x");  // 3 attempts
  for (int i = 0; i < 3; ++i) {
    TakeOne("notifications", 1000);
    clock_.Advance(1000);
    broker_->Tick();
  }
  EXPECT_EQ(broker_->Show(id)->state, JobState::kFailed);
}

TEST_F(BrokerTest, AJobThatFailsTwiceThenCompletesShowsThreeAttempts) {
  std::string id = AddJob("notifications", "push");  // 3 attempts, exponential from 1 s
  const TakeRequest request = Request({"notifications"}, 1, 0, "pusher-2@10.0.0.5:6000");
  const std::int64_t start = clock_.NowMs();
  ASSERT_EQ(broker_->Take(request)->size(), 1u);
  clock_.Advance(10);
  ASSERT_TRUE(broker_->Fail(id, "gateway timeout").ok());
  clock_.Advance(1000);
  broker_->Tick();
  ASSERT_EQ(broker_->Take(request)->size(), 1u);
  clock_.Advance(20);
  ASSERT_TRUE(broker_->Fail(id, "503 unavailable").ok());
  clock_.Advance(2000);
  broker_->Tick();
  ASSERT_EQ(broker_->Take(request)->size(), 1u);
  clock_.Advance(5);
  ASSERT_TRUE(broker_->Ack(id, "sent").ok());

  auto shown = broker_->Show(id);
  ASSERT_TRUE(shown.ok());
  ASSERT_EQ(shown->history.size(), 3u);
  const Attempt& first = shown->history[0];
  EXPECT_EQ(first.started_ms, start);
  EXPECT_EQ(first.ended_ms, start + 10);
  EXPECT_EQ(first.outcome, AttemptOutcome::kRetrying);
  EXPECT_EQ(first.error, "gateway timeout");
  EXPECT_EQ(first.worker, "pusher-2@10.0.0.5:6000");
  EXPECT_EQ(first.backoff_ms, 1000);
  EXPECT_EQ(first.next_due_ms, start + 1010);
  const Attempt& second = shown->history[1];
  EXPECT_EQ(second.started_ms, start + 1010);
  EXPECT_EQ(second.ended_ms, start + 1030);
  EXPECT_EQ(second.outcome, AttemptOutcome::kRetrying);
  EXPECT_EQ(second.error, "503 unavailable");
  EXPECT_EQ(second.backoff_ms, 2000);
  EXPECT_EQ(second.next_due_ms, start + 3030);
  const Attempt& third = shown->history[2];
  EXPECT_EQ(third.started_ms, start + 3030);
  EXPECT_EQ(third.ended_ms, start + 3035);
  EXPECT_EQ(third.outcome, AttemptOutcome::kCompleted);
  EXPECT_EQ(third.error, "");
  EXPECT_EQ(third.backoff_ms, 0);
  EXPECT_EQ(third.next_due_ms, 0);
  EXPECT_EQ(AttemptOutcomeName(third.outcome), "completed");
}

TEST_F(BrokerTest, TheLastFailureEndsTheAttemptFailed) {
  std::string id = AddJob("notifications", "push");
  TakeOne("notifications");
  ASSERT_TRUE(broker_->Fail(id, "410 gone", FailMode::kPermanent).ok());
  auto shown = broker_->Show(id);
  ASSERT_TRUE(shown.ok());
  ASSERT_EQ(shown->history.size(), 1u);
  EXPECT_EQ(shown->history[0].outcome, AttemptOutcome::kFailed);
  EXPECT_EQ(shown->history[0].error, "410 gone");
  EXPECT_EQ(shown->history[0].next_due_ms, 0);
}

TEST_F(BrokerTest, AnExpiredLeaseEndsTheAttemptStalled) {
  std::string id = AddJob("notifications", "x");  // 3 attempts
  const std::int64_t start = clock_.NowMs();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(broker_->Take(Request({"notifications"}, 1, 1000, "slow@h:1"))->size(), 1u);
    clock_.Advance(1000);
    broker_->Tick();
  }
  auto shown = broker_->Show(id);
  ASSERT_TRUE(shown.ok());
  // The third expiry fails the job; its attempt stalled all the same.
  EXPECT_EQ(shown->state, JobState::kFailed);
  ASSERT_EQ(shown->history.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const Attempt& attempt = shown->history[i];
    EXPECT_EQ(attempt.started_ms, start + 1000 * i);
    EXPECT_EQ(attempt.ended_ms, start + 1000 * (i + 1));
    EXPECT_EQ(attempt.outcome, AttemptOutcome::kStalled) << i;
    EXPECT_EQ(attempt.error, "lease expired: no ACKJOB or WORKING in time");
    EXPECT_EQ(attempt.worker, "slow@h:1");
  }
}

// A lost worker does not fail a job on its last attempt the first time (BullMQ's
// maxStalledCount of 1): the job goes back once more; a second stall, or a failure, ends it.
TEST_F(BrokerTest, AStallOnTheLastAttemptGivesTheJobBackOnce) {
  JobOptions one;
  one.attempts = 1;
  std::string id = AddJob("notifications", "x", one);
  ASSERT_EQ(broker_->Take(Request({"notifications"}, 1, 1000, "lost@h:1"))->size(), 1u);
  clock_.Advance(1000);
  broker_->Tick();
  auto shown = broker_->Show(id);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->state, JobState::kWaiting);
  EXPECT_EQ(shown->attempts_made, 1u);
  // Taken again (attempt 2 of 1) and lost again: failed.
  LeasedJob again = TakeOne("notifications", 1000);
  EXPECT_EQ(again.job.id, id);
  EXPECT_EQ(again.job.attempts_made, 2u);
  clock_.Advance(1000);
  broker_->Tick();
  shown = broker_->Show(id);
  EXPECT_EQ(shown->state, JobState::kFailed);
  ASSERT_EQ(shown->history.size(), 2u);
  EXPECT_EQ(shown->history[1].outcome, AttemptOutcome::kStalled);

  // The extra run is a last attempt like any other: a failure in it fails the job.
  std::string other = AddJob("notifications", "y", one);
  ASSERT_EQ(broker_->Take(Request({"notifications"}, 1, 1000, "lost@h:1"))->size(), 1u);
  clock_.Advance(1000);
  broker_->Tick();
  TakeOne("notifications");
  ASSERT_TRUE(broker_->Fail(other, "500").ok());
  EXPECT_EQ(broker_->Show(other)->state, JobState::kFailed);
}

TEST_F(BrokerTest, BlockingAndAcknowledgingTakesRecordTheirWorker) {
  std::vector<LeasedJob> served;
  auto waiter = broker_->TakeAsync(Request({"emails"}, 1, 0, "waiter@h:2"), 0,
                                   [&](std::vector<LeasedJob> jobs) { served = std::move(jobs); });
  ASSERT_TRUE(waiter.ok());
  std::string first = AddJob("emails", "a");
  ASSERT_EQ(served.size(), 1u);
  std::string second = AddJob("emails", "b");
  auto next = broker_->AckAndTake(first, "", Request({"emails"}, 1, 0, "acker@h:3"));
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ(broker_->Show(first)->history.at(0).worker, "waiter@h:2");
  auto taken = broker_->Show(second);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->history.size(), 1u);
  EXPECT_EQ(taken->history[0].outcome, AttemptOutcome::kRunning);
  EXPECT_EQ(taken->history[0].worker, "acker@h:3");
}

TEST_F(BrokerTest, WorkingExtendsTheLease) {
  std::string id = AddJob("emails", "x");
  TakeOne("emails", 2000);
  clock_.Advance(1500);
  EXPECT_EQ(*broker_->ExtendLease(id), 2000);
  clock_.Advance(1500);
  broker_->Tick();
  EXPECT_EQ(broker_->Show(id)->state, JobState::kActive);
  EXPECT_TRUE(broker_->ExtendLease(id, 500).status().IsInvalidArgument());
  EXPECT_TRUE(broker_->ExtendLease("unknown").status().IsNotFound());
  EXPECT_TRUE(broker_->Ack(id).ok());
}

TEST_F(BrokerTest, LeaseOutsideLimitsIsRefusedNotClamped) {
  AddJob("emails", "x");
  EXPECT_TRUE(broker_->Take(Request({"emails"}, 1, 10)).status().IsInvalidArgument());
  EXPECT_TRUE(broker_->Take(Request({"emails"}, 1, 90000000)).status().IsInvalidArgument());
}

TEST_F(BrokerTest, SameEventIdIsQueuedOnce) {
  const std::string event =
      R"({"eventType":"booking.created","eventId":"evt-42","timestamp":"2026-01-01T00:00:00Z",)"
      R"("data":{"bookingId":"b1","userId":"u1","userEmail":"u1@example.com"}})";
  auto first = broker_->Emit(event);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->id, "evt-42");
  EXPECT_EQ(first->queue, "emails");
  auto second = broker_->Emit(event);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->id, "evt-42");
  EXPECT_EQ(broker_->Counts("emails")->waiting, 1u);
}

TEST_F(BrokerTest, BadEventQueuesNothing) {
  EXPECT_EQ(broker_->Emit(R"({"eventType":"nope","eventId":"e","data":{}})").status().message(),
            "unknown event type 'nope'");
  EXPECT_EQ(broker_->Emit(R"({"eventType":"booking.created","eventId":"e","data":{}})")
                .status()
                .message(),
            "event booking.created: missing field data.bookingId");
  for (const auto& queue : broker_->Queues()) {
    auto counts = broker_->Counts(queue);
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ(counts->waiting + counts->delayed, 0u) << queue;
  }
}

TEST_F(BrokerTest, BlockingTakeIsWokenByAnAddInFifoOrderOfWaiters) {
  std::vector<std::string> order;
  auto first = broker_->TakeAsync(Request({"emails"}, 1, 0), 0, [&](std::vector<LeasedJob> jobs) {
    ASSERT_EQ(jobs.size(), 1u);
    order.push_back("first:" + jobs[0].job.payload);
  });
  auto second = broker_->TakeAsync(Request({"emails"}, 1, 0), 0, [&](std::vector<LeasedJob> jobs) {
    ASSERT_EQ(jobs.size(), 1u);
    order.push_back("second:" + jobs[0].job.payload);
  });
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, 0u);
  EXPECT_EQ(broker_->waiter_count(), 2u);
  AddJob("emails", "a");
  AddJob("emails", "b");
  EXPECT_EQ(order, (std::vector<std::string>{"first:a", "second:b"}));
  EXPECT_EQ(broker_->waiter_count(), 0u);
}

TEST_F(BrokerTest, BlockingTakeAnswersAtOnceWhenWorkIsWaiting) {
  AddJob("emails", "ready");
  bool called = false;
  auto id = broker_->TakeAsync(Request({"emails"}, 1, 0), 1000, [&](std::vector<LeasedJob> jobs) {
    called = true;
    EXPECT_EQ(jobs.size(), 1u);
  });
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 0u);
  EXPECT_TRUE(called);
}

TEST_F(BrokerTest, BlockingTakeTimesOutWithNothing) {
  int calls = 0;
  size_t got = 99;
  auto id = broker_->TakeAsync(Request({"emails"}, 1, 0), 250, [&](std::vector<LeasedJob> jobs) {
    ++calls;
    got = jobs.size();
  });
  ASSERT_TRUE(id.ok());
  clock_.Advance(249);
  broker_->Tick();
  EXPECT_EQ(calls, 0);
  clock_.Advance(1);
  broker_->Tick();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got, 0u);
  AddJob("emails", "late");  // nobody is waiting any more
  EXPECT_EQ(calls, 1);
}

TEST_F(BrokerTest, CancelledWaiterIsNeverCalled) {
  int calls = 0;
  auto id =
      broker_->TakeAsync(Request({"emails"}, 1, 0), 0, [&](std::vector<LeasedJob>) { ++calls; });
  ASSERT_TRUE(id.ok());
  broker_->CancelWaiter(*id);
  AddJob("emails", "x");
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(Available("emails"), 1u);
}

TEST_F(BrokerTest, WaiterOnSeveralQueuesIsServedByAnyOfThem) {
  std::string got;
  auto id = broker_->TakeAsync(Request({"emails", "tickets"}, 1, 0), 0,
                               [&](std::vector<LeasedJob> jobs) { got = jobs.at(0).job.queue; });
  ASSERT_TRUE(id.ok());
  AddJob("tickets", "t");
  EXPECT_EQ(got, "tickets");
  AddJob("emails", "e");  // served once only
  EXPECT_EQ(Available("emails"), 1u);
}

TEST_F(BrokerTest, ConcurrencyLimitOfOneGivesStrictFifo) {
  Policy("emails").concurrency = 1;
  CreateBroker();
  std::string a = AddJob("emails", "a");
  std::string b = AddJob("emails", "b");
  EXPECT_EQ(TakeOne("emails").job.id, a);
  EXPECT_EQ(Available("emails"), 0u);  // b waits until a is done
  ASSERT_TRUE(broker_->Ack(a).ok());
  EXPECT_EQ(TakeOne("emails").job.id, b);
}

TEST_F(BrokerTest, RateLimitStartsAtMostNJobsPerWindow) {
  Policy("emails").rate_max = 2;
  Policy("emails").rate_duration_ms = 1000;
  CreateBroker();
  for (int i = 0; i < 5; ++i) AddJob("emails", "x");
  EXPECT_EQ(Available("emails"), 2u);
  clock_.Advance(999);
  EXPECT_EQ(Available("emails"), 0u);
  clock_.Advance(1);
  EXPECT_EQ(Available("emails"), 2u);
}

TEST_F(BrokerTest, PriorityZeroFirstThenFifoWithinPriority) {
  JobOptions low;
  low.priority = 5;
  std::string l1 = AddJob("emails", "l1", low);
  std::string h1 = AddJob("emails", "h1");
  std::string l2 = AddJob("emails", "l2", low);
  std::string h2 = AddJob("emails", "h2");
  auto jobs = broker_->Take(Request({"emails"}, 4, 0));
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 4u);
  EXPECT_EQ((*jobs)[0].job.id, h1);
  EXPECT_EQ((*jobs)[1].job.id, h2);
  EXPECT_EQ((*jobs)[2].job.id, l1);
  EXPECT_EQ((*jobs)[3].job.id, l2);
}

TEST_F(BrokerTest, RestartRestoresWaitingDelayedActiveAndFailedJobs) {
  JobOptions once;
  once.attempts = 1;
  std::string failed = AddJob("tickets", "failed", once);
  TakeOne("tickets");
  ASSERT_TRUE(broker_->Fail(failed, "broken").ok());
  JobOptions later;
  later.delay_ms = 10000;
  std::string delayed = AddJob("emails", "delayed", later);
  std::string active = AddJob("notifications", "active");
  TakeOne("notifications");
  std::string waiting = AddJob("emails", "waiting");

  Reopen();

  EXPECT_EQ(broker_->Show(waiting)->state, JobState::kWaiting);
  EXPECT_EQ(broker_->Show(delayed)->state, JobState::kDelayed);
  EXPECT_EQ(broker_->Show(failed)->state, JobState::kFailed);
  EXPECT_EQ(broker_->Show(failed)->last_error, "broken");
  auto was_active = broker_->Show(active);
  EXPECT_EQ(was_active->state, JobState::kWaiting);
  EXPECT_EQ(was_active->attempts_made, 1u);
  // The delayed job keeps its due time across the restart.
  clock_.Advance(10000);
  broker_->Tick();
  EXPECT_EQ(broker_->Counts("emails")->waiting, 2u);
  EXPECT_EQ(TakeOne("notifications").job.attempts_made, 2u);
}

// A queue made at run time (an ADDJOB to a name the config does not list) is the engine's
// again after a restart: listed (QUEUES, QLEN, QSTAT) and its delayed jobs promoted on time.
TEST_F(BrokerTest, RestartKnowsQueuesMadeAtRunTime) {
  JobOptions later;
  later.delay_ms = 10000;
  std::string delayed = AddJob("reports", "delayed", later);
  JobOptions twice;
  twice.attempts = 2;  // so that the lease lost at the restart leaves an attempt
  std::string leased = AddJob("reports", "leased", twice);
  auto taken = broker_->Take(Request({"reports"}, 1, 5000));
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 1u);

  Reopen();

  auto queues = broker_->Queues();
  EXPECT_NE(std::find(queues.begin(), queues.end(), "reports"), queues.end());
  clock_.Advance(10000);
  broker_->Tick();
  EXPECT_EQ(broker_->Show(delayed)->state, JobState::kWaiting);
  EXPECT_EQ(broker_->Show(leased)->state, JobState::kWaiting);  // put back at the open
  EXPECT_EQ(broker_->Counts("reports")->waiting, 2u);
}

TEST_F(BrokerTest, CleanRemovesOldFinishedJobs) {
  JobOptions once;
  once.attempts = 1;
  for (int i = 0; i < 3; ++i) {
    std::string id = AddJob("emails", "x", once);
    TakeOne("emails");
    ASSERT_TRUE(broker_->Ack(id).ok());
  }
  clock_.Advance(60000);
  EXPECT_EQ(*broker_->Clean("emails", JobState::kCompleted, 30000, 1000), 3u);
  EXPECT_EQ(broker_->Counts("emails")->completed, 0u);
  EXPECT_TRUE(broker_->Clean("emails", JobState::kActive, 0, 10).status().IsInvalidArgument());
}

TEST_F(BrokerTest, RetentionKeepsTheNewestFinishedJobsByCountAndByAge) {
  CloseBroker();
  QueuePolicy policy;
  policy.name = "kept";
  policy.max_attempts = 1;
  policy.keep_completed = 2;
  policy.keep_failed_age_ms = 60000;
  config_.queues.push_back(policy);
  ASSERT_NO_FATAL_FAILURE(CreateBroker());
  StartBroker();
  std::vector<std::string> completed;
  for (int i = 0; i < 5; ++i) {
    completed.push_back(AddJob("kept", "c"));
    TakeOne("kept");
    ASSERT_TRUE(broker_->Ack(completed.back()).ok());
    clock_.Advance(10);
  }
  std::string old_failure = AddJob("kept", "f");
  TakeOne("kept");
  ASSERT_TRUE(broker_->Fail(old_failure, "boom").ok());
  clock_.Advance(50000);
  std::string new_failure = AddJob("kept", "f");
  TakeOne("kept");
  ASSERT_TRUE(broker_->Fail(new_failure, "boom").ok());
  clock_.Advance(10001);  // the first failure is 60 s old, the second 10 s

  const std::int64_t next = broker_->Tick();
  EXPECT_LE(next, clock_.NowMs() + 1000);  // retention looks again within a second
  auto counts = broker_->Counts("kept");
  EXPECT_EQ(counts->completed, 2u);
  EXPECT_EQ(counts->failed, 1u);
  EXPECT_TRUE(broker_->Show(completed[2]).status().IsNotFound());
  EXPECT_TRUE(broker_->Show(completed[3]).ok());
  EXPECT_TRUE(broker_->Show(completed[4]).ok());
  EXPECT_TRUE(broker_->Show(old_failure).status().IsNotFound());
  EXPECT_TRUE(broker_->Show(new_failure).ok());
  // Queues without retention keep everything.
  std::string plain = AddJob("emails", "x");
  TakeOne("emails");
  ASSERT_TRUE(broker_->Ack(plain).ok());
  clock_.Advance(365LL * 24 * 3600 * 1000);
  broker_->Tick();
  EXPECT_TRUE(broker_->Show(plain).ok());
  EXPECT_TRUE(broker_->Show(new_failure).status().IsNotFound());
}

TEST_F(BrokerTest, ReconfigureChangesLimitsDefaultsAndRoutesAtOnce) {
  for (int i = 0; i < 3; ++i) AddJob("emails", "x");
  QueuePolicy strict;
  strict.name = "emails";
  strict.max_attempts = 9;
  strict.concurrency = 1;
  strict.lease_ms = 5000;
  EventContract contract;
  contract.event_type = "room.cleaned";
  contract.queue = "tickets";
  std::vector<EventContract> events = DefaultEventContracts();
  events.push_back(contract);
  ASSERT_TRUE(broker_->Reconfigure({strict}, events).ok());
  EXPECT_EQ(Available("emails"), 1u);  // concurrency 1 from now on
  EXPECT_EQ(broker_->Policy("emails")->max_attempts, 9u);
  EXPECT_EQ(broker_->Show(AddJob("emails", "y"))->max_attempts, 9u);
  auto routed = broker_->Emit(
      R"({"eventType":"room.cleaned","eventId":"r-1","timestamp":"2026-01-01T00:00:00Z","data":{}})");
  ASSERT_TRUE(routed.ok()) << routed.status().ToString();
  EXPECT_EQ(routed->queue, "tickets");
  // A bad policy changes nothing.
  QueuePolicy bad = strict;
  bad.max_attempts = 0;
  EXPECT_TRUE(broker_->Reconfigure({bad}, {}).IsInvalidArgument());
  EXPECT_EQ(broker_->Policy("emails")->max_attempts, 9u);
  EXPECT_NE(broker_->router()->Find("room.cleaned"), nullptr);
}

TEST_F(BrokerTest, DeleteRemovesAnActiveJobAndItsLease) {
  std::string id = AddJob("emails", "x");
  TakeOne("emails");
  ASSERT_TRUE(broker_->Delete(id).ok());
  EXPECT_TRUE(broker_->Show(id).status().IsNotFound());
  EXPECT_TRUE(broker_->Ack(id).status().IsNotFound());
  EXPECT_TRUE(broker_->Delete(id).IsNotFound());
}

TEST_F(BrokerTest, BadArgumentsAreRefusedWithClearErrors) {
  JobOptions options;
  options.delay_ms = -1;
  EXPECT_TRUE(broker_->Add("emails", "x", options).status().IsInvalidArgument());
  options = {};
  options.attempts = 0;
  EXPECT_TRUE(broker_->Add("emails", "x", options).status().IsInvalidArgument());
  options = {};
  options.priority = 3000000;
  EXPECT_TRUE(broker_->Add("emails", "x", options).status().IsInvalidArgument());
  EXPECT_TRUE(broker_->Add("bad queue", "x", {}).status().IsInvalidArgument());
  EXPECT_TRUE(broker_->Take(Request({}, 1, 0)).status().IsInvalidArgument());
}

TEST_F(BrokerTest, QueuesAreCreatedOnFirstUse) {
  AddJob("sms", "x");
  auto queues = broker_->Queues();
  EXPECT_NE(std::find(queues.begin(), queues.end(), "sms"), queues.end());
  auto policy = broker_->Policy("sms");
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(policy->max_attempts, 1u);
}

class BrokerConfigureTest : public BrokerFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(BrokerFixture::SetUp());
    ASSERT_NO_FATAL_FAILURE(CreateBroker());
  }
};

TEST_F(BrokerConfigureTest, AQueuesPolicyIsReplacedBeforeStartOnly) {
  AddJob("emails", "before");  // a job added before keeps the attempts it was given
  QueuePolicy policy;
  policy.name = "emails";
  policy.max_attempts = 9;
  policy.concurrency = 1;
  ASSERT_TRUE(broker_->ConfigureQueue(policy).ok());
  EXPECT_EQ(broker_->Policy("emails")->max_attempts, 9u);
  EXPECT_EQ(broker_->Policy("emails")->concurrency, 1u);
  ASSERT_TRUE(broker_->Pause("sms").ok());
  policy.name = "sms";
  ASSERT_TRUE(broker_->ConfigureQueue(policy).ok());
  EXPECT_TRUE(broker_->Counts("sms")->paused);  // a paused queue stays paused
  ASSERT_TRUE(broker_->Resume("sms").ok());

  // Concurrency 1 holds: one taken job, the next take finds none.
  AddJob("emails", "after");
  TakeOne("emails");
  EXPECT_TRUE(broker_->Take(TakeRequest{{"emails"}, 1, 0, ""})->empty());
  EXPECT_TRUE(broker_->ConfigureQueue(policy).ok());  // another queue: fine
  policy.name = "emails";
  EXPECT_TRUE(broker_->ConfigureQueue(policy).IsBusy());
  policy.name = "bad name";
  EXPECT_TRUE(broker_->ConfigureQueue(policy).IsInvalidArgument());
  StartBroker();
  policy.name = "tickets";
  EXPECT_TRUE(broker_->ConfigureQueue(policy).IsInvalidArgument());
}

TEST_F(BrokerTest, QueuesMadeOnDemandStopAtTheBoundConfiguredOnesAndKnownOnesStillWork) {
  config_.max_queues = 2;
  ASSERT_NO_FATAL_FAILURE(CreateBroker());
  StartBroker();
  JobOptions options;
  ASSERT_TRUE(broker_->Add("made-1", "{}", options).ok());
  ASSERT_TRUE(broker_->Add("made-2", "{}", options).ok());
  auto refused = broker_->Add("made-3", "{}", options);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().IsInvalidArgument());
  EXPECT_NE(refused.status().message().find("too many queues"), std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("max_queues (2)"), std::string::npos)
      << refused.status().ToString();
  // A take naming a new queue is refused the same way, and nothing of it is made.
  auto take = broker_->Take(Request({"made-4"}, 1, 0));
  EXPECT_TRUE(take.status().IsInvalidArgument()) << take.status().ToString();
  const auto names = store_->ListQueues();
  EXPECT_EQ(std::count(names.begin(), names.end(), "made-3"), 0);
  EXPECT_EQ(std::count(names.begin(), names.end(), "made-4"), 0);
  // The configured queues and those made before keep working.
  EXPECT_TRUE(broker_->Add("emails", "{}", options).ok());
  EXPECT_TRUE(broker_->Add("made-1", "{}", options).ok());
  // A lower bound after a restart: every queue in the store comes back.
  config_.max_queues = 1;
  Reopen();
  EXPECT_TRUE(broker_->Add("made-2", "{}", options).ok());
  EXPECT_FALSE(broker_->Add("made-5", "{}", options).ok());
}

}  // namespace
}  // namespace herald::engine
