#include "storage/id_locks.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <utility>

namespace herald::storage {

IdLocks::Guard::Guard(Guard&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), ids_(std::move(other.ids_)) {}

IdLocks::Guard& IdLocks::Guard::operator=(Guard&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    ids_ = std::move(other.ids_);
  }
  return *this;
}

IdLocks::Guard::~Guard() { Release(); }

void IdLocks::Guard::Release() {
  if (owner_ == nullptr) return;
  for (const auto& id : ids_) owner_->Unlock(id);
  ids_.clear();
  owner_ = nullptr;
}

IdLocks::Shard& IdLocks::ShardOf(std::string_view id) {
  return shards_[std::hash<std::string_view>{}(id) % kShards];
}

void IdLocks::LockOne(const std::string& id) {
  Shard& shard = ShardOf(id);
  MutexLock lock(&shard.mu);
  if (shard.held.insert(id).second) return;
  ++shard.waiters;
  // Waits on the Mutex itself (condition_variable_any), which MutexLock holds around it.
  shard.freed.wait(shard.mu,
                   [&]() NO_THREAD_SAFETY_ANALYSIS { return shard.held.insert(id).second; });
  --shard.waiters;
}

void IdLocks::Unlock(const std::string& id) {
  Shard& shard = ShardOf(id);
  bool notify = false;
  {
    MutexLock lock(&shard.mu);
    shard.held.erase(id);
    notify = shard.waiters > 0;
  }
  if (notify) shard.freed.notify_all();
}

IdLocks::Guard IdLocks::Lock(std::string_view id) {
  std::string owned(id);
  LockOne(owned);
  std::vector<std::string> ids;
  ids.push_back(std::move(owned));
  return Guard(this, std::move(ids));
}

IdLocks::Guard IdLocks::LockMany(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (const auto& id : ids) LockOne(id);
  return Guard(this, std::move(ids));
}

std::optional<IdLocks::Guard> IdLocks::TryLock(std::string_view id) {
  std::string owned(id);
  Shard& shard = ShardOf(owned);
  {
    MutexLock lock(&shard.mu);
    if (!shard.held.insert(owned).second) return std::nullopt;
  }
  std::vector<std::string> ids;
  ids.push_back(std::move(owned));
  return Guard(this, std::move(ids));
}

}  // namespace herald::storage
