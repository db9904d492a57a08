// JobEvent and JobEventBus: what happens to jobs, for metrics and the dashboard.
//
// Subscribers are called synchronously on the thread that made the change, after the change
// is durable and outside the engine's locks. They must be quick and must not call back into the
// Broker (count, or hand the event to a queue of their own).
//
// Thread safety: thread-safe. Subscribe before Broker::Start(); the subscriber list is then
// read without locking.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

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

class JobEventBus {
 public:
  using Subscriber = std::function<void(const JobEvent&)>;
  void Subscribe(Subscriber subscriber) { subscribers_.push_back(std::move(subscriber)); }
  bool empty() const { return subscribers_.empty(); }
  void Publish(const JobEvent& event) const {
    for (const Subscriber& subscriber : subscribers_) subscriber(event);
  }

 private:
  std::vector<Subscriber> subscribers_;
};

}  // namespace herald::engine
