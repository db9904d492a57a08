// Internal to storage/ (names rocksdb types). CompletedRetention: keeps at most `retention`
// completed jobs per queue (StoreOptions::completed_retention). The oldest beyond it are
// deleted in groups, in the batch of the Complete that pushed the count past retention + slack
// (slack = retention / 16, at most kMaxPruneSlack): deleting consecutive old entries together
// keeps the memtable inserts of the deletes next to each other, where one delete per Complete
// would search the skiplist from the top twice per job. At most kMaxPrunePerComplete go in one
// batch (keeps Complete's latency flat while a lowered retention is being caught up with).
// Trim() deletes the whole excess in batches of its own (at open, and when a batch's own jobs
// are over the retention).
//
// Thread safety: thread-safe. Every pointer is borrowed and must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/status.h"
#include "storage/bulk_transitions.h"
#include "storage/database.h"
#include "storage/id_locks.h"
#include "storage/index_scanner.h"
#include "storage/queue_state.h"

namespace spdlog {
class logger;
}

namespace herald::storage {

class CompletedRetention {
 public:
  static constexpr std::int64_t kMaxPruneSlack = 64;
  static constexpr std::int64_t kMaxPrunePerComplete = 128;

  // Old completed jobs claimed by one Complete for deletion in its batch.
  struct Prune {
    std::vector<IndexHead::Entry> claimed;
    std::vector<IndexHead::Entry> give_back;  // claimed, but busy or failed: back to the head
    std::vector<IdLocks::Guard> guards;
    std::vector<IndexHead::Entry> deleted;  // in the batch
    bool ran_out = false;  // fewer old jobs than the excess: the batch's own jobs are over it
  };

  CompletedRetention(std::uint32_t retention, Database* database, IdLocks* id_locks,
                     const IndexScanner* scanner, BulkTransitions* bulk,
                     std::shared_ptr<spdlog::logger> log)
      : retention_(retention),
        database_(database),
        id_locks_(id_locks),
        scanner_(scanner),
        bulk_(bulk),
        log_(std::move(log)) {}

  // Whether completed jobs are kept at all (a retention of 0 removes a job as it completes).
  bool keeps_completed() const { return retention_ > 0; }

  // Claims old completed jobs of `qs` beyond the retention (counting `completing` more, being
  // completed in `batch`) and adds their deletion to `batch`. Precondition: the caller holds
  // the ids of the completing jobs (the victims' ids are only tried).
  void PlanPrune(QueueState* qs, std::uint64_t completing, rocksdb::WriteBatch* batch, Prune* prune)
      EXCLUDES(qs->mu());
  // After the batch of `prune` was written (`written` its status; failed: the victims are
  // ahead again).
  void FinishPrune(QueueState* qs, Prune* prune, const Status& written) REQUIRES(qs->mu());
  // Deletes the completed jobs of `qs` beyond the retention. Precondition: no id lock held.
  Status Trim(QueueState* qs) EXCLUDES(qs->mu());
  // Trim, when `qs` holds more than the retention plus slack (a batch whose own jobs went over
  // it); a failure is logged.
  void TrimIfOver(QueueState* qs) EXCLUDES(qs->mu());

 private:
  // The most completed jobs kept before a Complete prunes.
  std::int64_t Slack() const;

  const std::uint32_t retention_;
  Database* const database_;
  IdLocks* const id_locks_;
  const IndexScanner* const scanner_;
  BulkTransitions* const bulk_;
  const std::shared_ptr<spdlog::logger> log_;
};

}  // namespace herald::storage
