// The worker pool and the scheduler thread, with real threads and the system clock.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/broker.h"
#include "tests/engine/broker_fixture.h"
#include "tests/support/recording_handler.h"

namespace herald::engine {
namespace {

using namespace std::chrono_literals;
using storage::JobState;
using testing::RecordingHandler;

class BrokerWorkersTest : public BrokerFixture {
 protected:
  BrokerWorkersTest() {
    UseSystemClock();
    config_.shutdown_grace_ms = 5000;
  }

  // Creates the broker with a RecordingHandler for each of `queues` (not started yet).
  void Start(std::vector<std::string> queues = {"emails"}) {
    ASSERT_NO_FATAL_FAILURE(CreateBroker());
    for (const std::string& queue : queues) {
      handlers_[queue] = std::make_shared<RecordingHandler>();
      ASSERT_TRUE(broker_->RegisterHandler(queue, handlers_[queue]).ok());
    }
  }

  void Run() { StartBroker(); }

  // The handler of `queue` runs until `release` is set, whatever its stop token says.
  void HoldUntil(const std::string& queue, std::atomic<bool>* release) {
    handlers_[queue]->script = [release](const HandlerJob&) {
      while (!release->load()) std::this_thread::sleep_for(1ms);
      return HandlerOutcome::Success();
    };
  }

  std::map<std::string, std::shared_ptr<RecordingHandler>> handlers_;
};

TEST_F(BrokerWorkersTest, FiveWorkersRunFiveJobsAtOnceAndNeverMore) {
  Start();
  std::atomic<bool> release{false};
  HoldUntil("emails", &release);
  Run();
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(broker_->Add("emails", "x", {}).ok());
  ASSERT_TRUE(handlers_["emails"]->WaitForCalls(5, 10s));
  // Five threads, each held: none is free to start a sixth (max_running below checks it over
  // the whole run).
  EXPECT_EQ(handlers_["emails"]->running(), 5);
  EXPECT_EQ(broker_->running_handlers(), 5u);
  EXPECT_EQ(broker_->Counts("emails")->active, 5u);
  release = true;
  ASSERT_TRUE(handlers_["emails"]->WaitForCalls(12, 10s));
  broker_->Shutdown();  // the handlers read `release`
  EXPECT_EQ(handlers_["emails"]->max_running(), 5);
}

TEST_F(BrokerWorkersTest, JobFailingTwiceThenSucceedingCompletesWithThreeAttempts) {
  Policy("emails").backoff_ms = 20;  // exponential: 20 ms, then 40 ms
  Start();
  handlers_["emails"]->script = [](const HandlerJob& job) {
    if (job.attempts_made < 3) return HandlerOutcome::Failure("451 try later");
    return HandlerOutcome::Success("250 sent");
  };
  Run();
  auto added = broker_->Add("emails", "mail", {});
  ASSERT_TRUE(added.ok());
  ASSERT_TRUE(WaitForState(added->id, JobState::kCompleted, 10s));
  auto job = broker_->Show(added->id);
  EXPECT_EQ(job->attempts_made, 3u);
  EXPECT_EQ(job->return_value, "250 sent");
  auto calls = handlers_["emails"]->calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[2].attempts_made, 3u);
  // Each attempt in the history, run by a local worker thread.
  ASSERT_EQ(job->history.size(), 3u);
  const std::int64_t backoffs[] = {20, 40, 0};
  for (std::size_t i = 0; i < 3; ++i) {
    const Attempt& attempt = job->history[i];
    EXPECT_EQ(attempt.outcome, i < 2 ? AttemptOutcome::kRetrying : AttemptOutcome::kCompleted);
    EXPECT_EQ(attempt.error, i < 2 ? "451 try later" : "");
    EXPECT_EQ(attempt.worker.rfind("local:", 0), 0u) << attempt.worker;
    EXPECT_GE(attempt.ended_ms, attempt.started_ms);
    EXPECT_EQ(attempt.backoff_ms, backoffs[i]);
    EXPECT_EQ(attempt.next_due_ms, i < 2 ? attempt.ended_ms + backoffs[i] : 0);
    if (i > 0) {
      EXPECT_GE(attempt.started_ms, job->history[i - 1].next_due_ms);
    }
  }
}

TEST_F(BrokerWorkersTest, AHandlersRetryInReplacesTheBackoffForThatAttempt) {
  Policy("emails").backoff_ms = 60000;  // the queue's backoff would hold the job for a minute
  Start();
  handlers_["emails"]->script = [](const HandlerJob& job) {
    if (job.attempts_made == 1) return HandlerOutcome::RetryIn("429 slow down", 30);
    return HandlerOutcome::Success("sent");
  };
  Run();
  auto added = broker_->Add("emails", "mail", {});
  ASSERT_TRUE(added.ok());
  ASSERT_TRUE(WaitForState(added->id, JobState::kCompleted, 10s));
  auto job = broker_->Show(added->id);
  ASSERT_EQ(job->history.size(), 2u);
  const Attempt& first = job->history[0];
  EXPECT_EQ(first.outcome, AttemptOutcome::kRetrying);
  EXPECT_EQ(first.error, "429 slow down");
  EXPECT_EQ(first.next_due_ms, first.ended_ms + 30);
  EXPECT_GE(job->history[1].started_ms, first.next_due_ms);
}

TEST_F(BrokerWorkersTest, ExhaustedJobLandsInFailedWithItsLastError) {
  Policy("notifications").backoff_ms = 5;
  Start({"notifications"});
  handlers_["notifications"]->script = [](const HandlerJob& job) {
    return HandlerOutcome::Failure("push gateway 503 (attempt " +
                                   std::to_string(job.attempts_made) + ")");
  };
  Run();
  auto added = broker_->Add("notifications", "push", {});
  ASSERT_TRUE(WaitForState(added->id, JobState::kFailed, 10s));
  auto job = broker_->Show(added->id);
  EXPECT_EQ(job->attempts_made, 3u);
  EXPECT_EQ(job->last_error, "push gateway 503 (attempt 3)");
}

TEST_F(BrokerWorkersTest, ThrownExceptionIsAFailedAttemptNotADeadWorker) {
  config_.workers = 1;
  Policy("tickets").backoff_ms = 1;
  Start({"tickets"});
  handlers_["tickets"]->script = [](const HandlerJob& job) -> HandlerOutcome {
    if (job.attempts_made == 1) throw std::runtime_error("database is down");
    return HandlerOutcome::Success();
  };
  Run();
  auto added = broker_->Add("tickets", "t", {});
  ASSERT_TRUE(WaitForState(added->id, JobState::kCompleted, 10s));
  EXPECT_EQ(broker_->Show(added->id)->attempts_made, 2u);
}

TEST_F(BrokerWorkersTest, HandlerPastItsTimeoutFailsTheAttempt) {
  Policy("emails").timeout_ms = 30;
  Policy("emails").max_attempts = 1;
  Start();
  handlers_["emails"]->script = [](const HandlerJob&) {
    std::this_thread::sleep_for(80ms);
    return HandlerOutcome::Success();
  };
  Run();
  auto added = broker_->Add("emails", "slow", {});
  ASSERT_TRUE(WaitForState(added->id, JobState::kFailed, 10s));
  EXPECT_EQ(broker_->Show(added->id)->last_error, "timed out after 30 ms");
}

// A handler frozen for good (it ignores its deadline and its stop token): past its timeout
// and the handler grace its job's lease ends, the attempt counts as stalled and the job goes
// back, and the worker gets a new thread, so that the one-thread pool still serves: the other
// queue's job and the job's next attempt run while the frozen call still holds the old thread.
// When it returns at last, its outcome is not recorded and its thread ends.
TEST_F(BrokerWorkersTest, AFrozenHandlerCostsItsAttemptButNotItsThread) {
  config_.workers = 1;
  config_.handler_grace_ms = 100;
  Policy("emails").timeout_ms = 50;
  Policy("emails").max_attempts = 3;
  Start({"emails", "tickets"});
  std::atomic<bool> release{false};
  handlers_["emails"]->script = [&release](const HandlerJob& job) {
    if (job.attempts_made == 1) {
      while (!release.load()) std::this_thread::sleep_for(1ms);
    }
    return HandlerOutcome::Success("sent");
  };
  Run();
  auto frozen = broker_->Add("emails", "frozen", {});
  ASSERT_TRUE(frozen.ok());
  ASSERT_TRUE(handlers_["emails"]->WaitForCalls(1, 10s));
  auto ticket = broker_->Add("tickets", "t", {});
  ASSERT_TRUE(ticket.ok());
  ASSERT_TRUE(WaitForState(ticket->id, JobState::kCompleted, 10s));
  ASSERT_TRUE(WaitForState(frozen->id, JobState::kCompleted, 10s));
  EXPECT_EQ(broker_->replaced_workers(), 1u);
  EXPECT_EQ(broker_->running_handlers(), 1u);  // the frozen call, still on its old thread
  auto shown = broker_->Show(frozen->id);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->attempts_made, 2u);
  ASSERT_EQ(shown->history.size(), 2u);
  EXPECT_EQ(shown->history[0].outcome, storage::AttemptOutcome::kStalled);
  EXPECT_EQ(shown->history[1].outcome, storage::AttemptOutcome::kCompleted);

  release = true;  // the frozen call returns: nothing is recorded, its thread ends
  for (int i = 0; i < 1000 && broker_->running_handlers() != 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(broker_->running_handlers(), 0u);
  EXPECT_EQ(broker_->Show(frozen->id)->attempts_made, 2u);
  // The pool still has its one worker: a new job runs.
  auto after = broker_->Add("tickets", "after", {});
  ASSERT_TRUE(WaitForState(after->id, JobState::kCompleted, 10s));
  EXPECT_TRUE(broker_->Shutdown());
}

// Handlers that misbehave in every way at once — one throws, one runs past its timeout, one
// fails with a 10 MiB error text — while a fourth queue keeps flowing: each misbehaviour is a
// failed attempt with its reason on the job (the long text cut to the last-error bound), and
// the pool keeps all its threads: afterwards three handlers run at once again.
TEST_F(BrokerWorkersTest, MisbehavingHandlersCostAttemptsWhileTheOtherQueuesFlow) {
  config_.workers = 3;
  for (const char* queue : {"emails", "notifications", "tickets"}) {
    Policy(queue).max_attempts = 2;
    Policy(queue).backoff_ms = 1;
  }
  Policy("tickets").timeout_ms = 100;  // its handler takes 150 ms
  Policy("audit");
  Start({"emails", "notifications", "tickets", "audit"});
  handlers_["emails"]->script = [](const HandlerJob&) -> HandlerOutcome {
    throw std::runtime_error("template engine exploded");
  };
  handlers_["notifications"]->script = [](const HandlerJob&) {
    return HandlerOutcome::Failure(std::string(10 << 20, 'e'));
  };
  handlers_["tickets"]->script = [](const HandlerJob&) {
    std::this_thread::sleep_for(150ms);
    return HandlerOutcome::Success("late");
  };
  Run();
  std::vector<std::string> bad;
  for (const char* queue : {"emails", "notifications", "tickets"}) {
    for (int i = 0; i < 3; ++i) bad.push_back(broker_->Add(queue, "bad", {})->id);
  }
  std::vector<std::string> good;
  for (int i = 0; i < 200; ++i) good.push_back(broker_->Add("audit", "good", {})->id);
  for (const std::string& id : good) ASSERT_TRUE(WaitForState(id, JobState::kCompleted, 20s));
  for (const std::string& id : bad) ASSERT_TRUE(WaitForState(id, JobState::kFailed, 20s)) << id;
  for (std::size_t i = 0; i < bad.size(); ++i) {
    auto job = broker_->Show(bad[i]);
    ASSERT_TRUE(job.ok());
    EXPECT_EQ(job->attempts_made, 2u);
    if (i < 3) {
      EXPECT_EQ(job->last_error, "handler threw: template engine exploded");
    } else if (i < 6) {
      EXPECT_LE(job->last_error.size(), storage::kMaxLastErrorBytes);
      EXPECT_GT(job->last_error.size(), storage::kMaxLastErrorBytes / 2);
      EXPECT_LE(job->history.back().error.size(), 1024u);
    } else {
      EXPECT_EQ(job->last_error, "timed out after 100 ms");
    }
  }
  std::atomic<bool> release{false};
  HoldUntil("audit", &release);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(broker_->Add("audit", "held", {}).ok());
  ASSERT_TRUE(handlers_["audit"]->WaitForCalls(good.size() + 3, 10s));
  EXPECT_EQ(handlers_["audit"]->running(), 3);
  release = true;
  EXPECT_TRUE(broker_->Shutdown());
}

TEST_F(BrokerWorkersTest, BusyQueueDoesNotStarveTheOthers) {
  config_.workers = 1;
  Start({"emails", "tickets"});
  for (auto& [name, handler] : handlers_) {
    handler->script = [](const HandlerJob&) {
      std::this_thread::sleep_for(2ms);
      return HandlerOutcome::Success();
    };
  }
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(broker_->Add("emails", "e", {}).ok());
  ASSERT_TRUE(broker_->Add("tickets", "t", {}).ok());
  Run();
  ASSERT_TRUE(handlers_["tickets"]->WaitForCalls(1, 10s));
  // Round robin: the ticket ran after at most a couple of emails, not after all 200.
  EXPECT_LT(handlers_["emails"]->call_count(), 10u);
}

TEST_F(BrokerWorkersTest, DelayedJobRunsWhenDueWithoutPolling) {
  Start();
  Run();
  JobOptions options;
  options.delay_ms = 200;
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(broker_->Add("emails", "later", options).ok());
  ASSERT_TRUE(handlers_["emails"]->WaitForCalls(1, 10s));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 195ms);
}

TEST_F(BrokerWorkersTest, ShutdownLetsRunningHandlersFinishAndLeavesTheRestWaiting) {
  config_.workers = 2;
  Start();
  handlers_["emails"]->script = [](const HandlerJob&) {
    std::this_thread::sleep_for(150ms);
    return HandlerOutcome::Success();
  };
  Run();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(broker_->Add("emails", "x", {}).ok());
  ASSERT_TRUE(handlers_["emails"]->WaitForCalls(2, 10s));
  broker_->Shutdown();
  auto counts = broker_->Counts("emails");
  EXPECT_EQ(counts->active, 0u);
  EXPECT_EQ(counts->completed, handlers_["emails"]->call_count());
  EXPECT_EQ(counts->waiting + counts->completed, 6u);
  EXPECT_GE(counts->waiting, 2u);
}

TEST_F(BrokerWorkersTest, AHandlerStillRunningAfterTheGraceIsAskedToStop) {
  config_.shutdown_grace_ms = 100;
  Start();
  handlers_["emails"]->script = [](const HandlerJob& job) {
    while (!job.stop.stop_requested()) std::this_thread::sleep_for(1ms);
    return HandlerOutcome::Failure("stopped");
  };
  Run();
  ASSERT_TRUE(broker_->Add("emails", "x", {}).ok());
  ASSERT_TRUE(handlers_["emails"]->WaitForCalls(1, 10s));
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(broker_->Shutdown());
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 100ms);  // the grace, then the stop token
  EXPECT_LT(took, 5s);
  EXPECT_EQ(broker_->running_handlers(), 0u);
}

// A handler that ignores its stop token can't be stopped from outside its thread: Shutdown
// gives up on it after a second grace and says so; the job stays active on disk (waiting again
// at the next start); the Broker's destructor waits for the thread.
TEST_F(BrokerWorkersTest, ShutdownGivesUpOnAHandlerThatIgnoresItsStopToken) {
  config_.shutdown_grace_ms = 100;
  Start();
  std::atomic<bool> release{false};
  HoldUntil("emails", &release);
  Run();
  auto added = broker_->Add("emails", "x", {});
  ASSERT_TRUE(added.ok());
  ASSERT_TRUE(handlers_["emails"]->WaitForCalls(1, 10s));
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(broker_->Shutdown());
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 200ms);  // two graces
  EXPECT_LT(took, 5s);
  EXPECT_FALSE(broker_->Shutdown());  // the same answer again, at once
  EXPECT_EQ(broker_->Show(added->id)->state, JobState::kActive);
  EXPECT_EQ(broker_->running_handlers(), 1u);
  release = true;
  broker_.reset();  // joins the worker, whose handler returns now
}

TEST_F(BrokerWorkersTest, RemoteWaiterAndLocalWorkersShareAQueue) {
  Start({"tickets"});
  Run();
  // "emails" has no local handler: only the remote waiter can take its jobs.
  std::atomic<int> served{0};
  auto waiter = broker_->TakeAsync(Request({"emails"}, 1, 0), 0, [&](std::vector<LeasedJob> jobs) {
    served += static_cast<int>(jobs.size());
  });
  ASSERT_TRUE(waiter.ok());
  ASSERT_TRUE(broker_->Add("emails", "remote", {}).ok());
  ASSERT_TRUE(broker_->Add("tickets", "local", {}).ok());
  ASSERT_TRUE(handlers_["tickets"]->WaitForCalls(1, 10s));
  broker_->Shutdown();
  EXPECT_EQ(served.load(), 1);
}

}  // namespace
}  // namespace herald::engine
