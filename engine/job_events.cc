#include "engine/job_events.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

namespace herald::engine {
namespace {

// After a wake-up the dispatcher gathers events for up to this long before delivering them.
// Without it a busy engine woke the dispatcher for nearly every event, and on two cores the
// context switches cost the workers a fifth of the job rate (see bench/README.md).
constexpr auto kGatherTime = std::chrono::milliseconds(2);
// ... or until this many are queued (at most half the capacity, so nothing is dropped while it
// waits).
constexpr std::size_t kMaxWakeSize = 1024;

}  // namespace

const char* JobEventTypeName(JobEventType type) {
  switch (type) {
    case JobEventType::kAdded:
      return "added";
    case JobEventType::kActive:
      return "active";
    case JobEventType::kCompleted:
      return "completed";
    case JobEventType::kRetrying:
      return "retrying";
    case JobEventType::kFailed:
      return "failed";
    case JobEventType::kStalled:
      return "stalled";
    case JobEventType::kPromoted:
      return "promoted";
    case JobEventType::kRemoved:
      return "removed";
    case JobEventType::kRetried:
      return "retried";
  }
  return "unknown";
}

JobEventBus::JobEventBus(std::size_t capacity, std::shared_ptr<spdlog::logger> logger)
    : capacity_(capacity),
      wake_size_(std::clamp<std::size_t>(capacity / 2, 1, kMaxWakeSize)),
      logger_(logger ? std::move(logger) : spdlog::default_logger()) {}

JobEventBus::~JobEventBus() { Stop(); }

Status JobEventBus::Subscribe(Subscriber subscriber) {
  MutexLock lock(&mu_);
  if (stopped_) return Status::ShuttingDown("job events are stopped");
  auto subscribers =
      subscribers_ ? std::make_shared<Subscribers>(*subscribers_) : std::make_shared<Subscribers>();
  subscribers->push_back(std::move(subscriber));
  subscribers_ = std::move(subscribers);
  if (!dispatcher_.joinable()) {
    // The thread waits for mu_ until this Subscribe returns.
    dispatcher_ = std::jthread([this](std::stop_token stop) { DispatchLoop(stop); });
  }
  has_subscribers_.store(true, std::memory_order_release);
  return Status::Ok();
}

void JobEventBus::Publish(JobEvent event) {
  if (empty()) return;
  bool wake = false;
  {
    MutexLock lock(&mu_);
    ++stats_.published;
    if (stopped_ || queue_.size() >= capacity_) {
      ++stats_.dropped;
      return;
    }
    // No allocation once the queue and the dispatcher's batch, swapped back and forth, have
    // grown to the usual batch size.
    queue_.push_back(std::move(event));
    // Two events per wake-up at most: the first after the dispatcher went idle, and the one
    // that fills its gathering batch. Every other Publish finds it awake.
    if (state_ == DispatcherState::kIdle) {
      state_ = DispatcherState::kGathering;
      wake = true;
    } else if (state_ == DispatcherState::kGathering && queue_.size() == wake_size_) {
      state_ = DispatcherState::kBusy;
      wake = true;
    }
  }
  if (wake) cv_.notify_one();
}

void JobEventBus::Stop() {
  std::jthread dispatcher;
  {
    MutexLock lock(&mu_);
    stopped_ = true;
    dispatcher = std::move(dispatcher_);
  }
  // The dispatcher sees the stop request, delivers what is queued and returns; the jthread's
  // destructor joins it.
  dispatcher.request_stop();
}

JobEventStats JobEventBus::stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

void JobEventBus::DispatchLoop(std::stop_token stop) {
  std::vector<JobEvent> batch;
  std::shared_ptr<const Subscribers> subscribers;
  while (true) {
    {
      MutexLock lock(&mu_);
      stats_.delivered += batch.size();
      batch.clear();  // keeps its capacity for the next swap
      if (queue_.empty()) {
        state_ = DispatcherState::kIdle;
        cv_.wait(mu_, stop, [this]() REQUIRES(mu_) { return !queue_.empty(); });
        state_ = DispatcherState::kGathering;
        cv_.wait_for(mu_, stop, kGatherTime,
                     [this]() REQUIRES(mu_) { return queue_.size() >= wake_size_; });
      }
      // Events that queued up while the last batch was delivered are taken at once.
      state_ = DispatcherState::kBusy;
      if (queue_.empty()) return;  // stop requested, and everything delivered
      batch.swap(queue_);
      subscribers = subscribers_;
    }
    Deliver(batch, *subscribers);
  }
}

void JobEventBus::Deliver(const std::vector<JobEvent>& batch, const Subscribers& subscribers) {
  for (const JobEvent& event : batch) {
    for (const Subscriber& subscriber : subscribers) {
      try {
        subscriber(event);
      } catch (const std::exception& e) {
        logger_->error("job event subscriber threw on {} {} of {}: {}",
                       JobEventTypeName(event.type), event.id, event.queue, e.what());
      } catch (...) {
        logger_->error("job event subscriber threw a non-standard exception on {} {} of {}",
                       JobEventTypeName(event.type), event.id, event.queue);
      }
    }
  }
}

}  // namespace herald::engine
