// Internal to storage/ (names rocksdb types). BulkTransitions: transitions of many jobs of one
// queue picked from an index rather than by id: every failed job retried (RetryAllFailed), the
// due delayed jobs promoted (PromoteDue), old jobs of a state removed (Clean), and, for
// CompletedRetention and recovery, ApplyToEntries, which they are all made of: kBulkChunk jobs
// per WriteBatch, each job checked under its id lock to be still where its entry says.
//
// Thread safety: thread-safe. Every pointer is borrowed and must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "common/status.h"
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

// Where ApplyToEntries' entries come from: popped from the index's head (then given back to it
// if the write fails) or read by a scan.
enum class EntryOrigin : std::uint8_t { kScanned, kPoppedFromHead };

class BulkTransitions {
 public:
  BulkTransitions(Database* database, const QueueRegistry* registry, IdLocks* id_locks,
                  const JobReader* reader, const IndexScanner* scanner,
                  std::shared_ptr<spdlog::logger> log)
      : database_(database),
        registry_(registry),
        id_locks_(id_locks),
        reader_(reader),
        scanner_(scanner),
        log_(std::move(log)) {}

  // Applies `edit` (false = leave this job alone) to every entry whose job is still `from` at
  // that key, under the ids' locks, in one batch; `fate` kRemoved removes the jobs instead of
  // moving them. `changed` (may be null) receives each job as written (as it was, when
  // removed). Returns how many changed. Precondition: no id lock held.
  Result<std::uint64_t> ApplyToEntries(QueueState* qs, JobState from,
                                       const std::vector<IndexHead::Entry>& entries,
                                       EntryOrigin origin, const std::function<bool(Job&)>& edit,
                                       JobFate fate, std::vector<Job>* changed = nullptr)
      EXCLUDES(qs->mu());

  // As the Store methods of the same names (store.h).
  Result<std::uint64_t> RetryAllFailed(std::string_view queue, std::vector<Job>* retried);
  Result<std::uint64_t> PromoteDue(std::string_view queue, std::int64_t now_ms, std::uint64_t limit,
                                   std::vector<Job>* promoted);
  Result<std::uint64_t> Clean(std::string_view queue, JobState state, std::int64_t older_than_ms,
                              std::uint64_t limit, std::vector<Job>* cleaned);

 private:
  // Pops up to `max` delayed entries due by `now_ms` from the delayed head.
  Result<std::vector<IndexHead::Entry>> PopDue(QueueState* qs, std::int64_t now_ms,
                                               std::uint64_t max) const EXCLUDES(qs->mu());

  Database* const database_;
  const QueueRegistry* const registry_;
  IdLocks* const id_locks_;
  const JobReader* const reader_;
  const IndexScanner* const scanner_;
  const std::shared_ptr<spdlog::logger> log_;
};

}  // namespace herald::storage
