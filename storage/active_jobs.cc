#include "storage/active_jobs.h"

#include <functional>

namespace herald::storage {

std::size_t ActiveJobs::Cost(const Job& job) {
  return sizeof(Job) + job.id.size() * 2 + job.queue.size() + job.payload.size() +
         job.last_error.size() + job.return_value.size() + 64;
}

ActiveJobs::Shard& ActiveJobs::ShardOf(std::string_view id) {
  return shards_[std::hash<std::string_view>{}(id) % kShards];
}

void ActiveJobs::Put(std::shared_ptr<const Job> job) {
  Shard& shard = ShardOf(job->id);
  MutexLock lock(&shard.mu);
  auto old = shard.jobs.find(job->id);
  if (old != shard.jobs.end()) {
    shard.bytes -= Cost(*old->second);
    shard.jobs.erase(old);
  }
  std::size_t cost = Cost(*job);
  if (job->payload.size() > kMaxPayloadBytes || shard.bytes + cost > kMaxBytes / kShards) return;
  shard.bytes += cost;
  std::string id = job->id;
  shard.jobs.emplace(std::move(id), std::move(job));
}

std::shared_ptr<const Job> ActiveJobs::Remove(std::string_view id) {
  Shard& shard = ShardOf(id);
  MutexLock lock(&shard.mu);
  if (shard.jobs.empty()) return nullptr;
  auto it = shard.jobs.find(std::string(id));
  if (it == shard.jobs.end()) return nullptr;
  std::shared_ptr<const Job> job = std::move(it->second);
  shard.bytes -= Cost(*job);
  shard.jobs.erase(it);
  return job;
}

}  // namespace herald::storage
