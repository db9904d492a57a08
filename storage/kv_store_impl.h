// Internal to storage/ (names rocksdb types). KvStoreImpl: the lists and strings of every
// database of the store (kKvDatabases of them, SELECT n): database 0 in the "kv" column family,
// database n in "kv.<n>", created by the first write to it (through the store's CreateCf).
// Layout in storage/keys.h. database(n) is the KvStore of database n, which passes each call on
// with n.
//
// Writes to every database are serialised on one mutex (a read-modify-write of a list header
// must not interleave with another). A write goes into the pending rows of its database (the
// latest value of each row it wrote, which reads look at before the database) and gets a ticket
// (a number counting the writes of every database). The pending rows of all databases are
// written to the WAL, all of it in one rocksdb::DB::Write and under the mutex (so the WAL holds
// the writes in ticket order, whatever their database), when a writer without a KvWriteGroup
// needs its write out, a group commits, a read needs the database to hold everything
// (iterators), or they grow past kMaxPendingBytes. In `always` mode the WAL is synced after
// that, outside the mutex, by the store's WalSyncer (WaitDurable), so the writes of many clients
// share one fsync with each other and with the store's job writes. One ticket order for all
// databases is what lets a KvWriteGroup carry the writes of a pipeline that switched databases: its
// latest ticket covers every earlier write. Reads while nothing is pending skip the mutex and read
// the database directly.
//
// Thread safety: thread-safe. `db` and the column families are borrowed and must outlive this
// object.
#pragma once

#include <rocksdb/db.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "storage/keys.h"
#include "storage/kv_store.h"
#include "storage/mutex.h"
#include "storage/status.h"
#include "storage/wal_syncer.h"

namespace herald::storage {

class KvStoreImpl {
 public:
  // Creates the column family of database `db` (1 <= db < kKvDatabases) and returns its handle
  // (owned by the caller, which keeps it open as long as this object). Called at most once per
  // database, without this object's locks held.
  using CreateCf = std::function<Result<rocksdb::ColumnFamilyHandle*>(int db)>;

  // `cfs[n]` is database n's column family, or null when it has none yet; cfs[0] is required.
  // Counts the existing keys of each database (for Count()).
  static Result<std::unique_ptr<KvStoreImpl>> Open(
      rocksdb::DB* db, const std::array<rocksdb::ColumnFamilyHandle*, kKvDatabases>& cfs,
      WalSyncer* wal_syncer, CreateCf create_cf);
  ~KvStoreImpl();  // writes out what is pending

  // Database `db`'s KvStore. Precondition: 0 <= db < kKvDatabases.
  KvStore& database(int db) { return *views_[static_cast<std::size_t>(db)]; }
  // Removes every key of every database in one write (FLUSHALL); as KvStore::Clear otherwise.
  Status ClearAll();

  // The operations of KvStore (kv_store.h), on database `db`.
  Result<std::optional<std::string>> Get(int db, std::string_view key);
  Status Set(int db, std::string_view key, std::string_view value, KvWriteGroup* group);
  Result<std::int64_t> IncrBy(int db, std::string_view key, std::int64_t delta,
                              KvWriteGroup* group);
  Status MSet(int db, const std::vector<std::pair<std::string, std::string>>& pairs,
              KvWriteGroup* group);

  Result<std::int64_t> Del(int db, const std::vector<std::string>& keys, KvWriteGroup* group);
  Result<std::int64_t> Exists(int db, const std::vector<std::string>& keys);
  Result<KvType> Type(int db, std::string_view key);
  Result<std::vector<std::string>> Keys(int db, std::string_view pattern);
  Result<std::pair<std::string, std::vector<std::string>>> Scan(int db, std::string_view cursor,
                                                                std::string_view pattern,
                                                                std::uint32_t count);
  Result<std::uint64_t> Count(int db);
  Status Clear(int db);

  Result<std::int64_t> Push(int db, std::string_view key, const std::vector<std::string>& values,
                            ListEnd end, KvWriteGroup* group);
  Result<std::vector<std::string>> Pop(int db, std::string_view key, std::uint32_t count,
                                       ListEnd end, KvWriteGroup* group);
  Result<std::int64_t> Len(int db, std::string_view key);
  Result<std::vector<std::string>> Range(int db, std::string_view key, std::int64_t start,
                                         std::int64_t stop);
  Result<std::optional<std::string>> Index(int db, std::string_view key, std::int64_t index);

  // Returns once the write with `ticket` (of any database) and every earlier one is durable;
  // the error of a failed WAL write or sync that covered it otherwise.
  Status WaitDurable(std::uint64_t ticket);

 private:
  // The pending rows are written out once they hold this many bytes, so a client's huge
  // pipeline does not pile up in memory.
  static constexpr std::size_t kMaxPendingBytes = std::size_t{4} << 20;
  // Failed WAL writes remembered for WaitDurable (a group commits soon after its writes).
  static constexpr std::size_t kMaxFailures = 256;

  // Row -> its latest pending value (nullopt: deleted), for one database.
  using PendingRows = std::unordered_map<std::string, std::optional<std::string>>;

  KvStoreImpl(rocksdb::DB* db, const std::array<rocksdb::ColumnFamilyHandle*, kKvDatabases>& cfs,
              WalSyncer* wal_syncer, CreateCf create_cf);

  // Database `db`'s column family; null until its first write.
  rocksdb::ColumnFamilyHandle* Cf(int db) const {
    return cfs_[static_cast<std::size_t>(db)].load(std::memory_order_acquire);
  }
  // Creates database `db`'s column family when it has none (before its first write).
  Status EnsureCf(int db) EXCLUDES(create_mu_, mu_);
  PendingRows& Pending(int db) REQUIRES(mu_) { return pending_[static_cast<std::size_t>(db)]; }
  std::uint64_t& KeyCount(int db) REQUIRES(mu_) {
    return key_counts_[static_cast<std::size_t>(db)];
  }

  // The key's header; kNone type when absent. Sees pending writes.
  Result<keys::KvMeta> ReadMeta(int db, std::string_view key) EXCLUDES(mu_);
  Result<keys::KvMeta> ReadMetaLocked(int db, std::string_view key) REQUIRES(mu_);
  // A row as the database holds it; nullopt when absent.
  Result<std::optional<std::string>> GetFromDb(int db, const std::string& row) const;
  // A row of the column family through the pending rows; nullopt when absent.
  Result<std::optional<std::string>> GetLocked(int db, const std::string& row) REQUIRES(mu_);
  // A list node to modify in place: in the pending rows (loaded there from the database
  // when needed). Corruption when it is missing or malformed.
  Result<std::string*> NodeForWrite(int db, std::string_view key, std::uint64_t node_id)
      REQUIRES(mu_);
  // A list node to read (a copy). Corruption when it is missing or malformed.
  Result<std::string> NodeForRead(int db, std::string_view key, std::uint64_t node_id)
      REQUIRES(mu_);
  Status PushOne(int db, std::string_view key, keys::KvMeta* meta, std::string_view value,
                 ListEnd end) REQUIRES(mu_);
  Result<std::string> PopOne(int db, std::string_view key, keys::KvMeta* meta, ListEnd end)
      REQUIRES(mu_);
  // Rewrites `lists` (key, header), of the older one-row-per-element layout, into nodes (at
  // open).
  Status UpgradeElementRowLists(int db,
                                const std::vector<std::pair<std::string, keys::KvMeta>>& lists)
      REQUIRES(mu_);
  // Where an operation puts its writes: the pending rows (`own` null), or, when `direct` (range
  // deletes, which rows cannot express), `own`, written by Finish after the pending rows.
  Result<rocksdb::WriteBatch*> Begin(bool direct, rocksdb::WriteBatch* own) REQUIRES(mu_);
  void PutRow(int db, rocksdb::WriteBatch* own, std::string row, std::string_view value)
      REQUIRES(mu_);
  void DeleteRow(int db, rocksdb::WriteBatch* own, std::string row) REQUIRES(mu_);
  // Deletes every element of a list (a range delete needs `own`: see NeedsRangeDelete).
  void DeleteElements(int db, rocksdb::WriteBatch* own, std::string_view key,
                      const keys::KvMeta& meta) REQUIRES(mu_);
  // Range deletes of every row of databases [first, last) into `batch`, their key counts set
  // to 0. False when none of them has a column family (nothing to delete).
  bool ClearRowsLocked(int first, int last, rocksdb::WriteBatch* batch) REQUIRES(mu_);
  // Ends an operation begun with Begin: hands out its ticket and writes what has to be
  // written now. The returned ticket goes to WaitDurable (or the group) after unlocking.
  Result<std::uint64_t> Finish(bool direct, rocksdb::WriteBatch* own, KvWriteGroup* group,
                               std::string_view what) REQUIRES(mu_);
  // Writes the pending rows of every database to the WAL (no sync). Its tickets count as
  // written either way; on failure they are remembered as failed and the key counts are read
  // again.
  Status FlushLocked() REQUIRES(mu_);
  void RememberFailure(std::uint64_t from, std::uint64_t to, const Status& status) REQUIRES(mu_);
  // Counts the keys of database `db` in the database; with `element_row_lists`, also collects
  // the lists of the older one-row-per-element layout (the same scan, at open).
  Status CountKeysLocked(
      int db, std::vector<std::pair<std::string, keys::KvMeta>>* element_row_lists = nullptr)
      REQUIRES(mu_);
  // CountKeysLocked for every database (after a failed write).
  void RecountAllLocked() REQUIRES(mu_);
  // The element rows of an older-layout list at positions [from, to), in order.
  Result<std::vector<std::string>> ReadElements(int db, std::string_view key, std::uint64_t from,
                                                std::uint64_t to) const;
  // Writes out whatever is pending, so that iterators over the database see everything.
  Status FlushForIteration() EXCLUDES(mu_);
  std::string NewScanCursor(int db, std::string resume_key) EXCLUDES(cursor_mu_);

  rocksdb::DB* db_;
  std::array<std::atomic<rocksdb::ColumnFamilyHandle*>, kKvDatabases> cfs_;
  rocksdb::WriteOptions write_options_;  // never syncs: WaitDurable does
  WalSyncer* wal_syncer_;                // `always` mode; null otherwise
  CreateCf create_cf_;
  Mutex create_mu_;  // serialises EnsureCf; taken before mu_, never while holding it
  std::vector<std::unique_ptr<KvStore>> views_;  // database(n)

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

  // SCAN cursors are numbers (clients parse them) standing for the database and key to resume
  // at; the most recent kMaxCursors of all databases are remembered.
  static constexpr std::size_t kMaxCursors = 4096;
  struct ScanCursor {
    int db;
    std::string resume_key;
  };
  Mutex cursor_mu_;
  std::uint64_t next_cursor_ GUARDED_BY(cursor_mu_) = 1;
  std::map<std::uint64_t, ScanCursor> cursors_ GUARDED_BY(cursor_mu_);
};

}  // namespace herald::storage
