// JobEvent and JobEventBus: what happens to jobs, for metrics and the dashboard.
//
// Publish never blocks and never calls a subscriber: it appends the event to a bounded queue
// and returns. One dispatcher thread (started by the first Subscribe) takes the queued events
// in batches and calls every subscriber with each, in publish order. Woken from idle, the
// dispatcher first lets events gather for up to 2 ms (or 1024 events), so that a busy engine
// wakes it hundreds of times a second rather than once per event; subscribers see an event up
// to ~2 ms after it happened. When `capacity` events are already waiting, Publish drops the
// event and counts it (where Redis disconnects a pub/sub client over its output buffer limit):
// a slow subscriber loses events, it never slows the engine. With no subscriber Publish returns
// at once; callers check empty() before building an event.
//
// Ordering: every subscriber sees the events in one order, the order in which their Publish
// calls took the bus's lock; the events of one publishing thread keep the order they were
// published in. (Broker::events() says what that means for the events of one job.)
//
// Subscribers run on the dispatcher thread, one event at a time, and should be quick (count,
// update a snapshot, or hand the event to a queue of their own): a slow one delays the others
// and, once the queue is full, makes events drop. They must not call Stop() or
// Broker::Shutdown(), which wait for the dispatcher. One that throws is logged; the event
// still counts as delivered, and the next event is delivered as usual.
//
// Thread safety: thread-safe; Subscribe may come at any time. Stop() (or the destructor)
// delivers the events already queued, waiting for the subscribers to return, then joins the
// dispatcher.
//
// Lifetime: whatever a subscriber borrows must outlive Stop() (or the bus).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "storage/mutex.h"
#include "storage/status.h"

namespace spdlog {
class logger;
}

namespace herald::engine {

enum class JobEventType : std::uint8_t {
  kAdded,   // a new job (waiting or delayed)
  kActive,  // taken by a worker
  kCompleted,
  kRetrying,  // a failed attempt; delayed until the backoff is over
  kFailed,    // failed for good
  kStalled,   // its lease expired; waiting again (or failed, reported as kFailed too)
  kPromoted,  // delayed -> waiting
  kRemoved,
  kRetried,  // failed -> waiting (QRETRY), attempts counted afresh
};

const char* JobEventTypeName(JobEventType type);

struct JobEvent {
  JobEventType type;
  std::string queue;
  std::string id;
  std::uint32_t attempts_made = 0;
  std::string detail;  // error text, return value or reason
  std::int64_t at_ms = 0;
};

// Counts since the bus was made. Once the queue is empty, published == delivered + dropped.
struct JobEventStats {
  std::uint64_t published = 0;  // Publish calls while there was a subscriber
  std::uint64_t delivered = 0;  // events handed to the subscribers (each counted once)
  std::uint64_t dropped = 0;    // refused: the queue was full, or the bus was stopped
};

class JobEventBus {
 public:
  using Subscriber = std::function<void(const JobEvent&)>;

  // `capacity` (>= 1): events that may wait for the dispatcher; the batch it is delivering
  // does not count. `logger` may be null (spdlog's default).
  JobEventBus(std::size_t capacity, std::shared_ptr<spdlog::logger> logger);
  ~JobEventBus();  // Stop()
  JobEventBus(const JobEventBus&) = delete;
  JobEventBus& operator=(const JobEventBus&) = delete;

  // Adds a subscriber; it receives the events dispatched from now on. The first one starts the
  // dispatcher thread. ShuttingDown after Stop().
  Status Subscribe(Subscriber subscriber);
  // True while nobody subscribed: Publish would do nothing. No lock.
  bool empty() const { return !has_subscribers_.load(std::memory_order_acquire); }
  // Queues `event` for the subscribers, or drops it (see the class comment). Never blocks on a
  // subscriber; holds the bus's lock only to append.
  void Publish(JobEvent event);
  // Delivers what is queued, then stops and joins the dispatcher. Later events are dropped.
  // Idempotent.
  void Stop();

  JobEventStats stats() const;

 private:
  using Subscribers = std::vector<Subscriber>;

  void DispatchLoop(std::stop_token stop);
  void Deliver(const std::vector<JobEvent>& batch, const Subscribers& subscribers);

  // What the dispatcher is doing, so that Publish notifies it only when it must.
  enum class DispatcherState : std::uint8_t {
    kBusy,       // delivering, or about to take the queue
    kIdle,       // asleep on an empty queue: the next Publish wakes it
    kGathering,  // woken, letting a batch gather: a queue of wake_size_ wakes it
  };

  const std::size_t capacity_;
  const std::size_t wake_size_;
  const std::shared_ptr<spdlog::logger> logger_;
  std::atomic<bool> has_subscribers_{false};

  mutable Mutex mu_;
  // Copied on Subscribe, so the dispatcher calls a snapshot without holding mu_.
  std::shared_ptr<const Subscribers> subscribers_ GUARDED_BY(mu_);
  std::vector<JobEvent> queue_ GUARDED_BY(mu_);  // swapped with the dispatcher's batch
  DispatcherState state_ GUARDED_BY(mu_) = DispatcherState::kBusy;
  bool stopped_ GUARDED_BY(mu_) = false;
  JobEventStats stats_ GUARDED_BY(mu_);
  std::condition_variable_any cv_;
  std::jthread dispatcher_ GUARDED_BY(mu_);  // started by the first Subscribe; joined by Stop
};

}  // namespace herald::engine
