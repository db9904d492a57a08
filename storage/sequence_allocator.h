// Internal to storage/ (names rocksdb types). SequenceAllocator: the job sequence numbers
// (the order of adds, and the generated ids), unique for the life of the store. Numbers are
// handed out by an atomic counter without a lock; a number is used only once the limit
// persisted in the meta column family is above it, and the limit is raised kBlock numbers at a
// time (one synced write per block), so that after a restart numbers continue without reuse.
//
// Thread safety: thread-safe. `database` is borrowed and must outlive it.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/database.h"

namespace herald::storage {

class SequenceAllocator {
 public:
  static constexpr std::uint64_t kBlock = std::uint64_t{1} << 16;

  explicit SequenceAllocator(Database* database) : database_(database) {}
  SequenceAllocator(const SequenceAllocator&) = delete;
  SequenceAllocator& operator=(const SequenceAllocator&) = delete;

  // Continues after the persisted limit. Call once, at open, before Allocate.
  Status Load();

  // The first of `n` consecutive numbers never handed out before. An error when the raised
  // limit could not be persisted (then none of them may be used).
  Result<std::uint64_t> Allocate(std::uint64_t n) EXCLUDES(raise_mu_) {
    std::uint64_t first = next_.fetch_add(n);
    if (first + n <= limit_.load(std::memory_order_acquire)) return first;
    HERALD_RETURN_IF_ERROR(RaiseLimit(first + n));
    return first;
  }

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

  Database* const database_;
  std::atomic<std::uint64_t> next_{1};
  std::atomic<std::uint64_t> limit_{1};
  Mutex raise_mu_;  // serialises raising the limit
};

}  // namespace herald::storage
