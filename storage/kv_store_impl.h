// Internal to storage/ (names rocksdb types). KvStoreImpl: the lists and strings of every
// database of the store (kKvDatabases of them, SELECT n): database 0 in the "kv" column family,
// database n in "kv.<n>", created by the first write to it (through the store's CreateCf).
// Layout in storage/keys.h. database(n) is the KvStore of database n, which passes each call on
// with n to the part that does it:
//
//   KvWritePipeline (kv_write_pipeline.h)  pending rows, tickets, the WAL and durability; the
//                                          mutex that serialises the writes of all databases
//   KvWrite (kv_write.h)                   one write operation on the pipeline
//   KvStrings (kv_strings.h)               GET, SET, INCRBY, MSET
//   KvLists (kv_lists.h)                   LPUSH/RPUSH, LPOP/RPOP, LLEN, LRANGE, LINDEX, and
//                                          the upgrade of older-layout lists at open
//   KvKeyspace (kv_keyspace.h)             DEL, EXISTS, TYPE, KEYS, SCAN, DBSIZE, FLUSHDB/ALL
//
// Thread safety: thread-safe. `db`, the column families and `wal_syncer` are borrowed and must
// outlive this object.
#pragma once

#include <rocksdb/db.h>

#include <array>
#include <memory>
#include <vector>

#include "common/status.h"
#include "storage/kv_keyspace.h"
#include "storage/kv_lists.h"
#include "storage/kv_store.h"
#include "storage/kv_strings.h"
#include "storage/kv_write_pipeline.h"
#include "storage/wal_syncer.h"

namespace herald::storage {

class KvStoreImpl {
 public:
  // Creates the column family of database `db` (1 <= db < kKvDatabases) and returns its handle
  // (owned by the caller, which keeps it open as long as this object). Called at most once per
  // database, without this object's locks held.
  using CreateCf = KvWritePipeline::CreateCf;

  // `cfs[n]` is database n's column family, or null when it has none yet; cfs[0] is required.
  // Counts the existing keys of each database (for Count()) and rewrites lists of the older
  // one-row-per-element layout into nodes.
  static Result<std::unique_ptr<KvStoreImpl>> Open(
      rocksdb::DB* db, const std::array<rocksdb::ColumnFamilyHandle*, kKvDatabases>& cfs,
      WalSyncer* wal_syncer, CreateCf create_cf);
  ~KvStoreImpl() = default;  // the pipeline writes out what is pending

  // Database `db`'s KvStore. Precondition: 0 <= db < kKvDatabases.
  KvStore& database(int db) { return *views_[static_cast<std::size_t>(db)]; }
  // Removes every key of every database in one write (FLUSHALL); as KvStore::Clear otherwise.
  Status ClearAll() { return keyspace_.ClearAll(); }
  // Whether writes wait in memory for the WAL (see KvWritePipeline), and writing them out.
  bool has_pending() const { return pipeline_.has_pending(); }
  Status WritePending() { return pipeline_.FlushForIteration(); }

 private:
  KvStoreImpl(rocksdb::DB* db, const std::array<rocksdb::ColumnFamilyHandle*, kKvDatabases>& cfs,
              WalSyncer* wal_syncer, CreateCf create_cf);

  KvWritePipeline pipeline_;  // first in, last out: the parts borrow it
  KvStrings strings_;
  KvLists lists_;
  KvKeyspace keyspace_;
  std::vector<std::unique_ptr<KvStore>> views_;  // database(n)
};

}  // namespace herald::storage
