// Internal to storage/ (names rocksdb types). QueueState: what the store keeps in memory per
// queue: its counters and pause flag (QueueCounts), the heads of its waiting, delayed and
// completed indexes (IndexHead, queue_index.h), and the completed entries claimed by Completes
// in flight for deletion. Apply() brings them up to date with a written Change.
//
// Thread safety: name() and cf() are immutable; everything else is guarded by mu(), which
// callers hold (MutexLock lock(&qs->mu())). Never wait for an id lock while holding it
// (id_locks.h). The column family handle is borrowed from Database and outlives the object.
#pragma once

#include <rocksdb/db.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/mutex.h"
#include "storage/job.h"
#include "storage/job_change.h"
#include "storage/queue_index.h"
#include "storage/store.h"

namespace herald::storage {

// Every job state, for walking the counters of a QueueCounts.
inline constexpr JobState kJobStates[] = {JobState::kWaiting, JobState::kActive, JobState::kDelayed,
                                          JobState::kCompleted, JobState::kFailed};
// The counter of `state` in `counts`.
std::uint64_t& CountOf(QueueCounts& counts, JobState state);

class QueueState {
 public:
  // Waiting jobs whose payload and history (HistoryBytes) take up to this size are kept with
  // their index entry in memory, so that Take needs no read.
  static constexpr std::size_t kMaxKeptPayload = 4096;

  QueueState(std::string name, rocksdb::ColumnFamilyHandle* cf) : name_(std::move(name)), cf_(cf) {}
  QueueState(const QueueState&) = delete;
  QueueState& operator=(const QueueState&) = delete;

  const std::string& name() const { return name_; }
  rocksdb::ColumnFamilyHandle* cf() const { return cf_; }
  Mutex& mu() const LOCK_RETURNED(mu_) { return mu_; }

  QueueCounts& counts() REQUIRES(mu_) { return counts_; }
  IndexHead& waiting() REQUIRES(mu_) { return waiting_; }
  IndexHead& delayed() REQUIRES(mu_) { return delayed_; }
  IndexHead& completed() REQUIRES(mu_) { return completed_; }
  // The head of `state`'s index; null for the states without one (active, failed).
  IndexHead* HeadOf(JobState state) REQUIRES(mu_);

  // Completed entries claimed for deletion by Completes in flight (completed_retention.h).
  std::uint64_t prune_claimed() const REQUIRES(mu_) { return prune_claimed_; }
  void set_prune_claimed(std::uint64_t n) REQUIRES(mu_) { prune_claimed_ = n; }

  // After the batch with `c` was written: counters and heads.
  void Apply(const Change& c) REQUIRES(mu_);

 private:
  const std::string name_;
  rocksdb::ColumnFamilyHandle* const cf_;

  mutable Mutex mu_;
  QueueCounts counts_ GUARDED_BY(mu_);
  IndexHead waiting_ GUARDED_BY(mu_){"w|"};
  IndexHead delayed_ GUARDED_BY(mu_){"d|"};
  IndexHead completed_ GUARDED_BY(mu_){"c|"};
  std::uint64_t prune_claimed_ GUARDED_BY(mu_) = 0;
};

}  // namespace herald::storage
