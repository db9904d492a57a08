// Internal to storage/ (names rocksdb types). JobReader: reads a job as it is now. A job's
// record is in the "jobs" column family, except that an active job's record still reads as
// waiting (Take writes only a lease, keys.h): its state while active is in ActiveJobs.
//
// Thread safety: thread-safe. `database` and `active` are borrowed and must outlive it.
#pragma once

#include <string_view>

#include "common/status.h"
#include "storage/active_jobs.h"
#include "storage/database.h"
#include "storage/job.h"

namespace herald::storage {

class JobReader {
 public:
  JobReader(Database* database, const ActiveJobs* active) : database_(database), active_(active) {}

  // Job `id` as it is now (an active job as its lease made it). NotFound "job 7 not found".
  Result<Job> Read(std::string_view id) const;
  // Job `id`'s record as written (an active job's reads as waiting).
  Result<Job> ReadStored(std::string_view id) const;
  // An active job as kept in memory, with its payload and earlier attempts read from its
  // record when not kept.
  Result<Job> ReadActive(const ActiveJobs::Found& found) const;

 private:
  Database* const database_;
  const ActiveJobs* const active_;
};

}  // namespace herald::storage
