// Keyspace: the plain Redis lists and strings (SELECT 0 .. kKvDatabases - 1) as the engine
// hands them to the servers, with the store's figures that INFO reports. The data types are
// the store's (storage/kv_store.h, whose comments hold their contracts); they are named here
// so that net/ reaches them through the engine and never includes storage/.
//
// Thread safety: thread-safe (as the store). `store` is borrowed and must outlive this object.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "storage/kv_store.h"
#include "storage/store.h"

namespace herald::engine {

using storage::GlobMatch;
using storage::kKvDatabases;
using storage::KvStore;
using storage::KvType;
using storage::KvWriteGroup;
using storage::ListEnd;

// What INFO shows of the store.
struct StoreFigures {
  std::uint64_t memtable_bytes = 0;
  std::uint64_t disk_bytes = 0;        // SST + WAL, approximate
  std::uint64_t recovered_active = 0;  // jobs active at the last stop, waiting again
  std::uint64_t wal_syncs = 0;         // `always` mode: WAL syncs of the group commit so far
  std::uint64_t store_writes = 0;      // batches written for jobs and records so far
};

class Keyspace {
 public:
  explicit Keyspace(storage::Store* store) : store_(store) {}

  // Database `db`'s lists and strings. InvalidArgument "DB index is out of range" unless
  // 0 <= db < kKvDatabases.
  Result<KvStore*> database(int db) { return store_->kv(db); }
  // Removes every key of every database in one write (FLUSHALL), durable on return.
  Status FlushAll() { return store_->ClearKv(); }
  StoreFigures figures() const {
    return {store_->MemtableBytes(), store_->DiskBytes(), store_->recovered_active(),
            store_->WalSyncs(), store_->Writes()};
  }

 private:
  storage::Store* store_;
};

}  // namespace herald::engine
