#include "engine/job_events.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <limits>
#include <span>
#include <stop_token>
#include <thread>
#include <utility>

#include "common/mutex.h"

namespace herald::engine {
namespace {

// After a wake-up the dispatcher gathers events for up to this long before delivering them.
// Without it a busy engine woke the dispatcher for nearly every event, and on two cores the
// context switches cost the workers a fifth of the job rate (see bench/README.md).
constexpr auto kGatherTime = std::chrono::milliseconds(2);
// ... or until this many are queued (at most half the capacity, so nothing is dropped while it
// waits).
constexpr std::size_t kMaxWakeSize = 1024;
// The place of a slot reserved after Stop(): whatever it is filled with is dropped.
constexpr std::uint64_t kNoPlace = std::numeric_limits<std::uint64_t>::max();
// JobEventBus::EventQueue::current_ while the dispatcher is in no subscriber.
constexpr std::size_t kNoSubscriber = std::numeric_limits<std::size_t>::max();

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

// The queue, the subscribers and the dispatcher thread. The bus owns one share and the
// dispatcher thread another: a dispatcher that Stop() abandons inside a subscriber that does
// not return is handed to the bus, which joins it when it is destroyed; until then the
// dispatcher finds everything it touches.
class JobEventBus::EventQueue {
 public:
  EventQueue(std::size_t capacity, std::shared_ptr<spdlog::logger> logger,
             std::function<void()> before_delivery)
      : capacity_(capacity),
        wake_size_(std::clamp<std::size_t>(capacity / 2, 1, kMaxWakeSize)),
        logger_(std::move(logger)),
        before_delivery_(std::move(before_delivery)) {}

  // `self` is this queue's share, for the dispatcher thread that the first call starts.
  Status Subscribe(std::shared_ptr<EventQueue> self, Subscriber subscriber, std::string name);
  void Publish(JobEvent event);
  // Appends an open place; kNoPlace once stopped.
  std::uint64_t Reserve();
  // Fills `place` with `events` (moved from) and closes it.
  void Fill(std::uint64_t place, std::span<JobEvent> events);
  // Returns the dispatcher thread when it was abandoned (still inside a subscriber), else an
  // empty thread.
  std::jthread Stop(std::chrono::milliseconds grace);
  JobEventStats stats() const;

 private:
  struct Subscription {
    std::string name;
    Subscriber call;
  };
  using Subscriptions = std::vector<Subscription>;

  // A reserved place (open until filled), or an event published behind one.
  struct Place {
    bool open = true;
    std::vector<JobEvent> events;
  };

  // What the dispatcher is doing, so that publishers notify it only when they must.
  enum class DispatcherState : std::uint8_t {
    kBusy,       // delivering, or about to take the queue
    kIdle,       // asleep on an empty queue: the next ready event wakes it
    kGathering,  // woken, letting a batch gather: wake_size_ ready events wake it
  };

  void DispatchLoop(std::stop_token stop);
  // Calls the subscribers with each event of `batch`, until done or abandoned. Returns how
  // many events were handed to at least one subscriber.
  std::size_t Deliver(const std::vector<JobEvent>& batch, const Subscriptions& subscriptions);
  // Moves the events of the filled places at the front of held_ to ready_.
  void PromoteHeldLocked() REQUIRES(mu_);
  // ready_ grew: true when that must wake the dispatcher.
  bool WakeLocked() REQUIRES(mu_);

  const std::size_t capacity_;
  const std::size_t wake_size_;
  const std::shared_ptr<spdlog::logger> logger_;
  const std::function<void()> before_delivery_;  // may be empty

  mutable Mutex mu_;
  // Copied on Subscribe, so the dispatcher calls a snapshot without holding mu_. Append-only:
  // an index names the same subscriber in every snapshot.
  std::shared_ptr<const Subscriptions> subscriptions_ GUARDED_BY(mu_);
  // Events ready for the dispatcher, in order; swapped with its batch.
  std::vector<JobEvent> ready_ GUARDED_BY(mu_);
  // From the oldest open place on: places and events that wait for it to be filled. Places
  // are numbered in reservation order; held_.front() is number held_first_.
  std::deque<Place> held_ GUARDED_BY(mu_);
  std::uint64_t held_first_ GUARDED_BY(mu_) = 0;
  std::size_t waiting_ GUARDED_BY(mu_) = 0;  // events in ready_ and held_, for the capacity
  DispatcherState state_ GUARDED_BY(mu_) = DispatcherState::kBusy;
  bool stopped_ GUARDED_BY(mu_) = false;   // Stop() began: publish no more, reserve no more
  bool finished_ GUARDED_BY(mu_) = false;  // the dispatcher left its loop
  JobEventStats stats_ GUARDED_BY(mu_);
  std::condition_variable_any cv_;           // the dispatcher waits here for events
  std::condition_variable_any finished_cv_;  // Stop() waits here for finished_
  // Set once, under mu_, by Stop() when its grace ran out: the dispatcher calls no more
  // subscribers, and ready_ and held_ are dropped.
  std::atomic<bool> abandoned_{false};
  // Index of the subscriber the dispatcher is calling (kNoSubscriber: none), for Stop()'s log.
  std::atomic<std::size_t> current_{kNoSubscriber};
  std::jthread dispatcher_ GUARDED_BY(mu_);  // started by the first Subscribe; taken by Stop
};

Status JobEventBus::EventQueue::Subscribe(std::shared_ptr<EventQueue> self, Subscriber subscriber,
                                          std::string name) {
  MutexLock lock(&mu_);
  if (stopped_) return Status::ShuttingDown("job events are stopped");
  auto subscriptions = subscriptions_ ? std::make_shared<Subscriptions>(*subscriptions_)
                                      : std::make_shared<Subscriptions>();
  if (name.empty()) name = "subscriber " + std::to_string(subscriptions->size() + 1);
  subscriptions->push_back(Subscription{std::move(name), std::move(subscriber)});
  subscriptions_ = std::move(subscriptions);
  if (!dispatcher_.joinable()) {
    // The thread waits for mu_ until this Subscribe returns.
    dispatcher_ = std::jthread(
        [queue = std::move(self)](std::stop_token stop) { queue->DispatchLoop(std::move(stop)); });
  }
  return Status::Ok();
}

void JobEventBus::EventQueue::Publish(JobEvent event) {
  bool wake = false;
  {
    MutexLock lock(&mu_);
    ++stats_.published;
    if (stopped_ || waiting_ >= capacity_) {
      ++stats_.dropped;
      return;
    }
    ++waiting_;
    if (held_.empty()) {
      // No allocation once ready_ and the dispatcher's batch, swapped back and forth, have
      // grown to the usual batch size.
      ready_.push_back(std::move(event));
      wake = WakeLocked();
    } else {
      Place behind{false, {}};
      behind.events.push_back(std::move(event));
      held_.push_back(std::move(behind));
    }
  }
  if (wake) cv_.notify_one();
}

std::uint64_t JobEventBus::EventQueue::Reserve() {
  MutexLock lock(&mu_);
  if (stopped_) return kNoPlace;
  held_.emplace_back();
  return held_first_ + held_.size() - 1;
}

void JobEventBus::EventQueue::Fill(std::uint64_t place, std::span<JobEvent> events) {
  bool wake = false;
  {
    MutexLock lock(&mu_);
    stats_.published += events.size();
    if (place == kNoPlace || abandoned_) {  // abandoned: held_ is gone
      stats_.dropped += events.size();
      return;
    }
    // Places before held_first_ were filled and moved on; each place is filled once.
    Place& filled = held_[place - held_first_];
    filled.open = false;
    const std::size_t ready_before = ready_.size();
    // The oldest open place (the usual case) fills ready_ directly.
    std::vector<JobEvent>& into = place == held_first_ ? ready_ : filled.events;
    for (JobEvent& event : events) {
      if (waiting_ >= capacity_) {
        ++stats_.dropped;
        continue;
      }
      ++waiting_;
      into.push_back(std::move(event));
    }
    PromoteHeldLocked();
    // A stopping dispatcher with nothing ready also waits for held_ to empty.
    wake = (ready_.size() > ready_before && WakeLocked()) || stopped_;
  }
  if (wake) cv_.notify_all();
}

void JobEventBus::EventQueue::PromoteHeldLocked() {
  while (!held_.empty() && !held_.front().open) {
    for (JobEvent& event : held_.front().events) ready_.push_back(std::move(event));
    held_.pop_front();
    ++held_first_;
  }
}

bool JobEventBus::EventQueue::WakeLocked() {
  // Two wake-ups per batch at most: the first ready event after the dispatcher went idle, and
  // the one that fills its gathering batch. Every other event finds it awake.
  if (state_ == DispatcherState::kIdle) {
    state_ = DispatcherState::kGathering;
    return true;
  }
  if (state_ == DispatcherState::kGathering && ready_.size() >= wake_size_) {
    state_ = DispatcherState::kBusy;
    return true;
  }
  return false;
}

std::jthread JobEventBus::EventQueue::Stop(std::chrono::milliseconds grace) {
  std::jthread dispatcher;
  {
    MutexLock lock(&mu_);
    stopped_ = true;
    dispatcher = std::move(dispatcher_);
  }
  if (!dispatcher.joinable()) return {};
  // The dispatcher sees the stop request, delivers what is queued and leaves its loop.
  dispatcher.request_stop();
  std::size_t dropped = 0;
  std::string stuck_in;
  {
    MutexLock lock(&mu_);
    if (finished_cv_.wait_for(mu_, grace, [this]() REQUIRES(mu_) { return finished_; })) {
      return {};  // `dispatcher` joins the thread, which is leaving
    }
    abandoned_ = true;
    dropped = waiting_;
    stats_.dropped += waiting_;
    waiting_ = 0;
    ready_.clear();
    held_.clear();
    const std::size_t current = current_.load();
    stuck_in = current < subscriptions_->size() ? (*subscriptions_)[current].name : "";
  }
  cv_.notify_all();  // a dispatcher waiting for a reserved place gives up
  if (stuck_in.empty()) {
    logger_->error(
        "job events: delivery still not done {} ms after stop began (a reserved event was "
        "never filled); {} queued event(s) dropped",
        grace.count(), dropped);
  } else {
    logger_->error(
        "job events: subscriber '{}' still running {} ms after stop began; abandoned, with "
        "the dispatcher thread, and {} queued event(s) dropped",
        stuck_in, grace.count(), dropped);
  }
  // The thread finishes the stuck call, finds abandoned_ set and ends without calling anything
  // else; the bus joins it.
  return dispatcher;
}

JobEventStats JobEventBus::EventQueue::stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

void JobEventBus::EventQueue::DispatchLoop(std::stop_token stop) {
  std::vector<JobEvent> batch;
  std::shared_ptr<const Subscriptions> subscriptions;
  std::size_t handed = 0;
  while (true) {
    {
      MutexLock lock(&mu_);
      stats_.delivered += handed;
      stats_.dropped += batch.size() - handed;  // the rest of a batch cut short by Stop()
      handed = 0;
      batch.clear();  // keeps its capacity for the next swap
      if (abandoned_) break;
      if (ready_.empty()) {
        state_ = DispatcherState::kIdle;
        cv_.wait(mu_, stop, [this]() REQUIRES(mu_) { return !ready_.empty(); });
        if (stop.stop_requested()) {
          // Events behind a reserved place still go out once it is filled; Stop() bounds the
          // wait.
          cv_.wait(mu_, [this]() REQUIRES(mu_) {
            return !ready_.empty() || held_.empty() || abandoned_;
          });
        } else {
          state_ = DispatcherState::kGathering;
          cv_.wait_for(mu_, stop, kGatherTime,
                       [this]() REQUIRES(mu_) { return ready_.size() >= wake_size_; });
        }
      }
      // Events that were made ready while the last batch was delivered are taken at once.
      state_ = DispatcherState::kBusy;
      if (abandoned_ || ready_.empty()) break;  // stopping, and everything delivered
      waiting_ -= ready_.size();
      batch.swap(ready_);
      subscriptions = subscriptions_;
    }
    if (before_delivery_) before_delivery_();
    handed = Deliver(batch, *subscriptions);
  }
  {
    MutexLock lock(&mu_);
    finished_ = true;
  }
  finished_cv_.notify_all();
}

std::size_t JobEventBus::EventQueue::Deliver(const std::vector<JobEvent>& batch,
                                             const Subscriptions& subscriptions) {
  std::size_t handed = 0;
  for (const JobEvent& event : batch) {
    for (std::size_t i = 0; i < subscriptions.size(); ++i) {
      if (abandoned_) {
        current_ = kNoSubscriber;
        return handed;
      }
      if (i == 0) ++handed;
      current_ = i;
      const Subscription& subscriber = subscriptions[i];
      try {
        subscriber.call(event);
      } catch (const std::exception& e) {
        logger_->error("job event subscriber '{}' threw on {} {} of {}: {}", subscriber.name,
                       JobEventTypeName(event.type), event.id, event.queue, e.what());
      } catch (...) {
        logger_->error("job event subscriber '{}' threw a non-standard exception on {} {} of {}",
                       subscriber.name, JobEventTypeName(event.type), event.id, event.queue);
      }
    }
  }
  current_ = kNoSubscriber;
  return handed;
}

// ---- JobEventBus -------------------------------------------------------------------------

JobEventBus::Slot::Slot(Slot&& other) noexcept
    : queue_(std::exchange(other.queue_, nullptr)), place_(other.place_) {}

JobEventBus::Slot& JobEventBus::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    queue_ = std::exchange(other.queue_, nullptr);
    place_ = other.place_;
  }
  return *this;
}

void JobEventBus::Slot::Fill(std::vector<JobEvent> events) {
  if (queue_ != nullptr) std::exchange(queue_, nullptr)->Fill(place_, events);
}

void JobEventBus::Slot::Fill(JobEvent event) {
  if (queue_ != nullptr) std::exchange(queue_, nullptr)->Fill(place_, {&event, 1});
}

void JobEventBus::Slot::Release() {
  if (queue_ != nullptr) std::exchange(queue_, nullptr)->Fill(place_, {});
}

JobEventBus::JobEventBus(std::size_t capacity, std::shared_ptr<spdlog::logger> logger,
                         std::chrono::milliseconds stop_grace,
                         std::function<void()> before_delivery)
    : stop_grace_(stop_grace),
      queue_(
          std::make_shared<EventQueue>(capacity, std::move(logger), std::move(before_delivery))) {}

JobEventBus::~JobEventBus() {
  Stop();
  std::jthread abandoned;
  {
    MutexLock lock(&abandoned_mu_);
    abandoned = std::move(abandoned_);
  }
  // Joined here: waits for the stuck subscriber call, if it has not returned yet.
}

Status JobEventBus::Subscribe(Subscriber subscriber, std::string name) {
  HERALD_RETURN_IF_ERROR(queue_->Subscribe(queue_, std::move(subscriber), std::move(name)));
  has_subscribers_.store(true, std::memory_order_release);
  return Status::Ok();
}

void JobEventBus::Publish(JobEvent event) {
  if (!empty()) queue_->Publish(std::move(event));
}

JobEventBus::Slot JobEventBus::Reserve() {
  if (empty()) return Slot();
  return Slot(queue_.get(), queue_->Reserve());
}

void JobEventBus::Stop() {
  std::jthread abandoned = queue_->Stop(stop_grace_);
  if (!abandoned.joinable()) return;
  MutexLock lock(&abandoned_mu_);
  abandoned_ = std::move(abandoned);  // only one Stop() finds the dispatcher: abandoned_ was empty
}

JobEventStats JobEventBus::stats() const { return queue_->stats(); }

}  // namespace herald::engine
