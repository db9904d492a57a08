// StatsHistory: the per-minute figures of every queue — added, completed, failed, add -> start
// p50/p99, delayed-job lateness p99 — kept in the store so that they survive restarts, for
// GET /api/stats/history. QueueActivity holds the last hour in memory; Flush() writes each
// minute that has ended (and, at shutdown, the current one), and removes rows older than
// kKeepMs. A minute written by an earlier process (it stopped within that minute) is added to,
// not replaced.
//
// Rows live under the admin records: "stats|" + be64 minute + queue -> JSON.
//
// Thread safety: thread-safe. Start() runs Flush every `interval` on a thread of its own until
// Stop() (or destruction), which flushes once more. `records`, `activity` and `clock` must
// outlive it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "engine/records.h"
#include "net/http/queue_activity.h"

namespace herald::net::http {

struct MinuteStats {
  std::int64_t minute = 0;  // ms since epoch / 60000
  std::string queue;
  std::uint64_t added = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  double wait_p50_ms = 0;
  double wait_p99_ms = 0;
  double lateness_p99_ms = 0;
};

class StatsHistory {
 public:
  static constexpr std::int64_t kKeepMs = 7LL * 24 * 3600 * 1000;  // 7 days

  StatsHistory(engine::Records* records, const QueueActivity* activity, Clock* clock)
      : records_(records), activity_(activity), clock_(clock) {}
  ~StatsHistory() { Stop(); }

  void Start(std::chrono::milliseconds interval = std::chrono::seconds(10));
  void Stop();

  // Writes the minutes that ended since the last flush (with `include_current`, the current
  // one too, as it stands).
  Status Flush(bool include_current = false);
  // Every queue's minutes from `since_ms` on, oldest first: written rows, and the minutes in
  // memory not written yet.
  Result<std::vector<MinuteStats>> Since(std::int64_t since_ms) const;

 private:
  engine::Records* records_;
  const QueueActivity* activity_;
  Clock* clock_;
  Mutex mu_;                                           // one flush at a time
  std::int64_t flushed_through_ GUARDED_BY(mu_) = 0;   // minutes <= this are written
  std::int64_t current_written_ GUARDED_BY(mu_) = -1;  // a current minute written partly
  Mutex stop_mu_;
  std::condition_variable_any stop_cv_;
  std::jthread thread_;
};

}  // namespace herald::net::http
