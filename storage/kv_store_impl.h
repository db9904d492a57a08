// Internal to storage/ (names rocksdb types). KvStoreImpl: KvStore over the "kv" column family
// of the store's database. Layout in storage/keys.h.
//
// Writes are serialised on one mutex (a read-modify-write of a list header must not interleave
// with another). A write goes into `pending_` (the latest value of each row it wrote, which
// reads look at before the database) and gets a ticket (a number counting writes). The pending
// rows are written to
// the WAL, all of it in one rocksdb::DB::Write and under the mutex (so the WAL holds the writes
// in ticket order), when a writer without a KvWriteGroup needs its write out, a group commits,
// a read needs the database to hold everything (iterators), or it grows past kMaxPendingBytes.
// In `always` mode the WAL is synced after that, outside the mutex, by one waiter for all
// (WaitDurable), so the writes of many clients share one fsync. Reads while nothing is pending
// skip the mutex and read the database directly.
//
// Thread safety: thread-safe. `db` and `cf` are borrowed and must outlive this object.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <cstdint>
#include <deque>
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

namespace herald::storage {

class KvStoreImpl final : public KvStore {
 public:
  // Counts the existing keys (for Count()).
  static Result<std::unique_ptr<KvStoreImpl>> Open(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                                   rocksdb::WriteOptions write_options);
  ~KvStoreImpl() override;  // writes out what is pending

  Result<std::optional<std::string>> Get(std::string_view key) override;
  Status Set(std::string_view key, std::string_view value, KvWriteGroup* group) override;
  Result<std::int64_t> IncrBy(std::string_view key, std::int64_t delta,
                              KvWriteGroup* group) override;
  Status MSet(const std::vector<std::pair<std::string, std::string>>& pairs,
              KvWriteGroup* group) override;

  Result<std::int64_t> Del(const std::vector<std::string>& keys, KvWriteGroup* group) override;
  Result<std::int64_t> Exists(const std::vector<std::string>& keys) override;
  Result<KvType> Type(std::string_view key) override;
  Result<std::vector<std::string>> Keys(std::string_view pattern) override;
  Result<std::pair<std::string, std::vector<std::string>>> Scan(std::string_view cursor,
                                                                std::string_view pattern,
                                                                std::uint32_t count) override;
  Result<std::uint64_t> Count() override;
  Status Clear() override;

  Result<std::int64_t> Push(std::string_view key, const std::vector<std::string>& values, bool left,
                            KvWriteGroup* group) override;
  Result<std::vector<std::string>> Pop(std::string_view key, std::uint32_t count, bool left,
                                       KvWriteGroup* group) override;
  Result<std::int64_t> Len(std::string_view key) override;
  Result<std::vector<std::string>> Range(std::string_view key, std::int64_t start,
                                         std::int64_t stop) override;
  Result<std::optional<std::string>> Index(std::string_view key, std::int64_t index) override;

 private:
  // The pending rows are written out once they hold this many bytes, so a client's huge
  // pipeline does not pile up in memory.
  static constexpr std::size_t kMaxPendingBytes = std::size_t{4} << 20;
  // Failed WAL writes remembered for WaitDurable (a group commits soon after its writes).
  static constexpr std::size_t kMaxFailures = 256;

  KvStoreImpl(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, rocksdb::WriteOptions wo);

  Status WaitDurable(std::uint64_t ticket) override;

  // The key's header; kNone type when absent. Sees pending writes.
  Result<keys::KvMeta> ReadMeta(std::string_view key) EXCLUDES(mu_);
  Result<keys::KvMeta> ReadMetaLocked(std::string_view key) REQUIRES(mu_);
  // A row as the database holds it; nullopt when absent.
  Result<std::optional<std::string>> GetFromDb(const std::string& row) const;
  // A row of the column family through the pending rows; nullopt when absent.
  Result<std::optional<std::string>> GetLocked(const std::string& row) REQUIRES(mu_);
  // A list node to modify in place: in the pending rows (loaded there from the database
  // when needed). Corruption when it is missing or malformed.
  Result<std::string*> NodeForWrite(std::string_view key, std::uint64_t node_id) REQUIRES(mu_);
  // A list node to read (a copy). Corruption when it is missing or malformed.
  Result<std::string> NodeForRead(std::string_view key, std::uint64_t node_id) REQUIRES(mu_);
  Status PushOne(std::string_view key, keys::KvMeta* meta, std::string_view value, bool left)
      REQUIRES(mu_);
  Result<std::string> PopOne(std::string_view key, keys::KvMeta* meta, bool left) REQUIRES(mu_);
  // Rewrites `lists` (key, header), of the older one-row-per-element layout, into nodes (at
  // open).
  Status UpgradeElementRowLists(const std::vector<std::pair<std::string, keys::KvMeta>>& lists)
      REQUIRES(mu_);
  // Where an operation puts its writes: the pending rows (`own` null), or, when `direct` (range
  // deletes, which rows cannot express), `own`, written by Finish after the pending rows.
  Result<rocksdb::WriteBatch*> Begin(bool direct, rocksdb::WriteBatch* own) REQUIRES(mu_);
  void PutRow(rocksdb::WriteBatch* own, std::string row, std::string_view value) REQUIRES(mu_);
  void DeleteRow(rocksdb::WriteBatch* own, std::string row) REQUIRES(mu_);
  // Deletes every element of a list (a range delete needs `own`: see NeedsRangeDelete).
  void DeleteElements(rocksdb::WriteBatch* own, std::string_view key, const keys::KvMeta& meta)
      REQUIRES(mu_);
  // Ends an operation begun with Begin: hands out its ticket and writes what has to be
  // written now. The returned ticket goes to WaitDurable (or the group) after unlocking.
  Result<std::uint64_t> Finish(bool direct, rocksdb::WriteBatch* own, KvWriteGroup* group,
                               std::string_view what) REQUIRES(mu_);
  // Writes the pending rows to the WAL (no sync). Its tickets count as written either way;
  // on failure they are remembered as failed and the key count is read again.
  Status FlushLocked() REQUIRES(mu_);
  void RememberFailure(std::uint64_t from, std::uint64_t to, const Status& status) REQUIRES(mu_);
  // Counts the keys in the database; with `element_row_lists`, also collects the lists of the
  // older one-row-per-element layout (the same scan, at open).
  Status CountKeysLocked(
      std::vector<std::pair<std::string, keys::KvMeta>>* element_row_lists = nullptr) REQUIRES(mu_);
  // The element rows of an older-layout list at positions [from, to), in order.
  Result<std::vector<std::string>> ReadElements(std::string_view key, std::uint64_t from,
                                                std::uint64_t to) const;
  // Writes out whatever is pending, so that iterators over the database see everything.
  Status FlushForIteration() EXCLUDES(mu_);
  std::string NewScanCursor(std::string resume_key) EXCLUDES(cursor_mu_);

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  rocksdb::WriteOptions write_options_;  // never syncs: WaitDurable does
  const bool sync_;                      // `always` mode

  Mutex mu_;
  // Row -> its latest pending value (nullopt: deleted).
  std::unordered_map<std::string, std::optional<std::string>> pending_ GUARDED_BY(mu_);
  std::size_t pending_bytes_ GUARDED_BY(mu_) = 0;
  std::atomic<bool> has_pending_{false};              // set under mu_; read without it by readers
  std::uint64_t last_ticket_ GUARDED_BY(mu_) = 0;     // tickets handed out
  std::uint64_t written_ticket_ GUARDED_BY(mu_) = 0;  // tickets written (or failed)
  struct Failure {
    std::uint64_t from;
    std::uint64_t to;
    Status status;
  };
  std::deque<Failure> failures_ GUARDED_BY(mu_);
  std::uint64_t key_count_ GUARDED_BY(mu_) = 0;

  Mutex sync_mu_;  // taken before mu_, never while holding it
  std::uint64_t synced_ticket_ GUARDED_BY(sync_mu_) = 0;

  // SCAN cursors are numbers (clients parse them) standing for the key to resume at; the most
  // recent kMaxCursors are remembered.
  static constexpr std::size_t kMaxCursors = 4096;
  Mutex cursor_mu_;
  std::uint64_t next_cursor_ GUARDED_BY(cursor_mu_) = 1;
  std::map<std::uint64_t, std::string> cursors_ GUARDED_BY(cursor_mu_);
};

}  // namespace herald::storage
