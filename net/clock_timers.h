// ClockTimers: deadlines on the injected Clock (ServerState::NowMs), for the server's own
// timeouts — a client's idle timeout and the timeout of a blocking list pop. Timers are due by
// the clock the engine reads, so that tests on a FakeClock move them by advancing the clock
// and calling RunDue(), instead of sleeping.
//
// One Asio timer, attached to the I/O threads' io_context, waits for the earliest deadline;
// when it fires, the timers whose deadline the clock has reached are due. Each due timer's
// callback is posted to the executor given with it (a connection's strand), never run inline.
// A clock that stands still (a FakeClock) leaves its timers pending, however long the real
// wait; RunDue() then fires those the clock has reached.
//
// Cancel() before the callback was posted keeps it from running; once posted it runs, so a
// callback checks that what it times out is still waiting (as the blocking pop's Claim does).
//
// Thread safety: thread-safe. Lifetime: `clock` must outlive it; callbacks must not outlive
// what they refer to (they hold shared pointers, as the connections' do).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "common/clock.h"
#include "common/mutex.h"

namespace herald::net {

class ClockTimers {
 public:
  using Id = std::uint64_t;
  static constexpr Id kNone = 0;

  explicit ClockTimers(Clock* clock) : clock_(clock) {}
  ~ClockTimers();
  ClockTimers(const ClockTimers&) = delete;
  ClockTimers& operator=(const ClockTimers&) = delete;

  // From now on the earliest deadline is waited for on `io`'s threads. Until then (and after
  // Detach) only RunDue() fires timers.
  void Attach(boost::asio::io_context* io) EXCLUDES(mu_);
  // Stops waiting on the io_context (before it stops). Pending timers stay pending.
  void Detach() EXCLUDES(mu_);

  // Posts `fire` to `executor` once the clock reads `due_ms` or later. Never kNone.
  Id At(std::int64_t due_ms, boost::asio::any_io_executor executor, std::function<void()> fire)
      EXCLUDES(mu_);
  // Drops a pending timer; false when it was not pending (fired already, or unknown).
  bool Cancel(Id id) EXCLUDES(mu_);

  // Posts the callback of every timer the clock has reached; returns how many.
  std::size_t RunDue() EXCLUDES(mu_);

  std::size_t pending() const EXCLUDES(mu_);

 private:
  struct Timer {
    std::int64_t due_ms = 0;
    boost::asio::any_io_executor executor;
    std::function<void()> fire;
  };

  // Points the Asio timer at the earliest deadline, when it is earlier than the one awaited.
  void Arm() REQUIRES(mu_);
  void OnWake(std::uint64_t generation) EXCLUDES(mu_);

  Clock* const clock_;
  mutable Mutex mu_;
  Id next_id_ GUARDED_BY(mu_) = 1;
  std::multimap<std::int64_t, Id> by_due_ GUARDED_BY(mu_);
  std::unordered_map<Id, std::pair<Timer, std::multimap<std::int64_t, Id>::iterator>> timers_
      GUARDED_BY(mu_);
  std::optional<boost::asio::steady_timer> waker_ GUARDED_BY(mu_);
  // The deadline the waker waits for (INT64_MAX: none), and a count of its waits, so that a
  // wake of a wait that was replaced does nothing.
  std::int64_t awaited_ms_ GUARDED_BY(mu_) = std::numeric_limits<std::int64_t>::max();
  std::uint64_t generation_ GUARDED_BY(mu_) = 0;
};

}  // namespace herald::net
