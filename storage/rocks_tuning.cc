#include "storage/rocks_tuning.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>

#include "storage/count_merge.h"
#include "storage/keys.h"

namespace herald::storage {
namespace {

// Hash buckets of the job records' memtable (JobsCfOptions).
constexpr std::size_t kJobsMemtableBuckets = std::size_t{1} << 18;

// Table options shared by every column family: one LRU block cache, bloom filters for point
// lookups (job records by id, kv keys), index and filter blocks charged to the cache.
rocksdb::BlockBasedTableOptions BaseTableOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;
  return table;
}

rocksdb::ColumnFamilyOptions BaseCfOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(BaseTableOptions(cache)));
  cf.level_compaction_dynamic_level_bytes = true;
  cf.write_buffer_size = 4 << 20;
  // A sustained fill (10^7 adds as fast as clients send them) filled the next memtable while
  // the last one was still being flushed, and RocksDB stopped writes at 2 immutable memtables
  // (the default of 2 buffers): with 4, a flush has three memtables' time to finish.
  cf.max_write_buffer_number = 4;
  return cf;
}

// Queue column families: every index entry is eventually deleted (a job moves on), so files
// full of tombstones are common; the collector marks them for compaction.
rocksdb::ColumnFamilyOptions QueueCfOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf = BaseCfOptions(cache);
  // Each index is written at its two ends (adds at the tail, takes at the head) and a job
  // moves between indexes: a memtable insert hint per index prefix ("w|", "a|", ...) keeps
  // the skiplist search of one index from being reset by inserts into another.
  cf.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(2));
  // The job counters ("m|n|<state>") are sums of the changes' +1/-1 merges.
  cf.merge_operator = std::make_shared<CountMergeOperator>();
  cf.table_properties_collector_factories.push_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(/*sliding_window_size=*/16384,
                                                    /*deletion_trigger=*/4096,
                                                    /*deletion_ratio=*/0.5));
  return cf;
}

// Lists and strings: a bigger memtable than the small tables, since lists used as queues
// write and delete at a high rate. (No memtable insert hint: once a column family holds a range
// tombstone, RocksDB 7.8's hinted insert trips its own skiplist assertions; long lists are
// deleted with range tombstones. Queue column families never use range deletes.)
rocksdb::ColumnFamilyOptions KvCfOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf = BaseCfOptions(cache);
  cf.write_buffer_size = 16 << 20;
  return cf;
}

rocksdb::ColumnFamilyOptions JobsCfOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                           FsyncMode fsync) {
  rocksdb::ColumnFamilyOptions cf = BaseCfOptions(cache);
  // Every add writes its record here: a sustained fill (10^7 adds of 300 bytes as fast as 50
  // pipelining clients send them) made level-0 files faster than one compaction thread merged
  // them, and writes slowed at 20 files and stopped at 36. Bigger memtables make fewer, bigger
  // level-0 files, and the limits leave the compaction room to catch up. Not bigger than this:
  // each new WAL reserves 1.1 times the largest memtable, and after a full disk writes resume
  // only once that much is free (64 MiB memtables needed 70 MiB).
  cf.write_buffer_size = 32 << 20;
  cf.target_file_size_base = 64 << 20;
  // Records are looked up by id (an add with an id of its own looks first). One filter for a
  // whole 64 MiB file is about 2 MB, more than a shard of the block cache holds (64 MiB in 64
  // shards of 1 MiB): with millions of jobs every lookup read and checksummed it from disk
  // again. Partitioned filters and a two-level index cut both into 4 KiB blocks, cached like
  // data blocks (with priority); only each file's small top level stays pinned.
  rocksdb::BlockBasedTableOptions table = BaseTableOptions(cache);
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.pin_top_level_index_and_filter = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.level0_slowdown_writes_trigger = 40;
  cf.level0_stop_writes_trigger = 80;
  if (fsync == FsyncMode::kAlways) {
    // Writers wait for WAL syncs, and with many of them the CPU is the bound: a skiplist with
    // one insert hint for the whole family (a new id follows the previous one) costs the least
    // in all. (Never a range delete here; see KvCfOptions.)
    cf.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(0));
  } else {
    // Writers wait for RocksDB's write path in turn, and it is the bound (local workers leave a
    // core idle): records are only ever read by id (Get, MultiGet), never iterated, so their
    // memtable is a hash table, where an insert or lookup is a bucket's instead of a skiplist
    // search (a transition rewrites a record far from the previous insert). The sort a hash
    // memtable needs instead runs when it is flushed, on a background thread. The whole key is
    // the hash key; the buckets (2 MiB of the memtable's 16) keep the chains short for ~10^5
    // records per memtable. Nothing may iterate this family (an iterator over a hash memtable
    // sees no total order).
    cf.prefix_extractor.reset(rocksdb::NewNoopTransform());
    cf.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory(kJobsMemtableBuckets));
  }
  cf.table_properties_collector_factories.push_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(32768, 16384, 0.5));
  return cf;
}

}  // namespace

RocksTuning::RocksTuning(FsyncMode fsync, std::uint32_t block_cache_mb)
    : fsync_(fsync),
      cache_(rocksdb::NewLRUCache(static_cast<std::size_t>(block_cache_mb) << 20)),
      system_(BaseCfOptions(cache_)),
      queue_(QueueCfOptions(cache_)),
      kv_(KvCfOptions(cache_)),
      jobs_(JobsCfOptions(cache_, fsync)) {}

rocksdb::DBOptions RocksTuning::DbOptions(rocksdb::Env* env,
                                          std::shared_ptr<rocksdb::Logger> info_log) const {
  rocksdb::DBOptions db_options;
  db_options.env = env;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  // A flush and two compactions may run at once (RocksDB gives a quarter to flushes): on two
  // cores they are mostly waiting for the disk.
  db_options.max_background_jobs = 4;
  db_options.max_subcompactions = 2;
  // Compactions read their input 2 MiB at a time instead of a block (~400 compressed bytes
  // of records) per read.
  db_options.compaction_readahead_size = 2 << 20;
  db_options.bytes_per_sync = 1 << 20;
  // RocksDB's log lines go to our logger, not to a LOG file in the data directory (see
  // rocks_logger.h: on a full disk that file made RocksDB abort).
  db_options.info_log = std::move(info_log);
  // Many column families share one WAL; a queue that sees little traffic must not pin old WAL
  // files forever: past this size its memtable is flushed. It also bounds what an open after
  // kill -9 replays: 256 MiB took 2.1 s after a fill of 10^7 jobs.
  db_options.max_total_wal_size = 128 << 20;
  db_options.db_write_buffer_size = 256 << 20;
  // The leader of a write group inserts every member's batch itself: members then wake once
  // (when done) instead of twice, which on few cores costs less than inserting in parallel
  // (measured: 64 `always` writers need half the CPU per add).
  db_options.allow_concurrent_memtable_write = false;
  // With writers queued (local workers, producers, RESP clients), one write group's WAL write
  // then overlaps the previous group's memtable inserts. Not in `always` mode: WalSyncer
  // writes one group at a time, so there is nothing to overlap, only a hand-off more.
  db_options.enable_pipelined_write = fsync_ != FsyncMode::kAlways;
  db_options.keep_log_file_num = 4;
  db_options.max_log_file_size = 16 << 20;
  return db_options;
}

const rocksdb::ColumnFamilyOptions& RocksTuning::ForName(const std::string& name) const {
  if (keys::QueueOfCfName(name)) return queue_;
  if (name == keys::kJobsCf) return jobs_;
  if (keys::KvDatabaseOfCfName(name)) return kv_;
  return system_;
}

}  // namespace herald::storage
