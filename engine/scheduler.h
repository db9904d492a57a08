// Scheduler: the thread that keeps the broker's time. It calls `tick` (one pass: promote due
// jobs, expire leases and waiters) and sleeps until the time of the next thing to do that the
// pass returned, or until WakeAt asks for an earlier pass (a delayed job added, a lease
// taken), or for at most 5 s (in case the wall clock jumps).
//
// Thread safety: thread-safe. WakeAt may be called from any thread, with the broker's mutex
// held or not (the scheduler never holds its own mutex while it runs `tick`); it takes no lock
// when the wake-up it asks for is no earlier than the one planned.
//
// Lifetime: `clock` and whatever `tick` uses must outlive the Scheduler (or Stop()).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <stop_token>
#include <thread>

#include "common/clock.h"
#include "common/mutex.h"

namespace herald::engine {

class Scheduler {
 public:
  using Tick = std::function<std::int64_t()>;  // returns the next time (ms), INT64_MAX: none

  Scheduler(Clock* clock, Tick tick);
  ~Scheduler();  // Stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts the thread. Once.
  void Start();
  // Stops the thread and joins it (a pass under way finishes first). Idempotent.
  void Stop();
  // A pass is wanted at `at_ms` (or now, when that has passed).
  void WakeAt(std::int64_t at_ms);

 private:
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

  void Loop(std::stop_token stop);

  Clock* const clock_;
  const Tick tick_;
  Mutex mu_;
  std::condition_variable_any cv_;
  // When the next pass is due: while the thread sleeps, when it wakes; while a pass runs, the
  // earliest time asked for since it began (kNever: none). Lowered under mu_; read without it
  // by WakeAt's fast path.
  std::atomic<std::int64_t> wake_ms_{kNever};
  bool kicked_ GUARDED_BY(mu_) = false;  // wake_ms_ was lowered: sleep again from there
  std::jthread thread_;
};

}  // namespace herald::engine
