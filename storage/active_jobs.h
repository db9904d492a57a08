// Internal to storage/. ActiveJobs: every active job, as Take made it active. The job's record
// on disk still reads as it was when waiting (Take writes only a lease into the waiting index,
// see keys.h), so this is where an active job's state, attempt count and processed time live
// while the process runs; reads and transitions of the job go through it.
//
// Coherent because a job becomes active and stops being active only under its id lock
// (IdLocks): Take Puts after writing the lease, and a transition out of active Erases after
// writing the record. Memory: a job whose payload is large, or beyond the byte budget, is kept
// without its payload and with only its running attempt in its history (the payload and the
// attempts before on disk are the same; the caller reads them from there).
//
// Thread safety: thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "storage/job.h"

namespace herald::storage {

class ActiveJobs {
 public:
  static constexpr std::size_t kMaxPayloadBytes = 16 << 10;
  static constexpr std::size_t kMaxBytes = 32 << 20;

  struct Found {
    std::shared_ptr<const Job> job;
    // false: job->payload is empty and job->history holds only the running attempt; the
    // record on disk has the payload and the attempts before it.
    bool payload_kept = true;
  };

  ActiveJobs() = default;
  ActiveJobs(const ActiveJobs&) = delete;
  ActiveJobs& operator=(const ActiveJobs&) = delete;

  // Keeps `job` as active (replacing any entry of that id). Call while holding the job's id
  // lock, after its lease was written.
  void Put(std::shared_ptr<const Job> job);
  // The active job `id`; nullopt when it is not active.
  std::optional<Found> Find(std::string_view id) const;
  // Forgets `id`. Call while holding the job's id lock, after the write that ended its lease.
  void Erase(std::string_view id);
  // Every active job of `queue` (payloads as kept), in no particular order.
  std::vector<Found> OfQueue(std::string_view queue) const;

 private:
  static constexpr std::size_t kShards = 16;
  static std::size_t Cost(const Job& job);
  struct Shard {
    mutable Mutex mu;
    std::unordered_map<std::string, Found> jobs GUARDED_BY(mu);
    std::size_t bytes GUARDED_BY(mu) = 0;
  };
  Shard& ShardOf(std::string_view id);
  const Shard& ShardOf(std::string_view id) const;

  Shard shards_[kShards];
};

}  // namespace herald::storage
