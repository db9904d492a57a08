#include "storage/job_reader.h"

#include <optional>
#include <string>
#include <vector>

namespace herald::storage {

Result<Job> JobReader::Read(std::string_view id) const {
  // An active job: its record on disk still reads as waiting (keys.h, leases).
  if (std::optional<ActiveJobs::Found> found = active_->Find(id)) return ReadActive(*found);
  return ReadStored(id);
}

Result<Job> JobReader::ReadActive(const ActiveJobs::Found& found) const {
  if (found.payload_kept) return Job(*found.job);
  HERALD_ASSIGN_OR_RETURN(Job stored, ReadStored(found.job->id));
  Job job(*found.job);
  job.payload = std::move(stored.payload);
  // The record's attempts, then the running one (kept as the take made it).
  std::vector<Attempt> running = std::move(job.history);
  job.history = std::move(stored.history);
  for (Attempt& a : running) {
    if (job.history.size() >= kMaxAttemptHistory) job.history.erase(job.history.begin());
    job.history.push_back(std::move(a));
  }
  return job;
}

Result<Job> JobReader::ReadStored(std::string_view id) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = database_->db()->Get(rocksdb::ReadOptions(), database_->jobs(), id, &value);
  if (s.IsNotFound()) return Status::NotFound("job " + std::string(id) + " not found");
  HERALD_RETURN_IF_ERROR(FromRocks(s, "read job " + std::string(id)));
  Result<Job> job = DecodeJob(std::string_view(value.data(), value.size()));
  if (!job.ok()) return job.status().WithPrefix("job " + std::string(id));
  return job;
}

}  // namespace herald::storage
