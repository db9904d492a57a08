// Internal to storage/ (names rocksdb types). Database: the store's RocksDB database and its
// column families, opened together at start (with the format version in the meta column family
// checked), and the one way the store writes: Write() makes a batch durable under the store's
// FsyncMode (in `always` mode through WalSyncer's group commit, once EnableGroupCommit() ran;
// under a SyncDeferral its caller waits for the sync instead).
//
// Owns every column family handle it opened or created; they are destroyed, after a last WAL
// sync, before the database closes.
//
// Thread safety: thread-safe, except EnableGroupCommit and EndGroupCommit, which run while no
// other thread uses the object (at open and at close).
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/keys.h"
#include "storage/rocks_status.h"
#include "storage/rocks_tuning.h"
#include "storage/store.h"
#include "storage/sync_deferral.h"
#include "storage/wal_syncer.h"
#include "storage/wal_watch.h"

namespace spdlog {
class logger;
}

namespace herald::storage {

class Database {
 public:
  // Opens (creating it when missing) the database in options.data_dir with every column family
  // it has plus the system ones. Corruption when its format version is not this build's.
  static Result<std::unique_ptr<Database>> Open(const StoreOptions& options,
                                                std::shared_ptr<spdlog::logger> log);
  ~Database();  // syncs the WAL, flushes the memtables and closes
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  const RocksTuning& tuning() const { return tuning_; }
  rocksdb::ColumnFamilyHandle* meta() const { return meta_; }
  rocksdb::ColumnFamilyHandle* jobs() const { return jobs_; }
  rocksdb::ColumnFamilyHandle* prefs() const { return prefs_; }
  rocksdb::ColumnFamilyHandle* inbox() const { return inbox_; }
  rocksdb::ColumnFamilyHandle* sent() const { return sent_; }
  rocksdb::ColumnFamilyHandle* tickets() const { return tickets_; }
  // The column family of each database of lists and strings found at open (null: none yet).
  const std::array<rocksdb::ColumnFamilyHandle*, kKvDatabases>& kv_cfs() const { return kv_cfs_; }
  // The queue column families found at open, for QueueRegistry::Load (which may drop some:
  // read it only before then).
  const std::vector<rocksdb::ColumnFamilyHandle*>& queue_cfs() const { return queue_cfs_; }

  // Creates column family `name` (one at a time: each rewrites the OPTIONS file); `what` names
  // it in the error. The handle stays owned by this object.
  Result<rocksdb::ColumnFamilyHandle*> CreateColumnFamily(const std::string& name,
                                                          const rocksdb::ColumnFamilyOptions& cf,
                                                          std::string_view what)
      EXCLUDES(create_mu_, handles_mu_);
  // Creates the column family of database `db` of lists and strings (KvStoreImpl::CreateCf).
  Result<rocksdb::ColumnFamilyHandle*> CreateKvColumnFamily(int db)
      EXCLUDES(create_mu_, handles_mu_);
  // Drops the column family of `h` and destroys `h` (even when the drop fails).
  Status DropColumnFamily(rocksdb::ColumnFamilyHandle* h) EXCLUDES(handles_mu_);

  // Writes `batch`; in `always` mode returns once it is in a synced WAL (group commit), unless
  // the calling thread is in a SyncDeferral (then it returns once written, unsynced).
  Status Write(rocksdb::WriteBatch* batch, std::string_view what) {
    writes_.fetch_add(1, std::memory_order_relaxed);
    Status status = wal_syncer_ && !SyncDeferral::active()
                        ? wal_syncer_->Commit(batch).WithPrefix(what)
                        : FromRocks(db_->Write(write_options_, batch), what);
    NoteWriteOutcome(status);
    return status;
  }
  // Counts a write (or a sync covering writes) that failed, for WriteHealth; an OK one clears
  // the failed state.
  void NoteWriteOutcome(const Status& status) {
    if (!status.ok()) RecordFailure(status);
    // Written only on a change, so that writers on many threads only read the line.
    if (last_write_failed_.load(std::memory_order_relaxed) != !status.ok()) {
      last_write_failed_.store(!status.ok(), std::memory_order_relaxed);
    }
  }
  // Whether writes go through: the error of the last Write() when it failed, or the WAL's
  // sticky error (wal_watch.h); OK otherwise.
  Status WriteHealth() const;
  // Writes that failed so far.
  std::uint64_t write_failures() const { return write_failures_.load(std::memory_order_relaxed); }
  // One Put, synced whatever the FsyncMode (the format version, registry rows, sequence
  // limits).
  Status PutSynced(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string_view value,
                   std::string_view what);
  // Writes out and syncs the WAL; a failed WAL write's error from then on (see wal_watch.h).
  Status SyncWal() {
    HERALD_RETURN_IF_ERROR(wal_fs_->wal_error());
    return FromRocks(db_->FlushWAL(/*sync=*/true), "sync WAL");
  }

  // `always` mode: from now on Write() goes through a WalSyncer.
  void EnableGroupCommit();
  // Finishes the asynchronous commits still queued; Write() then writes without the syncer.
  void EndGroupCommit();
  // Batches written through Write() so far (a job's change is one).
  std::uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }
  // The group commit, or null when not enabled.
  WalSyncer* wal_syncer() const { return wal_syncer_.get(); }

  // Online backup into an empty directory (RocksDB checkpoint).
  Status Checkpoint(const std::string& dir) const;
  // Store::VerifyChecksums.
  Status VerifyChecksums() const {
    return FromRocks(db_->VerifyChecksum(), "verify the checksums of " + data_dir_);
  }
  // Approximate bytes on disk (SST + WAL) and in memtables.
  std::uint64_t DiskBytes() const;
  std::uint64_t MemtableBytes() const;

 private:
  Database(const StoreOptions& options, std::shared_ptr<spdlog::logger> log);
  void RecordFailure(const Status& status) EXCLUDES(failure_mu_);
  Status OpenColumnFamilies();
  Status CheckFormat();

  const std::string data_dir_;
  std::shared_ptr<spdlog::logger> log_;
  const RocksTuning tuning_;
  const std::function<Status()> before_wal_sync_;  // StoreOptions::before_wal_sync
  rocksdb::WriteOptions write_options_;            // never syncs: in `always` mode wal_syncer_ does
  rocksdb::WriteOptions sync_write_options_;
  // Declared before db_, which uses them until it is closed.
  std::shared_ptr<WalWatchFs> wal_fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<WalSyncer> wal_syncer_;  // `always` mode only
  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> write_failures_{0};
  std::atomic<bool> last_write_failed_{false};
  mutable Mutex failure_mu_;
  Status last_failure_ GUARDED_BY(failure_mu_);

  Mutex create_mu_;  // serialises column family creation (slow: rewrites OPTIONS)
  mutable Mutex handles_mu_;
  // Every open column family handle, destroyed before the database closes.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_ GUARDED_BY(handles_mu_);
  // Set by Open only.
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* jobs_ = nullptr;
  std::array<rocksdb::ColumnFamilyHandle*, kKvDatabases> kv_cfs_{};
  rocksdb::ColumnFamilyHandle* prefs_ = nullptr;
  rocksdb::ColumnFamilyHandle* inbox_ = nullptr;
  rocksdb::ColumnFamilyHandle* sent_ = nullptr;
  rocksdb::ColumnFamilyHandle* tickets_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> queue_cfs_;
};

}  // namespace herald::storage
