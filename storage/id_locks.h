// Internal to storage/. IdLocks: a lock per job id, held while a transition reads a job's
// record, checks its state and writes the batch, so that two transitions of one job (two ACKs,
// an ACK racing a DELJOB, two adds of one custom id) are serialised while transitions of
// different jobs, and their synced writes, run in parallel and share a WAL fsync.
//
// Deadlock freedom: a thread holds either one id, or several taken through LockMany (in sorted
// order); while holding ids it may TryLock more, and may take a queue mutex, but never waits
// for an id. Never call Lock or LockMany while holding a queue mutex.
//
// Thread safety: thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/mutex.h"

namespace herald::storage {

class IdLocks {
 public:
  // Holds some ids; releases them when destroyed.
  class Guard {
   public:
    Guard() = default;
    Guard(Guard&& other) noexcept;
    Guard& operator=(Guard&& other) noexcept;
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    friend class IdLocks;
    Guard(IdLocks* owner, std::vector<std::string> ids) : owner_(owner), ids_(std::move(ids)) {}
    void Release();
    IdLocks* owner_ = nullptr;
    std::vector<std::string> ids_;
  };

  IdLocks() = default;
  IdLocks(const IdLocks&) = delete;
  IdLocks& operator=(const IdLocks&) = delete;

  // Blocks until `id` is free, then holds it.
  Guard Lock(std::string_view id);
  // Holds every id (duplicates allowed), taken in sorted order.
  Guard LockMany(std::vector<std::string> ids);
  // Holds `id` if it is free right now.
  std::optional<Guard> TryLock(std::string_view id);

 private:
  static constexpr std::size_t kShards = 16;
  struct Shard {
    Mutex mu;
    std::condition_variable_any freed;
    std::unordered_set<std::string> held GUARDED_BY(mu);
    std::size_t waiters GUARDED_BY(mu) = 0;
  };

  Shard& ShardOf(std::string_view id);
  void LockOne(const std::string& id);
  void Unlock(const std::string& id);

  Shard shards_[kShards];
};

}  // namespace herald::storage
