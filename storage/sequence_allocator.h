// Internal to storage/ (names rocksdb types). SequenceAllocator: the job sequence numbers
// (the order of adds, and the generated ids), unique for the life of the store. Numbers are
// handed out by an atomic counter without a lock; a number is used only once the limit
// persisted in the meta column family is above it, and the limit is raised kBlock numbers at a
// time (one synced write per block), so that after a restart numbers continue without reuse.
// The raise is written ahead, by a thread of the allocator's own, once half of the block is
// handed out: callers (the I/O threads among them) wait for that sync only when they use a
// block up faster than one sync takes.
//
// Thread safety: thread-safe. `database` is borrowed and must outlive it.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <stop_token>
#include <thread>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/database.h"

namespace herald::storage {

class SequenceAllocator {
 public:
  static constexpr std::uint64_t kBlock = std::uint64_t{1} << 16;

  explicit SequenceAllocator(Database* database) : database_(database) {}
  ~SequenceAllocator();  // stops the thread that raises the limit ahead
  SequenceAllocator(const SequenceAllocator&) = delete;
  SequenceAllocator& operator=(const SequenceAllocator&) = delete;

  // Continues after the persisted limit and starts the thread that raises it ahead. Call once,
  // at open, before Allocate.
  Status Load();

  // The first of `n` consecutive numbers never handed out before. An error when the raised
  // limit could not be persisted (then none of them may be used).
  Result<std::uint64_t> Allocate(std::uint64_t n) EXCLUDES(raise_mu_, ahead_mu_) {
    std::uint64_t first = next_.fetch_add(n);
    const std::uint64_t limit = limit_.load(std::memory_order_acquire);
    if (first + n <= limit) {
      if (limit - (first + n) < kBlock / 2) RaiseAhead();
      return first;
    }
    raises_waited_for_.fetch_add(1);
    HERALD_RETURN_IF_ERROR(RaiseLimit(first + n));
    return first;
  }

  // Numbers below this may be handed out without waiting for a sync.
  std::uint64_t limit() const { return limit_.load(std::memory_order_acquire); }
  // Allocations that had to wait for a raise of the limit (tests: how often adds synced).
  std::uint64_t raises_waited_for() const { return raises_waited_for_.load(); }

  // Makes every number handed out from now on greater than `value` (a job imported with the
  // decimal id `value`, which a generated id must never repeat).
  Status SkipPast(std::uint64_t value) EXCLUDES(raise_mu_) {
    std::uint64_t next = next_.load();
    while (next <= value && !next_.compare_exchange_weak(next, value + 1)) {
    }
    return RaiseLimit(next_.load());
  }

 private:
  // Persists a limit above `end` (unless one is already), then publishes it.
  Status RaiseLimit(std::uint64_t end) EXCLUDES(raise_mu_);
  // Asks the raiser thread for a limit a block further (once until it has raised it).
  void RaiseAhead() EXCLUDES(ahead_mu_);
  void RaiseAheadLoop(std::stop_token stop) EXCLUDES(ahead_mu_);

  Database* const database_;
  std::atomic<std::uint64_t> next_{1};
  std::atomic<std::uint64_t> limit_{1};
  std::atomic<std::uint64_t> raises_waited_for_{0};
  Mutex raise_mu_;  // serialises raising the limit
  Mutex ahead_mu_;
  std::condition_variable_any ahead_cv_;
  bool ahead_wanted_ GUARDED_BY(ahead_mu_) = false;
  std::atomic<bool> ahead_asked_{false};  // set from the ask until that raise is done
  std::jthread raiser_;                   // started by Load(); last member: stopped first
};

}  // namespace herald::storage
