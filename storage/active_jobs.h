// Internal to storage/. ActiveJobs: the records of active jobs as Take wrote them, so that the
// Complete / FailRetry / FailFinal / Requeue that follows needs no read from the database.
//
// Coherent because a job's record is only written under its id lock (IdLocks), and every
// writer of an active job's record either is Take (which Puts the record it wrote) or first
// Removes the entry. Bounded: jobs whose payload is large are not kept, and beyond the budget
// nothing more is kept (those jobs are read from the database instead).
//
// Thread safety: thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "storage/job.h"
#include "storage/mutex.h"

namespace herald::storage {

class ActiveJobs {
 public:
  static constexpr std::size_t kMaxPayloadBytes = 16 << 10;
  static constexpr std::size_t kMaxBytes = 32 << 20;

  ActiveJobs() = default;
  ActiveJobs(const ActiveJobs&) = delete;
  ActiveJobs& operator=(const ActiveJobs&) = delete;

  // Keeps `job` (replacing any record of that id), unless it is too big or over budget.
  // Call while holding the job's id lock, after its record was written.
  void Put(std::shared_ptr<const Job> job);
  // The kept record of `id`, removed from here; nullptr when none. Call while holding the
  // job's id lock, before writing its record.
  std::shared_ptr<const Job> Remove(std::string_view id);

 private:
  static constexpr std::size_t kShards = 16;
  static std::size_t Cost(const Job& job);
  struct Shard {
    Mutex mu;
    std::unordered_map<std::string, std::shared_ptr<const Job>> jobs GUARDED_BY(mu);
    std::size_t bytes GUARDED_BY(mu) = 0;
  };
  Shard& ShardOf(std::string_view id);

  Shard shards_[kShards];
};

}  // namespace herald::storage
