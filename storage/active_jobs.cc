#include "storage/active_jobs.h"

#include <functional>

namespace herald::storage {

std::size_t ActiveJobs::Cost(const Job& job) {
  return sizeof(Job) + job.id.size() * 2 + job.queue.size() + job.payload.size() +
         job.last_error.size() + job.return_value.size() + job.name.size() + HistoryBytes(job) + 64;
}

ActiveJobs::Shard& ActiveJobs::ShardOf(std::string_view id) {
  return shards_[std::hash<std::string_view>{}(id) % kShards];
}

const ActiveJobs::Shard& ActiveJobs::ShardOf(std::string_view id) const {
  return shards_[std::hash<std::string_view>{}(id) % kShards];
}

void ActiveJobs::Put(std::shared_ptr<const Job> job) {
  Shard& shard = ShardOf(job->id);
  MutexLock lock(&shard.mu);
  auto old = shard.jobs.find(job->id);
  if (old != shard.jobs.end()) {
    shard.bytes -= Cost(*old->second.job);
    shard.jobs.erase(old);
  }
  Found entry{std::move(job), true};
  if (entry.job->payload.size() > kMaxPayloadBytes ||
      shard.bytes + Cost(*entry.job) > kMaxBytes / kShards) {
    auto bare = std::make_shared<Job>(*entry.job);
    bare->payload.clear();
    bare->payload.shrink_to_fit();
    // The record has the attempts before this one (keys.h: the running one is only here).
    if (!bare->history.empty()) bare->history.erase(bare->history.begin(), bare->history.end() - 1);
    bare->history.shrink_to_fit();
    entry = Found{std::move(bare), false};
  }
  shard.bytes += Cost(*entry.job);
  std::string id = entry.job->id;
  shard.jobs.emplace(std::move(id), std::move(entry));
}

std::optional<ActiveJobs::Found> ActiveJobs::Find(std::string_view id) const {
  const Shard& shard = ShardOf(id);
  MutexLock lock(&shard.mu);
  if (shard.jobs.empty()) return std::nullopt;
  auto it = shard.jobs.find(std::string(id));
  if (it == shard.jobs.end()) return std::nullopt;
  return it->second;
}

void ActiveJobs::Erase(std::string_view id) {
  Shard& shard = ShardOf(id);
  MutexLock lock(&shard.mu);
  if (shard.jobs.empty()) return;
  auto it = shard.jobs.find(std::string(id));
  if (it == shard.jobs.end()) return;
  shard.bytes -= Cost(*it->second.job);
  shard.jobs.erase(it);
}

std::vector<ActiveJobs::Found> ActiveJobs::OfQueue(std::string_view queue) const {
  std::vector<Found> out;
  for (const Shard& shard : shards_) {
    MutexLock lock(&shard.mu);
    for (const auto& [id, found] : shard.jobs) {
      if (found.job->queue == queue) out.push_back(found);
    }
  }
  return out;
}

}  // namespace herald::storage
