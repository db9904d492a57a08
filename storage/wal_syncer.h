// Internal to storage/ (names rocksdb types). WalSyncer: group commit for `always` mode.
//
// Commit(batch) is how the store's writes are made durable. Callers join the group that is
// forming; its first caller writes the group once the group before is written: all of its
// batches as one (one WAL record and one pass through RocksDB's write path, no write group to
// sleep in), then hands the writing to the first caller of the next group. A written group
// waits for a WAL sync (rocksdb::DB::SyncWAL). One sync runs at a time and covers every group
// written before it started; the groups written while it runs wait for the next one, which the
// first caller of the oldest of them runs, handed over by the caller that ran the sync before.
// So writing overlaps syncing, groups are not made to wait for each other to fill, and each
// caller sleeps once (a group's first caller twice), woken with its whole group by one call.
// RocksDB's own `sync` writes make each caller sleep in the write queue and be woken on its
// own, and keep the queue closed during the fsync.
//
// SyncWritten() is for writes made elsewhere (the lists and strings batch theirs): a group of
// its caller alone, with nothing to write, waiting for the next sync.
//
// CommitAsync(batch, done) is Commit for callers that keep many writes in flight from few
// threads (an event loop, a producer pipelining adds): nobody sleeps per write. A thread of the
// syncer's own writes every batch queued so far as one and hands them on; another waits for a
// sync covering all handed on so far (as a SyncWritten caller) and calls each `done` with its
// status, in the order queued. The next batches are written while a sync runs.
//
// SyncAsync(done) is SyncWritten for a caller that must not sleep (an I/O thread whose
// writes were made under a SyncDeferral): `done` is called once a sync covering every write
// made before the call is done. It joins the syncs of Commit's callers; when none runs, the
// syncer's own sync thread runs one. Before each sync that thread lets the callers gather, as
// many as (`waiters` counted) the sync before covered, for at most half a sync's time: clients
// answered by one sync come back at slightly different moments, and without the wait the
// first of them would get a sync of its own and the others the next one.
//
// A write is visible to readers once written, before its sync, as in Redis with `appendfsync
// always`; its caller (and so the "added" reply) waits for the sync.
//
// Thread safety: thread-safe. `db` is borrowed and must outlive this object.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/wal_watch.h"

namespace herald::storage {

class WalSyncer {
 public:
  // `wal` (optional, borrowed): asked before each sync whether a WAL write failed.
  // `before_sync` (optional): see StoreOptions::before_wal_sync.
  explicit WalSyncer(rocksdb::DB* db, const WalWatchFs* wal = nullptr,
                     std::function<Status()> before_sync = {})
      : db_(db),
        wal_(wal),
        before_sync_(std::move(before_sync)),
        synced_seq_(db->GetLatestSequenceNumber()) {}
  // Finishes the asynchronous commits queued (written and synced, or failed).
  ~WalSyncer();

  // Writes `batch` and returns once it is in a synced WAL (or the write's or sync's error).
  Status Commit(rocksdb::WriteBatch* batch) EXCLUDES(queue_mu_, sync_mu_);

  // Returns once every write that returned before this call is in a synced WAL; the error of
  // the sync that should have covered it otherwise.
  Status SyncWritten() EXCLUDES(sync_mu_);

  // Queues `batch`; `done` gets its status once it is in a synced WAL (or the error), on the
  // syncer's thread. `done` may queue more.
  void CommitAsync(rocksdb::WriteBatch batch, std::function<void(Status)> done) EXCLUDES(async_mu_);

  // Calls `done` with the status of a sync covering every write that returned before this
  // call, on the thread that ran that sync (the syncer's, or a Commit caller's). `done` must be
  // quick (post to a strand).
  // `waiters`: how many clients wait on `done` (a committer answering several), for the
  // gathering before a sync.
  void SyncAsync(std::function<void(Status)> done, std::size_t waiters = 1) EXCLUDES(sync_mu_);

  // Whether every write made so far is in a synced WAL (nothing for SyncAsync to wait for).
  bool AllSynced() const {
    return db_->GetLatestSequenceNumber() <= synced_seq_.load(std::memory_order_acquire);
  }

  // WAL syncs made so far (fewer than the calls when they were grouped).
  std::uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }

 private:
  struct Waiter;
  struct Group;

  // Writes the batches of `group` (without a sync), setting each one's status; false when
  // none was written.
  bool WriteGroup(const std::vector<Waiter*>& group);
  // Queues `group` (written, with `first` its first member) for the next sync and returns
  // `first`'s status once that sync is done, running it when no sync runs.
  Status AwaitSync(std::shared_ptr<Group> group, Waiter* first) EXCLUDES(sync_mu_);
  // Syncs for every queued group and SyncAsync call, hands the next sync to the first of a
  // group queued meanwhile (or the sync thread), wakes the synced groups. `runner` is the
  // calling member; null for the sync thread, which keeps syncing while anything is queued.
  void RunSync(Waiter* runner) EXCLUDES(sync_mu_);
  // The sync thread: runs RunSync(nullptr) whenever it is handed the sync.
  void SyncLoop(std::stop_token stop) EXCLUDES(sync_mu_);
  // The sync thread, before a sync: waits for the SyncAsync callers to gather (see above).
  void GatherLocked() REQUIRES(sync_mu_);
  // Wakes the members of `group` but `caller`, their statuses set.
  static void Finish(Group* group, Waiter* caller);
  // CommitAsync's two threads: the writer writes what is queued, as one batch, and hands it to
  // the completer, which waits for a sync covering everything handed over so far and calls
  // back. Writing the next batches overlaps the sync.
  void WriteLoop(std::stop_token stop) EXCLUDES(async_mu_, written_mu_);
  void CompleteLoop(std::stop_token stop) EXCLUDES(written_mu_);

  rocksdb::DB* db_;
  const WalWatchFs* wal_;
  const std::function<Status()> before_sync_;
  rocksdb::WriteOptions write_options_;  // never syncs

  Mutex queue_mu_;
  std::shared_ptr<Group> forming_ GUARDED_BY(queue_mu_);  // the next group, not written yet
  bool writing_ GUARDED_BY(queue_mu_) = false;            // a first writes its group

  Mutex sync_mu_;
  std::vector<std::shared_ptr<Group>> unsynced_ GUARDED_BY(sync_mu_);  // written, waiting
  bool syncing_ GUARDED_BY(sync_mu_) = false;                          // a member runs a sync
  std::vector<std::function<void(Status)>> async_syncs_ GUARDED_BY(sync_mu_);  // SyncAsync
  std::size_t async_waiters_ GUARDED_BY(sync_mu_) = 0;       // their waiters, summed
  std::size_t last_async_waiters_ GUARDED_BY(sync_mu_) = 0;  // covered by the last sync
  std::chrono::nanoseconds last_sync_time_ GUARDED_BY(sync_mu_){0};
  bool sync_thread_turn_ GUARDED_BY(sync_mu_) = false;  // the sync thread is to run the next
  std::condition_variable_any sync_cv_;                 // the sync thread waits here
  std::jthread sync_thread_;                            // started by the first SyncAsync
  std::atomic<std::uint64_t> syncs_{0};
  // The WAL holds every write up to this sequence number synced.
  std::atomic<rocksdb::SequenceNumber> synced_seq_;

  struct AsyncWrite {
    rocksdb::WriteBatch batch;
    std::function<void(Status)> done;
  };
  struct Written {
    std::function<void(Status)> done;
    Status status;  // of the write
  };
  Mutex async_mu_;
  std::condition_variable_any async_cv_;
  std::vector<AsyncWrite> async_queue_ GUARDED_BY(async_mu_);
  Mutex written_mu_;
  std::condition_variable_any written_cv_;
  std::vector<Written> written_ GUARDED_BY(written_mu_);
  // Started by the first CommitAsync (under async_mu_); the writer stops first.
  std::jthread async_completer_;
  std::jthread async_writer_;
};

}  // namespace herald::storage
