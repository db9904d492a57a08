// JobEvent and JobEventBus: what happens to jobs, for metrics and the dashboard.
//
// Publish never blocks and never calls a subscriber: it appends the event to a bounded queue
// and returns. One dispatcher thread (started by the first Subscribe) takes the queued events
// in batches and calls every subscriber with each, in queue order. Woken from idle, the
// dispatcher first lets events gather for up to 2 ms (or 1024 events), so that a busy engine
// wakes it hundreds of times a second rather than once per event; subscribers see an event up
// to ~2 ms after it happened. When `capacity` events are already waiting, Publish drops the
// event and counts it (where Redis disconnects a pub/sub client over its output buffer limit):
// a slow subscriber loses events, it never slows the engine. With no subscriber Publish returns
// at once; callers check empty() before building an event.
//
// Ordering: every subscriber sees the events in one order, the order of their places in the
// queue. Publish takes its place when it is called. Reserve takes a place ahead of time, as a
// Slot: a thread reserves one before it makes a change that another thread may act on, and
// fills it with the change's events once the change is made; whatever is queued behind the
// place waits until it is filled (or released empty), so that the events of what other
// threads did next come after it. A slot must be filled soon (it holds back every later
// event). The events of one publishing thread keep the order of their places.
// (broker.cc says how the broker uses slots to keep each job's events in the order of its
// changes.)
//
// Subscribers run on the dispatcher thread, one event at a time, and should be quick (count,
// update a snapshot, or hand the event to a queue of their own): a slow one delays the others
// and, once the queue is full, makes events drop. They must not call Stop() or
// Broker::Shutdown(), which wait for the dispatcher. One that throws is logged; the event
// still counts as delivered, and the next event is delivered as usual.
//
// Stopping: Stop() (or the destructor) delivers what is queued, waiting for reserved places
// to be filled, for up to `stop_grace`. A dispatcher not done by then is abandoned: what is
// still queued is dropped, an error names the subscriber it is stuck in, and Stop() returns.
// The dispatcher thread finishes that call and then ends without calling anything else; the
// bus's destructor joins it, waiting for the stuck call to return if it has not yet.
//
// Thread safety: thread-safe; Subscribe may come at any time. A Slot is used by one thread.
//
// Lifetime: whatever a subscriber borrows must outlive the bus (an abandoned call may still
// run after Stop(); the destructor waits for it). A Slot must not outlive its bus.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"

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
  JobEventType type = JobEventType::kAdded;
  std::string queue;
  std::string id;
  std::uint32_t attempts_made = 0;
  std::string detail;  // error text, return value or reason
  std::int64_t at_ms = 0;
  // The job's times as the change left them (storage::Job): when it was added, when it last
  // became active, when it is or was due (0 = never delayed).
  std::int64_t created_ms = 0;
  std::int64_t processed_ms = 0;
  std::int64_t due_ms = 0;
};

// Counts since the bus was made. Once the queue is empty, published == delivered + dropped.
struct JobEventStats {
  std::uint64_t published = 0;  // events published (or filled into slots) with a subscriber
  std::uint64_t delivered = 0;  // events handed to the subscribers (each counted once)
  std::uint64_t dropped = 0;    // refused: the queue was full, or the bus was stopped
};

class JobEventBus {
  class EventQueue;

 public:
  using Subscriber = std::function<void(const JobEvent&)>;

  // A place in the delivery order, reserved by Reserve() and filled once: Fill, or released
  // empty when destroyed unfilled. Empty (no place: Fill does nothing) when the bus had no
  // subscriber, and once filled or moved from. Move-only; used by one thread.
  class Slot {
   public:
    Slot() = default;
    ~Slot() { Release(); }
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

    // True when there is nothing to fill (skip building events).
    bool empty() const { return queue_ == nullptr; }
    // Puts `events` (in order) in the place and releases it; as Publish, each is dropped when
    // the queue is full. Once: later calls do nothing.
    void Fill(std::vector<JobEvent> events);
    void Fill(JobEvent event);

   private:
    friend class JobEventBus;
    Slot(EventQueue* queue, std::uint64_t place) : queue_(queue), place_(place) {}
    void Release();

    EventQueue* queue_ = nullptr;
    std::uint64_t place_ = 0;
  };

  // Default of `stop_grace`: how long Stop() waits for the queued events to be delivered.
  static constexpr std::chrono::milliseconds kDefaultStopGrace{10000};

  // `capacity` (>= 1): events that may wait for the dispatcher; the batch it is delivering
  // does not count. `logger`: not null. `stop_grace`: see Stop().
  // `before_delivery` (optional) runs on the dispatcher thread before each batch is handed
  // out and may block: the broker waits there for the changes of the batch to be durable.
  JobEventBus(std::size_t capacity, std::shared_ptr<spdlog::logger> logger,
              std::chrono::milliseconds stop_grace = kDefaultStopGrace,
              std::function<void()> before_delivery = {});
  ~JobEventBus();  // Stop()
  JobEventBus(const JobEventBus&) = delete;
  JobEventBus& operator=(const JobEventBus&) = delete;

  // Adds a subscriber; it receives the events dispatched from now on. The first one starts the
  // dispatcher thread. `name` identifies it in logs ("" = "subscriber <n>", 1 for the first).
  // ShuttingDown after Stop().
  Status Subscribe(Subscriber subscriber, std::string name = {});
  // True while nobody subscribed: Publish would do nothing. No lock.
  bool empty() const { return !has_subscribers_.load(std::memory_order_acquire); }
  // Queues `event` for the subscribers, or drops it (see the class comment). Never blocks on a
  // subscriber; holds the bus's lock only to append.
  void Publish(JobEvent event);
  // Reserves the next place in the delivery order (see the class comment). Holds the bus's
  // lock only to append. After Stop(), what the slot is filled with is dropped.
  Slot Reserve();
  // Delivers what is queued for up to the stop grace, then stops the dispatcher (joined, or
  // abandoned inside a subscriber that does not return, and joined by the destructor). Later
  // events are dropped. Idempotent.
  void Stop();

  JobEventStats stats() const;

 private:
  const std::chrono::milliseconds stop_grace_;
  std::atomic<bool> has_subscribers_{false};
  // Shared with the dispatcher thread.
  const std::shared_ptr<EventQueue> queue_;
  Mutex abandoned_mu_;
  std::jthread abandoned_ GUARDED_BY(abandoned_mu_);  // a dispatcher Stop() gave up on
};

}  // namespace herald::engine
