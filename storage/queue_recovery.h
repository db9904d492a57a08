// Internal to storage/ (names rocksdb types). QueueRecovery: brings a queue's memory up at
// open, in a time that does not grow with its jobs: the counters of each state are kept in
// the queue's column family (each change merges +1/-1 into them in its own batch), so open
// reads them and the pause flag, and looks only for the leases, at the front of the waiting
// index (an older build's queue is counted in one pass once, which then writes its counters).
// Every job that was active when the store closed is put back (leases live in memory,
// so after a restart nobody works on it): waiting again at its key, or failed when its
// attempts are used up (Take persisted the attempt count, so a job that kills its worker every
// time still ends), its attempt ended stalled in its history (the record is rewritten anyway,
// so that costs no read or write more); completed jobs beyond the retention are deleted.
//
// Thread safety: Recover runs at open, for one queue at a time, before the queue is used.
// Every pointer is borrowed and must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/completed_retention.h"
#include "storage/database.h"
#include "storage/index_scanner.h"
#include "storage/job_reader.h"
#include "storage/queue_state.h"

namespace spdlog {
class logger;
}

namespace herald::storage {

class QueueRecovery {
 public:
  QueueRecovery(Database* database, const JobReader* reader, const IndexScanner* scanner,
                CompletedRetention* retention, std::shared_ptr<spdlog::logger> log)
      : database_(database),
        reader_(reader),
        scanner_(scanner),
        retention_(retention),
        log_(std::move(log)) {}

  // Loads `qs` (see above); `now_ms` is the finish time of jobs failed for good.
  Status Recover(QueueState* qs, std::int64_t now_ms);
  // Jobs that were active and were put back, over every Recover so far.
  std::uint64_t recovered_active() const { return recovered_active_; }

 private:
  // An active entry found at open: a lease in the waiting index, or an older build's "a|" entry.
  struct StalledEntry {
    struct LeaseInfo {
      std::uint32_t attempts_made;
      std::int64_t processed_ms;
      std::string worker;
    };
    std::string key;
    std::string id;
    std::optional<LeaseInfo> lease;  // nullopt: an "a|" entry
  };

  // Counts the jobs of `qs` into its memory and returns the active entries: from its kept
  // counters (keys.h, "m|n|") and the leases at the front of its waiting index, or (an older
  // build's queue, or counters that disagree with the index) with CountAll.
  Result<std::vector<StalledEntry>> Count(QueueState* qs) const;
  // The kept counters and pause flag; nullopt when the queue has none (or they are damaged).
  Result<std::optional<QueueCounts>> ReadCounters(QueueState* qs) const;
  // The first `expected` leases of the waiting index (fewer when it holds fewer).
  Result<std::vector<StalledEntry>> FindLeases(QueueState* qs, std::uint64_t expected) const;
  // One pass over every entry of the queue; writes the counters it found, to be kept.
  Result<std::vector<StalledEntry>> CountAll(QueueState* qs) const;
  Status PutBack(QueueState* qs, const std::vector<StalledEntry>& active, std::int64_t now_ms);
  // The change that puts `e` back, or nullopt when its record is gone or doesn't match.
  Result<std::optional<Change>> PlanPutBack(const StalledEntry& e, std::int64_t now_ms) const;

  Database* const database_;
  const JobReader* const reader_;
  const IndexScanner* const scanner_;
  CompletedRetention* const retention_;
  const std::shared_ptr<spdlog::logger> log_;
  std::uint64_t recovered_active_ = 0;
};

}  // namespace herald::storage
