// Internal to storage/ (names rocksdb types). RocksTuning: how Herald configures RocksDB: the
// database options and the options of each kind of column family (queues, job records, lists
// and strings, the small system tables), all sharing one LRU block cache. The reasons for each
// setting are beside it in rocks_tuning.cc.
//
// Thread safety: immutable after construction.
#pragma once

#include <rocksdb/cache.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>

#include <memory>
#include <string>

#include "storage/store.h"

namespace herald::storage {

class RocksTuning {
 public:
  // `fsync` picks the job records' memtable and pipelined writes; the block cache has
  // `block_cache_mb` MiB.
  RocksTuning(FsyncMode fsync, std::uint32_t block_cache_mb);

  // Database options. `env` and `info_log` are borrowed by the options (and by the database
  // opened with them), which they must outlive.
  rocksdb::DBOptions DbOptions(rocksdb::Env* env, std::shared_ptr<rocksdb::Logger> info_log) const;

  // Options of the column family `name` ("q.<name>", "jobs", "kv.<n>", or a system table).
  const rocksdb::ColumnFamilyOptions& ForName(const std::string& name) const;
  const rocksdb::ColumnFamilyOptions& queue() const { return queue_; }
  const rocksdb::ColumnFamilyOptions& kv() const { return kv_; }

 private:
  FsyncMode fsync_;
  std::shared_ptr<rocksdb::Cache> cache_;
  rocksdb::ColumnFamilyOptions system_;
  rocksdb::ColumnFamilyOptions queue_;
  rocksdb::ColumnFamilyOptions kv_;
  rocksdb::ColumnFamilyOptions jobs_;
};

}  // namespace herald::storage
