// JobEventBus on its own (order, drops, throwing subscribers, stop), then through a Broker with
// a real store and a fake clock: the events of a job's life, the broker's counters, shutdown.
#include "engine/job_events.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <chrono>
#include <condition_variable>
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
  bool WaitFor(size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kTestDeadline, [&] { return events_.size() >= count; });
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

JobEvent Event(std::string id, std::uint32_t attempts_made = 0) {
  return JobEvent{JobEventType::kAdded, "emails", std::move(id), attempts_made, {}, 0};
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
  JobEventBus bus(4, nullptr);
  EXPECT_TRUE(bus.empty());
  bus.Publish(Event("1"));
  JobEventStats stats = bus.stats();
  EXPECT_EQ(stats.published, 0u);
  EXPECT_EQ(stats.delivered, 0u);
  EXPECT_EQ(stats.dropped, 0u);
}

TEST(JobEventBusTest, EverySubscriberGetsEveryEventInPublishOrder) {
  EventRecorder first, second;
  JobEventBus bus(1 << 16, nullptr);
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
  JobEventBus bus(8, nullptr);
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
  JobEventBus bus(1024, nullptr);
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
  auto handler = std::make_shared<RecordingHandler>();
  handler->script = [](const HandlerJob& job) {
    if (job.attempts_made == 1) return HandlerOutcome::Failure("451 try later");
    return HandlerOutcome::Success("250 sent");
  };
  ASSERT_TRUE(broker_->RegisterHandler("emails", handler).ok());
  ASSERT_TRUE(broker_->events().Subscribe(recorder_.AsSubscriber()).ok());
  // Added before the workers start, so that no worker can take it before "added" is published.
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

TEST_F(BrokerEventsTest, ZeroEventQueueCapacityIsRefused) {
  config_.event_queue_capacity = 0;
  auto broker = Broker::Create(store_.get(), config_, &clock_, logger_);
  EXPECT_TRUE(broker.status().IsInvalidArgument()) << broker.status().ToString();
}

}  // namespace
}  // namespace herald::engine
