// Internal to storage/ (names rocksdb types). IndexScanner: reads a queue's indexes from the
// database: Refill() reads the next entries of an index head (for the waiting index with the
// records of small jobs, so that their Takes need no read), Scan() reads a key range (the bulk
// operations).
//
// Thread safety: thread-safe (it keeps no state). `database` is borrowed and must outlive it.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/database.h"
#include "storage/queue_index.h"
#include "storage/queue_state.h"

namespace spdlog {
class logger;
}

namespace herald::storage {

class IndexScanner {
 public:
  // Index entries read ahead by one Refill.
  static constexpr std::size_t kRefillBatch = 128;

  IndexScanner(Database* database, std::shared_ptr<spdlog::logger> log)
      : database_(database), log_(std::move(log)) {}

  // Reads up to kRefillBatch more entries into `head` (the head of `state`'s index of `qs`)
  // from the database. Holds qs's mutex throughout, so that no write to the index is missed
  // between the read and the head's update.
  Status Refill(QueueState* qs, IndexHead* head, JobState state) const REQUIRES(qs->mu());
  // The delayed head must show the earliest due entry whenever there is one (NextDue); a
  // failed read is logged. Inline: every add and transition checks, and rarely reads.
  void KeepDelayedHeadLoaded(QueueState* qs) const REQUIRES(qs->mu()) {
    if (qs->delayed().HasAhead() || qs->delayed().complete() || qs->counts().delayed == 0) return;
    LoadDelayedHead(qs);
  }
  // Up to `max` entries of a queue's index in [start, end), ascending, leases (active jobs)
  // skipped.
  Result<std::vector<IndexHead::Entry>> Scan(const QueueState* qs, std::string_view start,
                                             std::string_view end, std::size_t max) const;

 private:
  void LoadDelayedHead(QueueState* qs) const REQUIRES(qs->mu());
  // Adds the records of the waiting jobs `entries` (read at `snapshot`) to them, where they
  // are small and match.
  void ReadRecords(const rocksdb::Snapshot* snapshot, std::vector<IndexHead::Entry>* entries) const;

  Database* const database_;
  const std::shared_ptr<spdlog::logger> log_;
};

}  // namespace herald::storage
