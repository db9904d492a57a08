// Internal to storage/ (names rocksdb types). JobTaker: Store::Take and TakeMany, and the take
// that goes along in another transition's batch (CompleteAndTake). A take claims entries from
// the front of the waiting head (IndexHead::Claim), holds their ids, checks the claims still
// stand (EndClaim) and the jobs are still waiting there, writes their leases in one batch, and
// then makes them active in memory (ActiveJobs).
//
// Thread safety: thread-safe. Every pointer is borrowed and must outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/active_jobs.h"
#include "storage/database.h"
#include "storage/id_locks.h"
#include "storage/index_scanner.h"
#include "storage/job_change.h"
#include "storage/job_reader.h"
#include "storage/queue_registry.h"
#include "storage/queue_state.h"

namespace spdlog {
class logger;
}

namespace herald::storage {

class JobTaker {
 public:
  // Takes planned under their ids' locks.
  struct PlannedTakes {
    std::vector<IndexHead::Entry> claimed;
    std::vector<Change> changes;       // one per entry taken
    std::vector<std::size_t> sources;  // the index in `claimed` of each change
    Status read_error;                 // a record that could not be read (that entry skipped)
  };

  JobTaker(Database* database, const QueueRegistry* registry, IdLocks* id_locks,
           const JobReader* reader, const IndexScanner* scanner, ActiveJobs* active,
           std::shared_ptr<spdlog::logger> log)
      : database_(database),
        registry_(registry),
        id_locks_(id_locks),
        reader_(reader),
        scanner_(scanner),
        active_(active),
        log_(std::move(log)) {}

  // As Store::Take and TakeMany (store.h).
  Result<std::optional<Job>> Take(std::string_view queue, std::int64_t now_ms,
                                  std::string_view worker);
  Result<std::vector<Job>> TakeMany(std::string_view queue, std::size_t max, std::int64_t now_ms,
                                    std::string_view worker);

  // Up to `max` waiting entries of the queue, claimed (refilling the head as needed). An error
  // only when nothing was claimed.
  Result<std::vector<IndexHead::Entry>> ClaimWaiting(QueueState* qs, std::size_t max) const
      EXCLUDES(qs->mu());
  // Ends plan->claimed's claims and plans the take of each entry still there whose id the
  // caller holds (held[i]); an entry whose id it does not hold goes back to the head. Each
  // job taken starts an attempt run by `worker`.
  void PlanTakes(QueueState* qs, const std::vector<bool>& held, std::int64_t now_ms,
                 std::string_view worker, PlannedTakes* plan) const EXCLUDES(qs->mu());
  // After the batch with plan->changes was written (`written` its status; failed: the claims
  // go back). The jobs taken are appended to `taken`.
  void FinishTakes(QueueState* qs, PlannedTakes* plan, const Status& written,
                   std::vector<Job>* taken) EXCLUDES(qs->mu());

 private:
  Database* const database_;
  const QueueRegistry* const registry_;
  IdLocks* const id_locks_;
  const JobReader* const reader_;
  const IndexScanner* const scanner_;
  ActiveJobs* const active_;
  const std::shared_ptr<spdlog::logger> log_;
};

}  // namespace herald::storage
