// Internal to storage/ (names rocksdb types). JobLister: Store::List, pages of the jobs of a
// queue in one state, in index order; active jobs, which have no index of their own while they
// are active (keys.h, leases), from ActiveJobs in add order.
//
// Thread safety: thread-safe. Every pointer is borrowed and must outlive it.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"
#include "storage/active_jobs.h"
#include "storage/database.h"
#include "storage/job_reader.h"
#include "storage/queue_registry.h"
#include "storage/store.h"

namespace herald::storage {

class JobLister {
 public:
  JobLister(Database* database, const QueueRegistry* registry, const JobReader* reader,
            const ActiveJobs* active)
      : database_(database), registry_(registry), reader_(reader), active_(active) {}

  // As Store::List (store.h).
  Result<JobPage> List(std::string_view queue, JobState state, std::string_view cursor,
                       std::uint32_t count) const;

 private:
  Result<JobPage> ListIndex(QueueState* qs, JobState state, std::string_view cursor,
                            std::uint32_t count) const;
  Result<JobPage> ListActive(std::string_view queue, std::string_view cursor,
                             std::uint32_t count) const;

  Database* const database_;
  const QueueRegistry* const registry_;
  const JobReader* const reader_;
  const ActiveJobs* const active_;
};

}  // namespace herald::storage
