// Internal to storage/ (names rocksdb types). WalSyncer: group commit for `always` mode.
//
// Commit(batch) is how the store's writes are made durable. Callers join the group that is
// forming; its first caller leads it: once the group before is written it lets the callers
// that group woke queue again (yielding while more keep coming, so that with more writers than
// cores groups stay large), closes the group, writes all of its batches as one (one WAL record
// and one pass through RocksDB's write path; no write group to sleep in), hands the lead to the
// first caller of the next group, syncs (SyncWritten: the groups written while a sync runs
// share the next one) and wakes its group with one call. Each caller sleeps once (a leader
// twice); RocksDB's own `sync` writes make each caller sleep in the write queue and be woken on
// its own, and keep the queue closed during the fsync.
//
// SyncWritten() returns once a WAL sync (rocksdb::DB::SyncWAL) that started after the call has
// finished; the lists and strings use it for the writes they batch themselves. One caller at a
// time runs that sync, for every write made so far; the others wait for it to end (on an atomic:
// no mutex to queue on when they wake) and the first of them to look starts the next one.
//
// A write is visible to readers once written, before its sync, as in Redis with `appendfsync
// always`; its caller (and so the "added" reply) waits for the sync.
//
// Thread safety: thread-safe. `db` is borrowed and must outlive this object.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "storage/mutex.h"
#include "storage/status.h"

namespace herald::storage {

class WalSyncer {
 public:
  explicit WalSyncer(rocksdb::DB* db) : db_(db) {}

  // Writes `batch` and returns once it is in a synced WAL (or the write's or sync's error).
  Status Commit(rocksdb::WriteBatch* batch) EXCLUDES(queue_mu_);

  // Returns once every write that returned before this call is in a synced WAL; the error of
  // the sync that should have covered it otherwise.
  Status SyncWritten() EXCLUDES(failure_mu_);

  // WAL syncs made so far (fewer than the calls when they were grouped).
  std::uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }

 private:
  struct Waiter;
  struct Group;

  // Writes the batches of `group` (without a sync), setting each one's status; false when
  // none was written.
  bool WriteGroup(const std::vector<Waiter*>& group);

  rocksdb::DB* db_;
  rocksdb::WriteOptions write_options_;  // never syncs

  // Commit.
  Mutex queue_mu_;
  std::shared_ptr<Group> forming_ GUARDED_BY(queue_mu_);  // the next group, not written yet
  std::atomic<std::size_t> queued_{0};                    // forming_'s size, read without the mutex
  bool writing_ GUARDED_BY(queue_mu_) = false;  // a leader is filling or writing its group

  // SyncWritten. Calls so far: a sync that starts after reading `n` covers the calls <= n.
  std::atomic<std::uint64_t> tickets_{0};
  std::atomic<bool> syncing_{false};           // a caller is running a sync
  std::atomic<std::uint64_t> synced_{0};       // tickets covered by a finished sync
  std::atomic<std::uint64_t> failed_{0};       // tickets covered by the last failed sync
  std::atomic<std::uint32_t> syncs_ended_{0};  // bumped after each sync; waited on
  std::atomic<std::uint64_t> syncs_{0};
  Mutex failure_mu_;
  Status failure_ GUARDED_BY(failure_mu_);
};

}  // namespace herald::storage
