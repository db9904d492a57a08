// JobEventBus on its own (order, drops, throwing subscribers, stop), then through a Broker with
// a real store and a fake clock: the events of a job's life, the broker's counters, shutdown.
#include "engine/job_events.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/broker.h"
#include "tests/engine/broker_fixture.h"
#include "tests/support/recording_handler.h"

namespace herald::engine {
namespace {

using namespace std::chrono_literals;
using testing::RecordingHandler;

// What a subscriber received; tests wait for a count.
class EventRecorder {
 public:
  void Record(const JobEvent& event) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(event);
    }
    cv_.notify_all();
  }
  JobEventBus::Subscriber AsSubscriber() {
    return [this](const JobEvent& event) { Record(event); };
  }
  bool WaitFor(size_t count, std::chrono::milliseconds timeout = kTestDeadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return events_.size() >= count; });
  }
  std::vector<JobEvent> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  // "type:id" of each event.
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const JobEvent& event : events()) {
      names.push_back(std::string(JobEventTypeName(event.type)) + ":" + event.id);
    }
    return names;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<JobEvent> events_;
};

// Holds the dispatcher inside a subscriber until Open(), so that later events stay queued.
class Gate {
 public:
  // In the subscriber: says it is inside, then waits for Open() (at most kTestDeadline, so that a
  // broken test fails instead of hanging).
  void Pass() {
    std::unique_lock<std::mutex> lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, kTestDeadline, [&] { return open_; });
  }
  bool WaitEntered() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kTestDeadline, [&] { return entered_; });
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
};

// Subscribes `recorder` behind `gate`: the dispatcher stops at the event of job `gated_id`
// until the gate opens, so that later events stay queued. Both must outlive the bus.
Status SubscribeGated(JobEventBus& bus, const std::string& gated_id, Gate* gate,
                      EventRecorder* recorder) {
  return bus.Subscribe([gated_id, gate, recorder](const JobEvent& event) {
    if (event.id == gated_id) gate->Pass();
    recorder->Record(event);
  });
}

// Says when it is destroyed: captured by a subscriber, when the bus and its dispatcher thread
// have let go of the subscriber.
class OnDestroy {
 public:
  ~OnDestroy() { destroyed_.set_value(); }
  std::future<void> Future() { return destroyed_.get_future(); }

 private:
  std::promise<void> destroyed_;
};

JobEvent Event(std::string id, std::uint32_t attempts_made = 0) {
  JobEvent event;
  event.type = JobEventType::kAdded;
  event.queue = "emails";
  event.id = std::move(id);
  event.attempts_made = attempts_made;
  return event;
}

// "added:<prefix><i>" for i in [from, to).
std::vector<std::string> AddedNames(int from, int to, const std::string& prefix = "") {
  std::vector<std::string> names;
  for (int i = from; i < to; ++i) names.push_back("added:" + prefix + std::to_string(i));
  return names;
}

// Everything a logger wrote, one line after another.
std::string Logged(const std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt>& sink) {
  std::string text;
  for (const std::string& line : sink->last_formatted()) text += line;
  return text;
}

// ---- JobEventBus -------------------------------------------------------------------------

TEST(JobEventBusTest, PublishWithoutSubscribersCountsNothing) {
  JobEventBus bus(4, spdlog::default_logger());
  EXPECT_TRUE(bus.empty());
  bus.Publish(Event("1"));
  JobEventStats stats = bus.stats();
  EXPECT_EQ(stats.published, 0u);
  EXPECT_EQ(stats.delivered, 0u);
  EXPECT_EQ(stats.dropped, 0u);
}

TEST(JobEventBusTest, EverySubscriberGetsEveryEventInPublishOrder) {
  EventRecorder first, second;
  JobEventBus bus(1 << 16, spdlog::default_logger());
  ASSERT_TRUE(bus.Subscribe(first.AsSubscriber()).ok());
  ASSERT_TRUE(bus.Subscribe(second.AsSubscriber()).ok());
  EXPECT_FALSE(bus.empty());
  constexpr int kThreads = 4, kEach = 500;
  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t) {
    publishers.emplace_back([&bus, t] {
      for (int i = 0; i < kEach; ++i) {
        JobEvent event = Event(std::to_string(t) + "-" + std::to_string(i), i);
        event.queue = std::to_string(t);
        bus.Publish(std::move(event));
      }
    });
  }
  for (std::thread& publisher : publishers) publisher.join();
  ASSERT_TRUE(first.WaitFor(kThreads * kEach));
  ASSERT_TRUE(second.WaitFor(kThreads * kEach));
  // Both saw one order, in which each publisher's events keep the order they were published.
  EXPECT_EQ(first.Names(), second.Names());
  std::vector<int> next(kThreads, 0);
  for (const JobEvent& event : first.events()) {
    int& expected = next[std::stoi(event.queue)];
    EXPECT_EQ(event.attempts_made, static_cast<std::uint32_t>(expected)) << event.id;
    ++expected;
  }
  EXPECT_EQ(next, std::vector<int>(kThreads, kEach));
  constexpr std::uint64_t kAll = kThreads * kEach;
  ASSERT_TRUE(Eventually([&] { return bus.stats().delivered == kAll; }));
  EXPECT_EQ(bus.stats().published, kAll);
  EXPECT_EQ(bus.stats().dropped, 0u);
}

TEST(JobEventBusTest, FullQueueMakesPublishDropInsteadOfBlocking) {
  Gate gate;  // declared before the bus, which is stopped first
  EventRecorder recorder;
  JobEventBus bus(8, spdlog::default_logger());
  ASSERT_TRUE(SubscribeGated(bus, "0", &gate, &recorder).ok());
  bus.Publish(Event("0"));
  ASSERT_TRUE(gate.WaitEntered());
  // The dispatcher is stuck in the subscriber: 8 events fit in the queue, 5 are dropped, and
  // no Publish waits for the gate (it would open only at the deadline).
  const auto started = std::chrono::steady_clock::now();
  for (int i = 1; i <= 13; ++i) bus.Publish(Event(std::to_string(i)));
  EXPECT_LT(std::chrono::steady_clock::now() - started, kTestDeadline / 2);
  JobEventStats stats = bus.stats();
  EXPECT_EQ(stats.published, 14u);
  EXPECT_EQ(stats.dropped, 5u);
  EXPECT_EQ(stats.delivered, 0u);

  gate.Open();
  ASSERT_TRUE(recorder.WaitFor(9));
  EXPECT_EQ(recorder.Names(), AddedNames(0, 9));
  ASSERT_TRUE(Eventually([&] { return bus.stats().delivered == 9; }));
  EXPECT_EQ(bus.stats().dropped, 5u);
  // With room again, events flow.
  bus.Publish(Event("14"));
  ASSERT_TRUE(recorder.WaitFor(10));
  EXPECT_EQ(recorder.events().back().id, "14");
}

TEST(JobEventBusTest, ReservedPlaceHoldsBackLaterEventsUntilFilled) {
  EventRecorder recorder;
  JobEventBus bus(16, spdlog::default_logger());
  ASSERT_TRUE(bus.Subscribe(recorder.AsSubscriber()).ok());
  JobEventBus::Slot first = bus.Reserve();
  ASSERT_FALSE(first.empty());
  bus.Publish(Event("2"));
  JobEventBus::Slot third = bus.Reserve();
  third.Fill(Event("3"));
  // Nothing goes out while the first place is open.
  EXPECT_FALSE(recorder.WaitFor(1, 100ms));
  first.Fill({Event("1a"), Event("1b")});
  ASSERT_TRUE(recorder.WaitFor(4));
  EXPECT_EQ(recorder.Names(),
            (std::vector<std::string>{"added:1a", "added:1b", "added:2", "added:3"}));
  first.Fill(Event("again"));  // a slot is filled once
  ASSERT_TRUE(Eventually([&] { return bus.stats().delivered == 4; }));
  EXPECT_EQ(bus.stats().published, 4u);
}

TEST(JobEventBusTest, SlotReleasedUnfilledLetsLaterEventsGo) {
  EventRecorder recorder;
  JobEventBus bus(16, spdlog::default_logger());
  ASSERT_TRUE(bus.Subscribe(recorder.AsSubscriber()).ok());
  {
    JobEventBus::Slot unused = bus.Reserve();
    JobEventBus::Slot moved = bus.Reserve();
    JobEventBus::Slot owner = std::move(moved);
    EXPECT_TRUE(moved.empty());  // NOLINT(bugprone-use-after-move): a moved-from slot is empty
    bus.Publish(Event("2"));     // behind owner's place
    owner.Fill(Event("1"));
  }
  ASSERT_TRUE(recorder.WaitFor(2));
  EXPECT_EQ(recorder.Names(), AddedNames(1, 3));
  EXPECT_EQ(bus.stats().published, 2u);
}

TEST(JobEventBusTest, SlotWithoutSubscribersIsEmptyAndCountsNothing) {
  JobEventBus bus(4, spdlog::default_logger());
  JobEventBus::Slot slot = bus.Reserve();
  EXPECT_TRUE(slot.empty());
  slot.Fill(Event("1"));
  EXPECT_EQ(bus.stats().published, 0u);
  EXPECT_EQ(bus.stats().dropped, 0u);
}

TEST(JobEventBusTest, FillingASlotDropsWhatTheQueueHasNoRoomFor) {
  Gate gate;
  EventRecorder recorder;
  JobEventBus bus(3, spdlog::default_logger());
  ASSERT_TRUE(SubscribeGated(bus, "0", &gate, &recorder).ok());
  bus.Publish(Event("0"));
  ASSERT_TRUE(gate.WaitEntered());
  JobEventBus::Slot slot = bus.Reserve();
  bus.Publish(Event("4"));  // behind the place: one of the 3 the queue holds
  slot.Fill({Event("1"), Event("2"), Event("3")});
  EXPECT_EQ(bus.stats().dropped, 1u);
  gate.Open();
  ASSERT_TRUE(recorder.WaitFor(4));
  EXPECT_EQ(recorder.Names(),
            (std::vector<std::string>{"added:0", "added:1", "added:2", "added:4"}));
}

TEST(JobEventBusTest, ThrowingSubscriberIsLoggedAndDeliveryGoesOn) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  auto logger = std::make_shared<spdlog::logger>("events", sink);
  EventRecorder recorder;
  JobEventBus bus(16, logger);
  ASSERT_TRUE(bus.Subscribe([](const JobEvent& event) {
                   if (event.id == "1") throw std::runtime_error("metrics counter broke");
                   if (event.id == "2") throw 42;
                 })
                  .ok());
  ASSERT_TRUE(bus.Subscribe(recorder.AsSubscriber()).ok());
  for (int i = 1; i <= 3; ++i) bus.Publish(Event(std::to_string(i)));
  ASSERT_TRUE(recorder.WaitFor(3));
  // The next subscriber still got the event that made the first one throw, and so on.
  EXPECT_EQ(recorder.Names(), AddedNames(1, 4));
  const std::string logged = Logged(sink);
  EXPECT_NE(logged.find("threw on added 1 of emails: metrics counter broke"), std::string::npos)
      << logged;
  EXPECT_NE(logged.find("non-standard exception on added 2"), std::string::npos) << logged;
  ASSERT_TRUE(Eventually([&] { return bus.stats().delivered == 3; }));
}

TEST(JobEventBusTest, StopDeliversWhatIsQueuedThenDropsLaterEvents) {
  Gate gate;
  EventRecorder recorder;
  JobEventBus bus(1024, spdlog::default_logger());
  ASSERT_TRUE(SubscribeGated(bus, "0", &gate, &recorder).ok());
  for (int i = 0; i <= 100; ++i) bus.Publish(Event(std::to_string(i)));
  ASSERT_TRUE(gate.WaitEntered());
  std::thread stopper([&] { bus.Stop(); });
  // Stop has begun once Subscribe is refused; 100 events are still queued behind the gate.
  ASSERT_TRUE(Eventually([&] { return bus.Subscribe([](const JobEvent&) {}).IsShuttingDown(); }));
  EXPECT_EQ(recorder.events().size(), 0u);
  gate.Open();
  stopper.join();
  // Stop returned: everything was delivered, nothing is left for later.
  EXPECT_EQ(recorder.Names(), AddedNames(0, 101));
  EXPECT_EQ(bus.stats().delivered, 101u);
  bus.Publish(Event("late"));
  JobEventStats stats = bus.stats();
  EXPECT_EQ(stats.published, 102u);
  EXPECT_EQ(stats.delivered, 101u);
  EXPECT_EQ(stats.dropped, 1u);
  bus.Stop();  // idempotent
}

TEST(JobEventBusTest, StopWaitsForAReservedPlaceToBeFilled) {
  EventRecorder recorder;
  JobEventBus bus(16, spdlog::default_logger());
  ASSERT_TRUE(bus.Subscribe(recorder.AsSubscriber()).ok());
  JobEventBus::Slot slot = bus.Reserve();
  bus.Publish(Event("2"));
  std::thread stopper([&] { bus.Stop(); });
  ASSERT_TRUE(Eventually([&] { return bus.Subscribe([](const JobEvent&) {}).IsShuttingDown(); }));
  slot.Fill(Event("1"));
  stopper.join();
  EXPECT_EQ(recorder.Names(), AddedNames(1, 3));
  // Reserved after Stop: dropped.
  bus.Reserve().Fill(Event("late"));
  JobEventStats stats = bus.stats();
  EXPECT_EQ(stats.published, 3u);
  EXPECT_EQ(stats.delivered, 2u);
  EXPECT_EQ(stats.dropped, 1u);
}

TEST(JobEventBusTest, StopAbandonsASubscriberThatDoesNotReturnWithinTheGrace) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  auto logger = std::make_shared<spdlog::logger>("events", sink);
  auto gate = std::make_shared<Gate>();
  auto released = std::make_shared<OnDestroy>();
  std::future<void> subscribers_gone = released->Future();
  std::atomic<bool> stuck_call_returned{false};
  EventRecorder recorder;
  auto bus = std::make_unique<JobEventBus>(16, logger, 200ms);
  ASSERT_TRUE(bus->Subscribe(
                     [gate, released, &stuck_call_returned](const JobEvent&) {
                       gate->Pass();
                       stuck_call_returned = true;
                     },
                     "metrics")
                  .ok());
  ASSERT_TRUE(bus->Subscribe(recorder.AsSubscriber()).ok());
  released.reset();  // the bus's subscribers hold the last share
  bus->Publish(Event("1"));
  ASSERT_TRUE(gate->WaitEntered());
  bus->Publish(Event("2"));
  const auto started = std::chrono::steady_clock::now();
  bus->Stop();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, kTestDeadline / 2);  // the gate opens by itself only at the deadline
  EXPECT_FALSE(stuck_call_returned);
  const std::string logged = Logged(sink);
  EXPECT_NE(logged.find("subscriber 'metrics' still running 200 ms after stop began"),
            std::string::npos)
      << logged;
  JobEventStats stats = bus->stats();
  EXPECT_EQ(stats.published, 2u);
  EXPECT_EQ(stats.dropped, 1u);  // "2"; "1" is with the stuck subscriber
  bus->Publish(Event("3"));
  EXPECT_EQ(bus->stats().dropped, 2u);
  // Destroying the bus waits for the stuck call: the gate opens a moment after the destructor
  // began, and the call has returned by the time the destructor does.
  std::thread opener([gate] {
    std::this_thread::sleep_for(100ms);
    gate->Open();
  });
  bus.reset();
  EXPECT_TRUE(stuck_call_returned);
  opener.join();
  // The dispatcher called nobody else after the stuck call, and the subscribers are released.
  ASSERT_EQ(subscribers_gone.wait_for(0s), std::future_status::ready);
  EXPECT_TRUE(recorder.events().empty());
  EXPECT_EQ(logger.use_count(), 1);
}

// ---- Through the Broker ------------------------------------------------------------------

class BrokerEventsTest : public BrokerFixture {
 protected:
  BrokerEventsTest() { logger_ = std::make_shared<spdlog::logger>("broker", sink_); }

  void TearDown() override {
    gate_.Open();               // a failed test may have left the dispatcher at the gate
    BrokerFixture::TearDown();  // stops the dispatcher before gate_ and recorder_ go
  }

  std::string Add(const std::string& queue, const JobOptions& options = {}) {
    return AddJob(queue, "payload", options);
  }

  // Adds jobs "job-<from>" .. "job-<to - 1>" to emails in one batch.
  void AddBatch(int from, int to) {
    std::vector<std::pair<std::string, JobOptions>> jobs;
    for (int i = from; i < to; ++i) {
      JobOptions options;
      options.id = "job-" + std::to_string(i);
      jobs.emplace_back("payload", options);
    }
    auto added = broker_->AddMany("emails", std::move(jobs));
    ASSERT_TRUE(added.ok()) << added.status().ToString();
  }

  // Subscribes recorder_ behind gate_: the dispatcher stops at the event of job `gated_id`
  // until the gate opens, so that later events stay queued.
  void SubscribeGatedAt(const std::string& gated_id) {
    ASSERT_TRUE(SubscribeGated(broker_->events(), gated_id, &gate_, &recorder_).ok());
  }

  // Registers a handler for emails that fails the first attempt of each job ("451 try later")
  // and completes the second ("250 sent"), and subscribes recorder_.
  void HandleEmailsFailingFirstAttempts() {
    auto handler = std::make_shared<RecordingHandler>();
    handler->script = [](const HandlerJob& job) {
      if (job.attempts_made == 1) return HandlerOutcome::Failure("451 try later");
      return HandlerOutcome::Success("250 sent");
    };
    ASSERT_TRUE(broker_->RegisterHandler("emails", handler).ok());
    ASSERT_TRUE(broker_->events().Subscribe(recorder_.AsSubscriber()).ok());
  }

  // Two emails jobs with one attempt each, added, taken and failed for good.
  std::pair<std::string, std::string> TwoFailedJobs() {
    JobOptions once;
    once.attempts = 1;
    std::string a = Add("emails", once);
    std::string b = Add("emails", once);
    TakeOne("emails");
    TakeOne("emails");
    EXPECT_TRUE(broker_->Fail(a, "no").ok());
    EXPECT_TRUE(broker_->Fail(b, "no").ok());
    return {a, b};
  }

  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_ =
      std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  Gate gate_;  // used by subscribers
  EventRecorder recorder_;
};

TEST_F(BrokerEventsTest, JobLifeIsReportedInOrderWithItsDetails) {
  CreateBroker();
  ASSERT_TRUE(broker_->events().Subscribe(recorder_.AsSubscriber()).ok());
  const std::int64_t start = clock_.NowMs();
  std::string id = Add("emails");
  TakeOne("emails");
  ASSERT_TRUE(broker_->Fail(id, "smtp 451").ok());
  clock_.Advance(2000);
  broker_->Tick();
  TakeOne("emails");
  ASSERT_TRUE(broker_->Ack(id, "250 queued").ok());
  JobOptions once;
  once.attempts = 1;
  std::string ticket = Add("tickets", once);
  TakeOne("tickets");
  ASSERT_TRUE(broker_->Fail(ticket, "helpdesk down").ok());

  ASSERT_TRUE(recorder_.WaitFor(9));
  EXPECT_EQ(recorder_.Names(),
            (std::vector<std::string>{"added:" + id, "active:" + id, "retrying:" + id,
                                      "promoted:" + id, "active:" + id, "completed:" + id,
                                      "added:" + ticket, "active:" + ticket, "failed:" + ticket}));
  std::vector<JobEvent> events = recorder_.events();
  EXPECT_EQ(events[0].queue, "emails");
  EXPECT_EQ(events[0].at_ms, start);
  EXPECT_EQ(events[2].attempts_made, 1u);
  EXPECT_EQ(events[2].detail, "smtp 451");
  EXPECT_EQ(events[3].at_ms, start + 2000);  // the scheduler's promotion after the backoff
  EXPECT_EQ(events[5].attempts_made, 2u);
  EXPECT_EQ(events[5].detail, "250 queued");
  EXPECT_EQ(events[5].at_ms, start + 2000);
  EXPECT_EQ(events[8].queue, "tickets");
  EXPECT_EQ(events[8].detail, "helpdesk down");
  ASSERT_TRUE(Eventually([&] { return broker_->event_stats().delivered == 9; }));
  EXPECT_EQ(broker_->event_stats().published, 9u);
  EXPECT_EQ(broker_->event_stats().dropped, 0u);
}

TEST_F(BrokerEventsTest, CleanedJobsAreReportedRemoved) {
  CreateBroker();
  ASSERT_TRUE(broker_->events().Subscribe(recorder_.AsSubscriber()).ok());
  auto [a, b] = TwoFailedJobs();  // six events so far
  clock_.Advance(10);
  auto cleaned = broker_->Clean("emails", storage::JobState::kFailed, 0, 100);
  ASSERT_TRUE(cleaned.ok()) << cleaned.status().ToString();
  EXPECT_EQ(*cleaned, 2u);
  ASSERT_TRUE(recorder_.WaitFor(8));
  std::vector<std::string> names = recorder_.Names();
  EXPECT_EQ(std::vector<std::string>(names.begin() + 6, names.end()),
            (std::vector<std::string>{"removed:" + a, "removed:" + b}));
  EXPECT_EQ(recorder_.events()[7].detail, "cleaned");
}

TEST_F(BrokerEventsTest, RetriedFailedJobsAreReported) {
  CreateBroker();
  ASSERT_TRUE(broker_->events().Subscribe(recorder_.AsSubscriber()).ok());
  auto [a, b] = TwoFailedJobs();  // six events so far
  ASSERT_TRUE(broker_->Retry(a).ok());
  // b is the only failed job left: QRETRY without ids retries it.
  auto moved = broker_->RetryAll("emails");
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 1u);
  ASSERT_TRUE(recorder_.WaitFor(8));
  std::vector<std::string> names = recorder_.Names();
  EXPECT_EQ(std::vector<std::string>(names.begin() + 6, names.end()),
            (std::vector<std::string>{"retried:" + a, "retried:" + b}));
}

TEST_F(BrokerEventsTest, WorkerThreadsReportTheRetryAndTheCompletion) {
  config_.workers = 2;
  CreateBroker();
  ASSERT_NO_FATAL_FAILURE(HandleEmailsFailingFirstAttempts());
  std::string id = Add("emails");
  ASSERT_TRUE(broker_->Start().ok());
  ASSERT_TRUE(recorder_.WaitFor(3));
  clock_.Advance(2000);  // the emails queue's first backoff
  broker_->Tick();
  ASSERT_TRUE(recorder_.WaitFor(6));
  EXPECT_EQ(recorder_.Names(),
            (std::vector<std::string>{"added:" + id, "active:" + id, "retrying:" + id,
                                      "promoted:" + id, "active:" + id, "completed:" + id}));
  EXPECT_EQ(recorder_.events()[2].detail, "451 try later");
  EXPECT_EQ(recorder_.events()[5].detail, "250 sent");
}

// Jobs taken by five workers the moment they are added, failed once and retried by another
// worker: each job's events arrive in the order of its state changes, whichever thread made
// each change. Half of the jobs have no backoff (the failure makes them waiting at once), the
// others 1 ms (the scheduler thread promotes them).
TEST_F(BrokerEventsTest, EachJobsEventsFollowItsStateChangesAcrossThreads) {
  UseSystemClock();
  config_.workers = 5;
  CreateBroker();
  ASSERT_NO_FATAL_FAILURE(HandleEmailsFailingFirstAttempts());
  StartBroker();

  // Each producer adds batches whose last job has the highest priority: a worker takes it
  // right after the batch's write, while the producer has yet to report most of the batch.
  constexpr int kProducers = 2, kBatches = 20, kBatch = 50;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([this, p] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<std::pair<std::string, JobOptions>> batch;
        for (int i = 0; i < kBatch; ++i) {
          JobOptions options;
          options.id = "job-" + std::to_string(p) + "-" + std::to_string(b * kBatch + i);
          options.priority = kBatch - 1 - i;
          options.backoff_type = storage::BackoffType::kFixed;
          options.backoff_ms = i % 2;
          batch.emplace_back("payload", std::move(options));
        }
        auto added = broker_->AddMany("emails", std::move(batch));
        EXPECT_TRUE(added.ok()) << added.status().ToString();
      }
    });
  }
  for (std::thread& producer : producers) producer.join();

  const std::vector<std::string> at_once = {"added", "active", "retrying", "active", "completed"};
  const std::vector<std::string> promoted = {"added",    "active", "retrying",
                                             "promoted", "active", "completed"};
  constexpr size_t kJobs = kProducers * kBatches * kBatch;
  ASSERT_TRUE(recorder_.WaitFor(kJobs / 2 * (at_once.size() + promoted.size()), 60s))
      << recorder_.events().size() << " events";
  std::map<std::string, std::vector<std::string>> by_job;
  for (const JobEvent& event : recorder_.events()) {
    by_job[event.id].push_back(JobEventTypeName(event.type));
  }
  ASSERT_EQ(by_job.size(), kJobs);
  size_t out_of_order = 0;
  for (const auto& [id, types] : by_job) {
    const bool no_backoff = (std::stoi(id.substr(id.rfind('-') + 1)) % 2) == 0;
    if (types == (no_backoff ? at_once : promoted)) continue;
    if (++out_of_order <= 3) {
      EXPECT_EQ(types, no_backoff ? at_once : promoted) << id;
    }
  }
  EXPECT_EQ(out_of_order, 0u) << "of " << kJobs << " jobs";
  EXPECT_EQ(broker_->event_stats().dropped, 0u);
}

TEST_F(BrokerEventsTest, SlowSubscriberMakesEventsDropAndEventStatsCountThem) {
  config_.event_queue_capacity = 4;
  CreateBroker();
  SubscribeGatedAt("job-0");
  AddBatch(0, 1);
  ASSERT_TRUE(gate_.WaitEntered());
  AddBatch(1, 11);  // returns although the subscriber is stuck: 4 queued, 6 dropped
  JobEventStats stats = broker_->event_stats();
  EXPECT_EQ(stats.published, 11u);
  EXPECT_EQ(stats.dropped, 6u);
  EXPECT_EQ(broker_->Counts("emails")->waiting, 11u);  // the jobs themselves are all there

  gate_.Open();
  ASSERT_TRUE(recorder_.WaitFor(5));
  EXPECT_EQ(recorder_.Names(), AddedNames(0, 5, "job-"));
  ASSERT_TRUE(Eventually([&] { return broker_->event_stats().delivered == 5; }));
  EXPECT_EQ(broker_->event_stats().dropped, 6u);
}

TEST_F(BrokerEventsTest, ThrowingSubscriberIsLoggedWithTheBrokersLogger) {
  CreateBroker();
  ASSERT_TRUE(broker_->events()
                  .Subscribe([](const JobEvent& event) {
                    if (event.id == "job-0") throw std::runtime_error("dashboard gone");
                  })
                  .ok());
  ASSERT_TRUE(broker_->events().Subscribe(recorder_.AsSubscriber()).ok());
  AddBatch(0, 2);
  ASSERT_TRUE(recorder_.WaitFor(2));
  EXPECT_EQ(recorder_.Names(), AddedNames(0, 2, "job-"));
  const std::string logged = Logged(sink_);
  EXPECT_NE(logged.find("threw on added job-0 of emails: dashboard gone"), std::string::npos)
      << logged;
}

TEST_F(BrokerEventsTest, ShutdownDeliversQueuedEvents) {
  CreateBroker();
  SubscribeGatedAt("job-0");
  AddBatch(0, 1);
  ASSERT_TRUE(gate_.WaitEntered());
  AddBatch(1, 51);
  std::thread stopper([&] { broker_->Shutdown(); });
  ASSERT_TRUE(Eventually(
      [&] { return broker_->events().Subscribe([](const JobEvent&) {}).IsShuttingDown(); }));
  EXPECT_EQ(recorder_.events().size(), 0u);
  gate_.Open();
  stopper.join();
  EXPECT_EQ(recorder_.Names(), AddedNames(0, 51, "job-"));
  JobEventStats stats = broker_->event_stats();
  EXPECT_EQ(stats.published, 51u);
  EXPECT_EQ(stats.delivered, 51u);
  EXPECT_EQ(stats.dropped, 0u);
}

TEST_F(BrokerEventsTest, ShutdownGivesUpOnASubscriberThatDoesNotReturn) {
  config_.shutdown_grace_ms = 300;
  CreateBroker();
  auto gate = std::make_shared<Gate>();
  auto released = std::make_shared<OnDestroy>();
  std::future<void> subscribers_gone = released->Future();
  ASSERT_TRUE(broker_->events()
                  .Subscribe([gate, released](const JobEvent&) { gate->Pass(); }, "dashboard feed")
                  .ok());
  released.reset();
  AddBatch(0, 3);
  ASSERT_TRUE(gate->WaitEntered());
  auto shutdown = std::async(std::launch::async, [this] { broker_->Shutdown(); });
  const auto started = std::chrono::steady_clock::now();
  const bool returned = shutdown.wait_for(kTestDeadline / 2) == std::future_status::ready;
  const auto took = std::chrono::steady_clock::now() - started;
  gate->Open();  // a Shutdown still waiting returns now
  shutdown.wait();
  ASSERT_TRUE(returned) << "Shutdown waited for the stuck subscriber";
  EXPECT_LT(took, 3s);
  const std::string logged = Logged(sink_);
  EXPECT_NE(logged.find("subscriber 'dashboard feed' still running 300 ms"), std::string::npos)
      << logged;
  // The stuck call returned: the first event counts as delivered, the other two as dropped.
  ASSERT_TRUE(Eventually([&] {
    JobEventStats stats = broker_->event_stats();
    return stats.delivered + stats.dropped == 3;
  }));
  EXPECT_EQ(broker_->event_stats().delivered, 1u);
  EXPECT_EQ(broker_->event_stats().dropped, 2u);
  CloseBroker();
  EXPECT_EQ(subscribers_gone.wait_for(kTestDeadline), std::future_status::ready);
}

TEST_F(BrokerEventsTest, ZeroEventQueueCapacityIsRefused) {
  config_.event_queue_capacity = 0;
  auto broker = Broker::Create(store_.get(), config_, &clock_, logger_);
  EXPECT_TRUE(broker.status().IsInvalidArgument()) << broker.status().ToString();
}

}  // namespace
}  // namespace herald::engine
