// Handler: the code that does a job's work (send an email, a push, open a ticket). The engine's
// worker threads call Run() for each job taken from a queue that has a registered handler.
//
// Contract: Run() returns an outcome; it may also throw, which the worker records as a failed
// attempt with the exception's message (it never kills the worker). It should return by
// `deadline` (the queue's timeout) and poll `stop` on long waits; a run past the deadline
// counts as a failed attempt ("timed out after N ms") whatever it returns.
//
// Thread safety: Run() is called from several worker threads at once; implementations must
// be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string>
#include <string_view>

namespace herald::engine {

// What a handler sees of a job.
struct HandlerJob {
  std::string_view id;
  std::string_view queue;
  std::string_view payload;     // the event JSON for events
  std::uint32_t attempts_made;  // this attempt included: 1 on the first run
  std::uint32_t max_attempts;
  std::chrono::steady_clock::time_point deadline;
  std::stop_token stop;  // set when the broker shuts down
};

struct HandlerOutcome {
  enum class Kind : std::uint8_t {
    kSuccess,    // completed; `text` is the return value (may be "")
    kFailure,    // a failed attempt; `text` is the error; retried per the queue's backoff
    kPermanent,  // failed for good (e.g. SMTP 5xx): no further attempts
  };
  Kind kind = Kind::kSuccess;
  std::string text;
  // kFailure only: the next attempt in this many ms instead of the queue's backoff (a provider's
  // Retry-After); -1: the backoff.
  std::int64_t retry_in_ms = -1;

  static HandlerOutcome Success(std::string value = {}) {
    return {Kind::kSuccess, std::move(value)};
  }
  static HandlerOutcome Failure(std::string error) { return {Kind::kFailure, std::move(error)}; }
  // A failed attempt whose next attempt is due in `retry_in_ms` (0 or more).
  static HandlerOutcome RetryIn(std::string error, std::int64_t retry_in_ms) {
    return {Kind::kFailure, std::move(error), retry_in_ms};
  }
  static HandlerOutcome Permanent(std::string error) {
    return {Kind::kPermanent, std::move(error)};
  }
};

class Handler {
 public:
  virtual ~Handler() = default;
  virtual HandlerOutcome Run(const HandlerJob& job) = 0;
};

}  // namespace herald::engine
