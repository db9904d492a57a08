// QueueActivity: what the job events say about each queue, kept in memory for /metrics and the
// API — totals since the process started (Prometheus counters), the last hour minute by minute
// (added, completed, failed), and histograms of the time from add to start, of processing, and
// of how late delayed jobs start.
//
//   broker.events().Subscribe([&activity](const engine::JobEvent& e) { activity.Record(e); });
//
// Thread safety: thread-safe (Record on the event bus's thread, reads from the I/O threads).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "engine/job_events.h"

namespace herald::net::http {

// A latency histogram with fixed bucket bounds in milliseconds (the last is +Inf).
class LatencyHistogram {
 public:
  static constexpr std::array<std::int64_t, 16> kBoundsMs = {
      1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000};

  void Add(std::int64_t ms);
  void Merge(const LatencyHistogram& other);
  std::uint64_t count() const { return count_; }
  std::int64_t sum_ms() const { return sum_ms_; }
  // Observations <= kBoundsMs[i], not cumulative; [kBoundsMs.size()] holds the rest.
  const std::array<std::uint64_t, kBoundsMs.size() + 1>& buckets() const { return buckets_; }
  // The q-quantile (0 < q < 1) estimated within its bucket; 0 when empty.
  double Quantile(double q) const;

 private:
  std::array<std::uint64_t, kBoundsMs.size() + 1> buckets_{};
  std::uint64_t count_ = 0;
  std::int64_t sum_ms_ = 0;
};

// One minute of one queue.
struct MinuteActivity {
  std::int64_t minute = 0;  // ms since epoch / 60000
  std::uint64_t added = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  LatencyHistogram wait;      // add -> start of the first attempt
  LatencyHistogram lateness;  // due -> start, of jobs that were delayed
};

struct QueueTotals {
  std::uint64_t added = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t retried = 0;  // failed attempts that will run again
  std::uint64_t stalled = 0;
  LatencyHistogram wait;
  LatencyHistogram processing;  // start -> completed or failed
  LatencyHistogram lateness;
};

class QueueActivity {
 public:
  static constexpr std::size_t kMinutesKept = 60;

  void Record(const engine::JobEvent& event);

  // Totals of every queue seen so far.
  std::map<std::string, QueueTotals> Totals() const;
  // The minutes of `queue` from `since_minute` on that had any activity, oldest first.
  std::vector<MinuteActivity> Minutes(std::string_view queue, std::int64_t since_minute) const;
  // Completed and failed in the 60 s before `now_ms`.
  MinuteActivity LastMinute(std::string_view queue, std::int64_t now_ms) const;

 private:
  struct PerQueue {
    QueueTotals totals;
    std::array<MinuteActivity, kMinutesKept> minutes{};  // ring by minute % kMinutesKept
  };
  MinuteActivity& MinuteOf(PerQueue& queue, std::int64_t at_ms) REQUIRES(mu_);

  mutable Mutex mu_;
  std::map<std::string, PerQueue, std::less<>> queues_ GUARDED_BY(mu_);
};

}  // namespace herald::net::http
