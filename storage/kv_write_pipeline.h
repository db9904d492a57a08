// Internal to storage/ (names rocksdb types). KvWritePipeline: the path of every write of the
// lists and strings of all databases (kKvDatabases of them) to the WAL, and what reads need to
// see those writes on the way. Database 0 lives in the "kv" column family, database n in
// "kv.<n>", created by the first write to it (through the store's CreateCf).
//
// Writes to every database are serialised on mu() (a read-modify-write of a list header must
// not interleave with another); a write holds it through a KvWrite (storage/kv_write.h). A
// write puts its rows into the pending rows of its database (the latest value of each row it
// wrote, which reads look at before the database) and gets a ticket (a number counting the
// writes of every database). The pending rows of all databases are written to the WAL, all of
// it in one rocksdb::DB::Write and under mu() (so the WAL holds the writes in ticket order,
// whatever their database), when a writer without a KvWriteGroup needs its write out, a group
// commits, a read needs the database to hold everything (iterators), or they grow past
// kMaxPendingBytes. A write with range deletes (which rows cannot express) is written at once
// instead: the pending rows of earlier writes first, then its range deletes and its rows in a
// batch of their own. In `always` mode the WAL is synced after that, outside mu(), by the
// store's WalSyncer (WaitDurable), so the writes of many clients share one fsync with each
// other and with the store's job writes. One ticket order for all databases is what lets a
// KvWriteGroup carry the writes of a pipeline that switched databases: its latest ticket
// covers every earlier write. Reads while nothing is pending skip mu() and read the database
// directly.
//
// Thread safety: thread-safe; the methods marked REQUIRES(mu_) are for a caller holding mu().
// `db`, the column families and `wal_syncer` are borrowed and must outlive this object.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/keys.h"
#include "storage/kv_store.h"
#include "storage/wal_syncer.h"

namespace herald::storage {

class KvWritePipeline {
 public:
  // Creates the column family of database `db` (1 <= db < kKvDatabases) and returns its handle
  // (owned by the caller, which keeps it open as long as this object). Called at most once per
  // database, without this object's locks held.
  using CreateCf = std::function<Result<rocksdb::ColumnFamilyHandle*>(int db)>;

  // `cfs[n]` is database n's column family, or null when it has none yet. `wal_syncer` is the
  // store's in `always` mode, null otherwise.
  KvWritePipeline(rocksdb::DB* db,
                  const std::array<rocksdb::ColumnFamilyHandle*, kKvDatabases>& cfs,
                  WalSyncer* wal_syncer, CreateCf create_cf);
  ~KvWritePipeline();  // writes out what is pending
  KvWritePipeline(const KvWritePipeline&) = delete;
  KvWritePipeline& operator=(const KvWritePipeline&) = delete;

  // Serialises the writes of every database (and reads of list nodes).
  Mutex* mu() HERALD_TSA(lock_returned(mu_)) { return &mu_; }
  rocksdb::DB* db() const { return db_; }
  // Database `db`'s column family; null until its first write.
  rocksdb::ColumnFamilyHandle* Cf(int db) const {
    return cfs_[static_cast<std::size_t>(db)].load(std::memory_order_acquire);
  }
  // Creates database `db`'s column family when it has none (before its first write).
  Status EnsureCf(int db) EXCLUDES(create_mu_, mu_);

  // ---- Reads ----
  // The key's header; kNone type when absent. Sees pending writes.
  Result<keys::KvMeta> ReadMeta(int db, std::string_view key) EXCLUDES(mu_);
  Result<keys::KvMeta> ReadMetaLocked(int db, std::string_view key) REQUIRES(mu_);
  // A row through the pending rows; nullopt when absent.
  Result<std::optional<std::string>> GetLocked(int db, const std::string& row) REQUIRES(mu_);
  // A row as the database holds it; nullopt when absent.
  Result<std::optional<std::string>> GetFromDb(int db, const std::string& row) const;
  // Whether writes wait in the pending rows (not in the WAL yet).
  bool has_pending() const { return has_pending_.load(std::memory_order_acquire); }
  // Writes out whatever is pending, so that iterators over the database see everything.
  Status FlushForIteration() EXCLUDES(mu_);

  // ---- Rows of the write in progress (its caller holds mu()) ----
  void Put(int db, std::string row, std::string_view value) REQUIRES(mu_);
  void Delete(int db, std::string row) REQUIRES(mu_);
  // A row to modify in place, in the pending rows (loaded there from the database when
  // needed); null when it is absent. Report growth with AddPendingBytes.
  Result<std::string*> RowForUpdate(int db, std::string row) REQUIRES(mu_);
  void AddPendingBytes(std::size_t bytes) REQUIRES(mu_) { pending_bytes_ += bytes; }
  // The number of keys of database `db` (DBSIZE), kept up to date by each write.
  std::uint64_t& KeyCount(int db) REQUIRES(mu_) {
    return key_counts_[static_cast<std::size_t>(db)];
  }

  // ---- Ending a write ----
  // Ends a write whose rows stay pending: hands out its ticket, joins it to `group` (when not
  // null) and writes the pending rows out when there is no group or they grew too big. The
  // ticket goes to WaitDurable after unlocking mu() (without a group).
  Result<std::uint64_t> Finish(KvWriteGroup* group, std::string_view what) REQUIRES(mu_);
  // Ends a write made with range deletes: writes `range_deletes` and then the pending rows
  // (only this write's: FlushLocked came first) in one batch now. As Finish otherwise.
  Result<std::uint64_t> FinishAtOnce(rocksdb::WriteBatch* range_deletes, KvWriteGroup* group,
                                     std::string_view what) REQUIRES(mu_);
  // Writes the pending rows of every database to the WAL (no sync). Their tickets count as
  // written either way; on failure they are remembered as failed and the key counts are read
  // again.
  Status FlushLocked() REQUIRES(mu_);
  // Returns once the write with `ticket` (of any database) and every earlier one is durable;
  // the error of a failed WAL write or sync that covered it otherwise. Under a SyncDeferral,
  // once they are written (the caller waits for the sync).
  Status WaitDurable(std::uint64_t ticket) EXCLUDES(mu_);

  // Counts the keys of database `db` in the database; with `element_row_lists`, also collects
  // the lists of the older one-row-per-element layout (the same scan, at open).
  Status CountKeysLocked(
      int db, std::vector<std::pair<std::string, keys::KvMeta>>* element_row_lists = nullptr)
      REQUIRES(mu_);

 private:
  // The pending rows are written out once they hold this many bytes, so a client's huge
  // pipeline does not pile up in memory.
  static constexpr std::size_t kMaxPendingBytes = std::size_t{4} << 20;
  // Failed WAL writes remembered for WaitDurable (a group commits soon after its writes).
  static constexpr std::size_t kMaxFailures = 256;

  // Row -> its latest pending value (nullopt: deleted), for one database.
  using PendingRows = std::unordered_map<std::string, std::optional<std::string>>;

  PendingRows& Pending(int db) REQUIRES(mu_) { return pending_[static_cast<std::size_t>(db)]; }
  // Adds the pending rows of every database to `batch` and writes it (the rows of tickets up
  // to last_ticket_), with `what` naming the write in an error.
  Status WritePendingLocked(rocksdb::WriteBatch* batch, std::string_view what) REQUIRES(mu_);
  void RememberFailure(std::uint64_t from, std::uint64_t to, const Status& status) REQUIRES(mu_);
  // CountKeysLocked for every database (after a failed write).
  void RecountAllLocked() REQUIRES(mu_);

  rocksdb::DB* db_;
  std::array<std::atomic<rocksdb::ColumnFamilyHandle*>, kKvDatabases> cfs_;
  rocksdb::WriteOptions write_options_;  // never syncs: WaitDurable does
  WalSyncer* wal_syncer_;                // `always` mode; null otherwise
  CreateCf create_cf_;
  Mutex create_mu_;  // serialises EnsureCf; taken before mu_, never while holding it

  Mutex mu_;
  std::array<PendingRows, kKvDatabases> pending_ GUARDED_BY(mu_);
  std::size_t pending_bytes_ GUARDED_BY(mu_) = 0;     // of every database
  std::atomic<bool> has_pending_{false};              // set under mu_; read without it by readers
  std::uint64_t last_ticket_ GUARDED_BY(mu_) = 0;     // tickets handed out
  std::uint64_t written_ticket_ GUARDED_BY(mu_) = 0;  // tickets written (or failed)
  struct Failure {
    std::uint64_t from;
    std::uint64_t to;
    Status status;
  };
  std::deque<Failure> failures_ GUARDED_BY(mu_);
  std::array<std::uint64_t, kKvDatabases> key_counts_ GUARDED_BY(mu_){};
};

}  // namespace herald::storage
