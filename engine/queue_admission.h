// QueueAdmission: whether one queue may hand out another job now — its pause flag, its
// concurrency limit (jobs under a lease plus takes in flight) and its rate limit (at most
// rate_max starts per rate_duration_ms, a sliding window of start times). A take reserves a
// slot before it writes, and gives it back when it found no job; a lease that ends releases it.
//
// Thread safety: not thread-safe. The Broker keeps each queue's admission under its mutex,
// together with the leases that hold its slots.
#pragma once

#include <cstdint>
#include <deque>

#include "engine/queue_policy.h"

namespace herald::engine {

class QueueAdmission {
 public:
  enum class Verdict : std::uint8_t {
    kReserved,     // a slot is held: take a job, or Unreserve
    kRefused,      // paused, or at its concurrency limit
    kRateLimited,  // its rate window is full until RoomAtMs()
  };

  // Limits from `policy`; not paused.
  explicit QueueAdmission(const QueuePolicy& policy);

  // Reserves a slot at `now_ms` (and a start in the rate window).
  Verdict Reserve(std::int64_t now_ms);
  // Gives back a slot reserved at `now_ms` that found no job, and its start.
  void Unreserve(std::int64_t now_ms);
  // A lease ended (acknowledged, failed, expired, deleted): its slot is free. Its start stays in
  // the rate window.
  void Release();
  // A released lease came back (the write that ended it failed): it holds a slot again, even
  // beyond the concurrency limit for a moment.
  void Readmit();

  // When the full rate window has room again; INT64_MAX when it is not full (or no limit).
  std::int64_t RoomAtMs() const;
  bool rate_limited() const { return rate_max_ > 0; }
  // A freed slot lets a job start only under a concurrency limit.
  bool concurrency_limited() const { return concurrency_ > 0; }

  // A reloaded policy's limits; the slots held and the rate window's starts stay (a lowered
  // limit lets no job start until the running ones are under it).
  void SetLimits(const QueuePolicy& policy) {
    concurrency_ = policy.concurrency;
    rate_max_ = policy.rate_max;
    rate_duration_ms_ = policy.rate_duration_ms;
  }

  void Pause() { paused_ = true; }
  void Resume() { paused_ = false; }
  std::uint32_t active() const { return active_; }
  bool paused() const { return paused_; }

 private:
  std::uint32_t concurrency_;
  std::uint32_t rate_max_;
  std::int64_t rate_duration_ms_;
  bool paused_ = false;
  std::uint32_t active_ = 0;
  std::deque<std::int64_t> starts_;  // start times of the takes in the rate window
};

}  // namespace herald::engine
