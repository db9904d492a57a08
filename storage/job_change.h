// Internal to storage/ (names rocksdb types). Change: one job's transition as planned under its
// id lock (IdLocks), and how it is written: AddToBatch puts it into the transition's
// WriteBatch (index keys in the queue's column family, the record in "jobs"; keys.h). Applying
// it to memory is QueueState::Apply, once the batch is written.
//
// Thread safety: plain values and a pure function.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/job.h"
#include "storage/keys.h"

namespace herald::storage {

// Room reserved in a transition's WriteBatch (its header, and per job besides the payload: the
// rest of the record and the index keys), so that the batch is allocated once.
inline constexpr std::size_t kBatchHeaderBytes = 64;
inline constexpr std::size_t kBatchBytesPerJob = 256;
// Jobs per WriteBatch in bulk operations (PromoteDue, RetryAllFailed, Clean, recovery).
inline constexpr std::size_t kBulkChunk = 256;

// Whether a transition keeps the job (in its new state) or removes it, record and all.
enum class JobFate : std::uint8_t { kKept, kRemoved };

struct Change {
  Job job;                       // after the change
  std::optional<JobState> from;  // nullopt for an add
  std::string old_key;           // index key before ("" for an add)
  std::string new_key;           // index key after ("" when removed)
  JobFate fate = JobFate::kKept;
};

// Adds `c` to `batch`: `queue_cf` is the job's queue's column family, `jobs_cf` the records'.
// Also moves the job's count: -1 for the state it leaves, +1 for the one it enters (keys.h,
// "m|n|"), as QueueState::Apply does in memory.
inline void AddToBatch(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* queue_cf,
                       rocksdb::ColumnFamilyHandle* jobs_cf, const Change& c) {
  static const std::string kMinusOne = keys::EncodeCount(-1);
  static const std::string kPlusOne = keys::EncodeCount(1);
  if (c.from) batch->Merge(queue_cf, keys::CountKey(*c.from), kMinusOne);
  if (c.fate == JobFate::kKept) batch->Merge(queue_cf, keys::CountKey(c.job.state), kPlusOne);
  if (c.from == JobState::kWaiting && c.job.state == JobState::kActive) {
    // A take: the lease at the job's waiting key, with who runs the attempt the take began;
    // the record stays as it was (keys.h).
    const std::string_view worker =
        c.job.history.empty() ? std::string_view() : std::string_view(c.job.history.back().worker);
    batch->Put(queue_cf, c.old_key,
               keys::EncodeLease(c.job.id, c.job.attempts_made, c.job.processed_ms, worker));
    return;
  }
  if (!c.old_key.empty() && c.old_key != c.new_key) batch->Delete(queue_cf, c.old_key);
  if (c.fate == JobFate::kRemoved) {
    batch->Delete(jobs_cf, c.job.id);
    return;
  }
  batch->Put(queue_cf, c.new_key, c.job.id);
  batch->Put(jobs_cf, c.job.id, EncodeJob(c.job));
}

}  // namespace herald::storage
