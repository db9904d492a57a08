#include "storage/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>
#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>
#include <unordered_map>

#include "storage/active_jobs.h"
#include "storage/id_locks.h"
#include "storage/keys.h"
#include "storage/kv_store_impl.h"
#include "storage/mutex.h"
#include "storage/queue_index.h"
#include "storage/rocks_logger.h"
#include "storage/rocks_status.h"
#include "storage/scoped_snapshot.h"
#include "storage/wal_syncer.h"
#include "storage/wal_watch.h"

namespace herald::storage {
namespace {

// Sequence numbers are reserved this many at a time: one synced meta write per block.
constexpr std::uint64_t kSeqBlock = std::uint64_t{1} << 16;
// Index entries read ahead by one scan of a queue's head.
constexpr std::size_t kRefillBatch = 128;
// Room reserved in a transition's WriteBatch (its header, and per job besides the payload: the
// rest of the record and the index keys), so that the batch is allocated once.
constexpr std::size_t kBatchHeaderBytes = 64;
constexpr std::size_t kBatchBytesPerJob = 256;
// Jobs per WriteBatch in bulk operations (PromoteDue, RetryAllFailed, Clean, recovery).
constexpr std::size_t kBulkChunk = 256;
// Old completed jobs are deleted in groups, in the batch of the Complete that pushed the count
// past retention + slack (slack = retention / 16, at most kMaxPruneSlack): deleting consecutive
// old entries together keeps the memtable inserts of the deletes next to each other, where one
// delete per Complete would search the skiplist from the top twice per job. At most
// kMaxPrunePerComplete go in one batch (keeps Complete's latency flat while a lowered
// retention is being caught up with).
constexpr std::int64_t kMaxPruneSlack = 64;
constexpr std::int64_t kMaxPrunePerComplete = 128;
// Waiting jobs with a payload up to this size are kept with their index entry in memory, so
// that Take needs no read.
constexpr std::size_t kMaxKeptPayload = 4096;
// Hash buckets of the job records' memtable (JobsCfOptions).
constexpr std::size_t kJobsMemtableBuckets = std::size_t{1} << 18;
constexpr std::size_t kMaxIdBytes = 256;
constexpr std::size_t kMaxQueueNameBytes = 64;
constexpr std::string_view kStalledError = "stalled: worker lost (process restarted)";

std::int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Quote(std::string_view s) {
  std::string out("'");
  out.append(s);
  out.push_back('\'');
  return out;
}

Status ValidateQueueName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("queue name is empty");
  if (name.size() > kMaxQueueNameBytes) {
    return Status::InvalidArgument("queue name is longer than 64 bytes");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("queue name " + Quote(name) +
                                     " has a character outside [A-Za-z0-9_.:-]");
    }
  }
  return Status::Ok();
}

bool IsDecimal(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Status ValidateNewJob(const NewJob& job) {
  if (!job.id.empty()) {
    if (job.id.size() > kMaxIdBytes)
      return Status::InvalidArgument("job id is longer than 256 bytes");
    if (IsDecimal(job.id)) {
      return Status::InvalidArgument("job id " + Quote(job.id) +
                                     " is a plain number; those are reserved for generated ids");
    }
    // A waiting-index value starting with 0 is a lease (keys.h).
    if (job.id.front() == '\0') return Status::InvalidArgument("job id starts with a NUL byte");
  }
  if (job.max_attempts == 0) return Status::InvalidArgument("attempts must be at least 1");
  if (job.backoff_ms < 0) return Status::InvalidArgument("backoff must not be negative");
  if (job.backoff_type != BackoffType::kFixed && job.backoff_type != BackoffType::kExponential) {
    return Status::InvalidArgument("unknown backoff type");
  }
  return Status::Ok();
}

std::uint64_t& CountOf(QueueCounts& counts, JobState state) {
  switch (state) {
    case JobState::kWaiting:
      return counts.waiting;
    case JobState::kActive:
      return counts.active;
    case JobState::kDelayed:
      return counts.delayed;
    case JobState::kCompleted:
      return counts.completed;
    case JobState::kFailed:
      return counts.failed;
  }
  return counts.waiting;
}

Status WrongState(const Job& job, JobState expected) {
  return Status::InvalidArgument("job " + job.id + " is " + std::string(JobStateName(job.state)) +
                                 ", not " + std::string(JobStateName(expected)));
}

// Table options shared by every column family: one LRU block cache, bloom filters for point
// lookups (job records by id, kv keys), index and filter blocks charged to the cache.
rocksdb::ColumnFamilyOptions BaseCfOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.level_compaction_dynamic_level_bytes = true;
  cf.write_buffer_size = 4 << 20;
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
  cf.write_buffer_size = 16 << 20;
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

// Releases a snapshot when it goes out of scope.

// One job's transition, planned under its id lock.
struct Change {
  Job job;                       // after the change
  std::optional<JobState> from;  // nullopt for an add
  std::string old_key;           // index key before ("" for an add)
  std::string new_key;           // index key after ("" when removed)
  bool removed = false;          // the job record goes away
};

// An active entry found by Open(): a lease in the waiting index, or an older build's "a|" entry.
struct StalledEntry {
  struct LeaseInfo {
    std::uint32_t attempts_made;
    std::int64_t processed_ms;
  };
  std::string key;
  std::string id;
  std::optional<LeaseInfo> lease;  // nullopt: an "a|" entry
};

// Takes planned under their ids' locks (TakeMany, CompleteAndTake).
struct PlannedTakes {
  std::vector<IndexHead::Entry> claimed;
  std::vector<Change> changes;       // one per entry taken
  std::vector<std::size_t> sources;  // the index in `claimed` of each change
  Status read_error;                 // a record that could not be read (that entry skipped)
};

// One job's transition as asked for: from state `from` (any when nullopt), `edit` applied,
// or the job removed.
struct TransitionRequest {
  std::string id;
  std::optional<JobState> from;
  std::function<void(Job&)> edit;
  bool remove = false;
};

// Old completed jobs claimed by one Complete for deletion in its batch.
struct Prune {
  std::vector<IndexHead::Entry> claimed;
  std::vector<IndexHead::Entry> give_back;  // claimed, but busy or failed: back to the head
  std::vector<IdLocks::Guard> guards;
  std::vector<IndexHead::Entry> deleted;  // in the batch
  bool ran_out = false;  // fewer old jobs than the excess: the batch's own jobs are over it
};

}  // namespace

std::string_view FsyncModeName(FsyncMode mode) {
  switch (mode) {
    case FsyncMode::kAlways:
      return "always";
    case FsyncMode::kEverysec:
      return "everysec";
    case FsyncMode::kNo:
      return "no";
  }
  return "unknown";
}

Result<FsyncMode> ParseFsyncMode(std::string_view name) {
  std::string lower;
  for (char c : name)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "always") return FsyncMode::kAlways;
  if (lower == "everysec") return FsyncMode::kEverysec;
  if (lower == "no") return FsyncMode::kNo;
  return Status::InvalidArgument("unknown fsync mode " + Quote(name) +
                                 " (expected always, everysec or no)");
}

// What the store keeps in memory per queue. The column family handle is owned by Store::Impl.
struct QueueState {
  QueueState(std::string queue_name, rocksdb::ColumnFamilyHandle* handle)
      : name(std::move(queue_name)), cf(handle) {}

  const std::string name;
  rocksdb::ColumnFamilyHandle* const cf;

  Mutex mu;
  QueueCounts counts GUARDED_BY(mu);
  IndexHead waiting GUARDED_BY(mu){"w|"};
  IndexHead delayed GUARDED_BY(mu){"d|"};
  IndexHead completed GUARDED_BY(mu){"c|"};
  // Completed entries claimed by in-flight Completes for deletion.
  std::uint64_t prune_claimed GUARDED_BY(mu) = 0;
};

// A Take written in the batch of other transitions (CompleteAndTake).
struct TakeAlong {
  QueueState* qs;
  std::int64_t now_ms;
  std::vector<Job> taken;
};

class Store::Impl {
 public:
  explicit Impl(StoreOptions options) : options_(std::move(options)) {
    log_ = options_.logger ? options_.logger : spdlog::default_logger();
    sync_write_options_.sync = true;
  }
  ~Impl();

  Status Open();

  // ---- Queues ----
  Status EnsureQueue(std::string_view queue);
  QueueState* FindQueue(std::string_view queue) const EXCLUDES(registry_mu_);
  Result<QueueState*> RequireQueue(std::string_view queue) const;
  std::vector<std::string> ListQueues() const EXCLUDES(registry_mu_);

  // ---- Transitions ----
  Result<std::vector<AddResult>> AddMany(std::string_view queue, std::vector<NewJob> jobs,
                                         std::int64_t now_ms);
  // An add planned and its batch made, not written yet (AddMany, AddAsync).
  struct PlannedAdd {
    QueueState* qs = nullptr;
    IdLocks::Guard guard;  // the custom ids, held until the write is done
    rocksdb::WriteBatch batch;
    std::vector<Change> changes;
    std::vector<AddResult> results;
  };
  Result<std::unique_ptr<PlannedAdd>> PlanAdd(std::string_view queue, std::vector<NewJob> jobs,
                                              std::int64_t now_ms);
  // After the write of `plan` (`written` its status): the queue's heads and counts.
  Result<std::vector<AddResult>> FinishAdd(PlannedAdd* plan, Status written);
  void AddAsync(std::string_view queue, NewJob job, std::int64_t now_ms,
                std::function<void(Result<AddResult>)> done);
  Result<std::vector<Job>> TakeMany(std::string_view queue, std::size_t max, std::int64_t now_ms);
  // Up to `max` waiting entries of the queue, claimed (refilling the head as needed). An error
  // only when nothing was claimed.
  Result<std::vector<IndexHead::Entry>> ClaimWaiting(QueueState* qs, std::size_t max)
      EXCLUDES(qs->mu);
  // Ends plan->claimed's claims and plans the take of each entry still there whose id the
  // caller holds (held[i]); an entry whose id it does not hold goes back to the head.
  void PlanTakes(QueueState* qs, const std::vector<bool>& held, std::int64_t now_ms,
                 PlannedTakes* plan) EXCLUDES(qs->mu);
  // After the batch with plan->changes was written (or failed: the claims go back).
  void FinishTakes(QueueState* qs, PlannedTakes* plan, bool written, std::vector<Job>* taken)
      EXCLUDES(qs->mu);
  // Reads job `id` under its lock, checks it is `from` (any state when nullopt), applies
  // `edit`, and writes one batch (removing the job when `remove`).
  Result<Job> Transition(std::string_view id, std::optional<JobState> from,
                         const std::function<void(Job&)>& edit, bool remove);
  // Transition for many jobs in one batch: each request succeeds or fails on its own (unknown
  // id, wrong state, an id given twice), and the ones that go ahead are written together.
  // With `take_along`, the first waiting job of take_along->qs is taken in the same batch
  // (when one is there and its id is free), into take_along->taken.
  std::vector<Result<Job>> TransitionMany(std::vector<TransitionRequest> requests,
                                          TakeAlong* take_along = nullptr);
  Result<std::uint64_t> RetryAllFailed(std::string_view queue, std::int64_t now_ms,
                                       std::vector<Job>* retried);
  Result<std::uint64_t> PromoteDue(std::string_view queue, std::int64_t now_ms, std::uint64_t limit,
                                   std::vector<Job>* promoted);
  Result<std::uint64_t> Clean(std::string_view queue, JobState state, std::int64_t older_than_ms,
                              std::uint64_t limit, std::vector<Job>* cleaned);
  std::optional<std::int64_t> NextDue(std::string_view queue) const;

  // ---- Reads ----
  // Job `id` as it is now (an active job as its lease made it).
  Result<Job> ReadJob(std::string_view id) const;
  // Job `id`'s record as written (an active job's reads as waiting).
  Result<Job> ReadStoredJob(std::string_view id) const;
  // An active job as kept in memory, with its payload read from its record when not kept.
  Result<Job> ActiveJob(const ActiveJobs::Found& active) const;
  Result<JobPage> List(std::string_view queue, JobState state, std::string_view cursor,
                       std::uint32_t count) const;
  Result<JobPage> ListActive(std::string_view queue, std::string_view cursor,
                             std::uint32_t count) const;

  // ---- Records ----
  rocksdb::ColumnFamilyHandle* RecordCf(RecordTable table) const;
  static std::string RecordKey(RecordTable table, std::string_view key);
  Result<std::vector<std::pair<std::string, std::string>>> ScanRecords(RecordTable table,
                                                                       std::string_view prefix,
                                                                       std::uint32_t limit,
                                                                       bool newest_first) const;

  // Writes out and syncs the WAL; a failed WAL write's error from then on (see wal_watch.h).
  Status SyncWal() {
    HERALD_RETURN_IF_ERROR(wal_fs_->wal_error());
    return FromRocks(db_->FlushWAL(/*sync=*/true), "sync WAL");
  }

  // Writes `batch`; in `always` mode returns once it is in a synced WAL (group commit).
  Status Write(rocksdb::WriteBatch* batch, std::string_view what) {
    if (wal_syncer_) return wal_syncer_->Commit(batch).WithPrefix(what);
    return FromRocks(db_->Write(write_options_, batch), what);
  }

  StoreOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  // Never syncs: in `always` mode wal_syncer_ does, for every write (all go through Write).
  rocksdb::WriteOptions write_options_;
  rocksdb::WriteOptions sync_write_options_;
  std::unique_ptr<WalSyncer> wal_syncer_;  // `always` mode only
  std::shared_ptr<rocksdb::Cache> cache_;
  rocksdb::ColumnFamilyOptions queue_cf_options_;
  rocksdb::ColumnFamilyOptions kv_cf_options_;
  // Declared before db_, which uses them until it is closed.
  std::shared_ptr<WalWatchFs> wal_fs_ = std::make_shared<WalWatchFs>();
  std::unique_ptr<rocksdb::Env> env_ = rocksdb::NewCompositeEnv(wal_fs_);
  std::unique_ptr<rocksdb::DB> db_;
  mutable Mutex registry_mu_;
  // Every open column family handle, destroyed before the database closes.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_ GUARDED_BY(registry_mu_);
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* jobs_ = nullptr;
  // The column family of each database of lists and strings; null for those not yet written.
  std::array<rocksdb::ColumnFamilyHandle*, kKvDatabases> kv_cfs_{};
  rocksdb::ColumnFamilyHandle* prefs_ = nullptr;
  rocksdb::ColumnFamilyHandle* inbox_ = nullptr;
  rocksdb::ColumnFamilyHandle* sent_ = nullptr;
  rocksdb::ColumnFamilyHandle* tickets_ = nullptr;

  std::map<std::string, std::unique_ptr<QueueState>, std::less<>> queues_ GUARDED_BY(registry_mu_);
  std::vector<rocksdb::ColumnFamilyHandle*> queue_handles_ GUARDED_BY(registry_mu_);
  Mutex create_mu_;  // serialises column family creation (slow: rewrites OPTIONS)

  // Sequence numbers: handed out by next_seq_ without a lock; a number is used only once
  // seq_limit_ (persisted before it is raised) is above it. seq_mu_ serialises raising it.
  std::atomic<std::uint64_t> next_seq_{1};
  std::atomic<std::uint64_t> seq_limit_{1};
  Mutex seq_mu_;

  IdLocks id_locks_;
  ActiveJobs active_jobs_;
  std::unique_ptr<KvStoreImpl> kv_;
  std::uint64_t recovered_active_ = 0;  // written by Open only

  std::mutex sync_mu_;
  std::condition_variable_any sync_cv_;
  std::jthread syncer_;

 private:
  Status OpenDatabase();
  Status CheckFormat();
  Status LoadSequence();
  Status LoadQueues();
  Status LoadQueue(QueueState* qs, std::int64_t now_ms);
  Status RecoverActive(QueueState* qs, std::vector<StalledEntry> active, std::int64_t now_ms);
  Status TrimCompleted(QueueState* qs);
  // Creates the column family of database `db` of lists and strings (KvStoreImpl::CreateCf).
  Result<rocksdb::ColumnFamilyHandle*> CreateKvCf(int db);

  Result<std::uint64_t> AllocateSeqs(std::uint64_t n) EXCLUDES(seq_mu_);

  static IndexHead* HeadOf(QueueState* qs, JobState state) REQUIRES(qs->mu);
  // Reads up to kRefillBatch more entries into `head` from the database.
  Status Refill(QueueState* qs, IndexHead* head, JobState state) REQUIRES(qs->mu);
  // The delayed head must show the earliest due entry whenever there is one (NextDue).
  void KeepDelayedHeadLoaded(QueueState* qs) REQUIRES(qs->mu);
  void ApplyLocked(QueueState* qs, const Change& c) REQUIRES(qs->mu);
  void AddToBatch(rocksdb::WriteBatch* batch, QueueState* qs, const Change& c) const;
  // Claims old completed jobs beyond the retention (counting `completing` more) and adds their
  // deletion to `batch`.
  void PlanPrune(QueueState* qs, std::uint64_t completing, rocksdb::WriteBatch* batch,
                 Prune* prune);
  void FinishPrune(QueueState* qs, Prune* prune, bool written) REQUIRES(qs->mu);
  // Up to `max` entries of an index in [start, end), ascending.
  Result<std::vector<IndexHead::Entry>> ScanIndex(QueueState* qs, std::string_view start,
                                                  std::string_view end, std::size_t max) const;
  // Applies `edit` (false = leave this job alone) to every entry whose job is still `from` at
  // that key, under the ids' locks, in one batch. `claimed` entries were popped from a head
  // and go back to it if the write fails.
  // `changed` (may be null) receives each job as written (as it was, when removed).
  Result<std::uint64_t> ApplyToEntries(QueueState* qs, JobState from,
                                       const std::vector<IndexHead::Entry>& entries, bool claimed,
                                       const std::function<bool(Job&)>& edit, bool remove,
                                       std::vector<Job>* changed = nullptr);
};

// ---- Open / close -------------------------------------------------------------------------------

Status Store::Impl::Open() {
  if (options_.data_dir.empty()) return Status::InvalidArgument("data_dir is required");
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  if (ec) {
    return Status::IOError("cannot create data directory " + Quote(options_.data_dir) + ": " +
                           ec.message());
  }
  HERALD_RETURN_IF_ERROR(OpenDatabase());
  HERALD_RETURN_IF_ERROR(CheckFormat());
  HERALD_RETURN_IF_ERROR(LoadSequence());
  HERALD_RETURN_IF_ERROR(LoadQueues());
  if (options_.fsync == FsyncMode::kAlways)
    wal_syncer_ = std::make_unique<WalSyncer>(db_.get(), wal_fs_.get());
  HERALD_ASSIGN_OR_RETURN(kv_, KvStoreImpl::Open(db_.get(), kv_cfs_, wal_syncer_.get(),
                                                 [this](int db) { return CreateKvCf(db); }));

  if (options_.fsync == FsyncMode::kEverysec) {
    syncer_ = std::jthread([this](std::stop_token stop) {
      bool failing = false;
      while (!stop.stop_requested()) {
        {
          std::unique_lock<std::mutex> lock(sync_mu_);
          sync_cv_.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
        }
        if (stop.stop_requested()) break;
        Status s = SyncWal();
        // Logged once per failure, not once a second.
        if (!s.ok() && !failing) log_->error("store: background WAL sync: {}", s.ToString());
        failing = !s.ok();
      }
    });
  }
  std::size_t queue_count = 0;
  {
    MutexLock lock(&registry_mu_);
    queue_count = queues_.size();
  }
  log_->info("store: opened {} (fsync {}, {} queues, {} active jobs recovered)", options_.data_dir,
             FsyncModeName(options_.fsync), queue_count, recovered_active_);
  return Status::Ok();
}

Status Store::Impl::OpenDatabase() {
  cache_ = rocksdb::NewLRUCache(static_cast<std::size_t>(options_.block_cache_mb) << 20);
  queue_cf_options_ = QueueCfOptions(cache_);
  kv_cf_options_ = KvCfOptions(cache_);

  rocksdb::DBOptions db_options;
  db_options.env = env_.get();
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  // RocksDB's log lines go to our logger, not to a LOG file in the data directory (see
  // rocks_logger.h: on a full disk that file made RocksDB abort).
  db_options.info_log = std::make_shared<RocksLogger>(log_);
  // Many column families share one WAL; a queue that sees little traffic must not pin old WAL
  // files forever: past this size its memtable is flushed.
  db_options.max_total_wal_size = 256 << 20;
  db_options.db_write_buffer_size = 256 << 20;
  // The leader of a write group inserts every member's batch itself: members then wake once
  // (when done) instead of twice, which on few cores costs less than inserting in parallel
  // (measured: 64 `always` writers need half the CPU per add).
  db_options.allow_concurrent_memtable_write = false;
  // With writers queued (local workers, producers, RESP clients), one write group's WAL write
  // then overlaps the previous group's memtable inserts. Not in `always` mode: WalSyncer
  // writes one group at a time, so there is nothing to overlap, only a hand-off more.
  db_options.enable_pipelined_write = options_.fsync != FsyncMode::kAlways;
  db_options.keep_log_file_num = 4;
  db_options.max_log_file_size = 16 << 20;

  std::vector<std::string> names;
  rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, options_.data_dir, &names);
  if (!listed.ok()) names = {rocksdb::kDefaultColumnFamilyName};  // a new database
  for (std::string_view system : {keys::kMetaCf, keys::kJobsCf, keys::kKvCf, keys::kPrefsCf,
                                  keys::kInboxCf, keys::kSentCf, keys::kTicketsCf}) {
    if (std::find(names.begin(), names.end(), system) == names.end()) {
      names.emplace_back(system);
    }
  }

  rocksdb::ColumnFamilyOptions system_options = BaseCfOptions(cache_);
  rocksdb::ColumnFamilyOptions jobs_options = JobsCfOptions(cache_, options_.fsync);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names) {
    if (keys::QueueOfCfName(name)) {
      descriptors.emplace_back(name, queue_cf_options_);
    } else if (name == keys::kJobsCf) {
      descriptors.emplace_back(name, jobs_options);
    } else if (keys::KvDatabaseOfCfName(name)) {
      descriptors.emplace_back(name, kv_cf_options_);
    } else {
      descriptors.emplace_back(name, system_options);
    }
  }
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  HERALD_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(db_options, options_.data_dir, descriptors, &handles, &raw),
                "open " + options_.data_dir));
  db_.reset(raw);

  MutexLock lock(&registry_mu_);
  handles_ = handles;
  for (auto* h : handles) {
    const std::string& name = h->GetName();
    if (name == keys::kMetaCf) meta_ = h;
    if (name == keys::kJobsCf) jobs_ = h;
    if (auto kv_db = keys::KvDatabaseOfCfName(name)) kv_cfs_[static_cast<std::size_t>(*kv_db)] = h;
    if (name == keys::kPrefsCf) prefs_ = h;
    if (name == keys::kInboxCf) inbox_ = h;
    if (name == keys::kSentCf) sent_ = h;
    if (name == keys::kTicketsCf) tickets_ = h;
    if (keys::QueueOfCfName(name)) queue_handles_.push_back(h);
  }
  return Status::Ok();
}

Status Store::Impl::CheckFormat() {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, keys::kFormatKey, &value);
  if (s.IsNotFound()) {
    return FromRocks(db_->Put(sync_write_options_, meta_, keys::kFormatKey,
                              keys::EncodeFormatVersion(keys::kFormatVersion)),
                     "write format version");
  }
  HERALD_RETURN_IF_ERROR(FromRocks(s, "read format version"));
  HERALD_ASSIGN_OR_RETURN(std::uint32_t version, keys::DecodeFormatVersion(value));
  if (version != keys::kFormatVersion) {
    return Status::Corruption("data directory " + Quote(options_.data_dir) +
                              " has format version " + std::to_string(version) +
                              "; this build reads version " + std::to_string(keys::kFormatVersion));
  }
  return Status::Ok();
}

Status Store::Impl::LoadSequence() {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, keys::kSeqLimitKey, &value);
  std::uint64_t start = 1;
  if (!s.IsNotFound()) {
    HERALD_RETURN_IF_ERROR(FromRocks(s, "read sequence limit"));
    HERALD_ASSIGN_OR_RETURN(start, keys::DecodeSeqLimit(value));
  }
  // Every number below the persisted limit may have been used before the restart; the first
  // allocation reserves a new block.
  next_seq_.store(start);
  seq_limit_.store(start);
  return Status::Ok();
}

Result<std::uint64_t> Store::Impl::AllocateSeqs(std::uint64_t n) {
  std::uint64_t first = next_seq_.fetch_add(n);
  std::uint64_t end = first + n;
  if (end <= seq_limit_.load(std::memory_order_acquire)) return first;
  MutexLock lock(&seq_mu_);
  std::uint64_t limit = seq_limit_.load(std::memory_order_acquire);
  if (end > limit) {
    std::uint64_t raised = std::max(end, next_seq_.load()) + kSeqBlock;
    // Synced even in the no/everysec modes: a number handed out must never be handed out
    // again, whatever else a machine crash loses.
    HERALD_RETURN_IF_ERROR(FromRocks(
        db_->Put(sync_write_options_, meta_, keys::kSeqLimitKey, keys::EncodeSeqLimit(raised)),
        "reserve sequence numbers"));
    seq_limit_.store(raised, std::memory_order_release);
  }
  return first;
}

Status Store::Impl::LoadQueues() {
  // The registry.
  std::set<std::string> registered;
  {
    std::string end = keys::PrefixEnd(keys::kQueueRegistryPrefix);
    rocksdb::Slice lower(keys::kQueueRegistryPrefix.data(), keys::kQueueRegistryPrefix.size());
    rocksdb::Slice upper(end);
    rocksdb::ReadOptions ro;
    ro.iterate_lower_bound = &lower;
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, meta_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      registered.insert(it->key().ToString().substr(keys::kQueueRegistryPrefix.size()));
    }
    HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "read queue registry"));
  }

  std::vector<rocksdb::ColumnFamilyHandle*> found;
  {
    MutexLock lock(&registry_mu_);
    found = queue_handles_;
  }
  std::vector<rocksdb::ColumnFamilyHandle*> kept;
  std::set<std::string> have;
  for (auto* h : found) {
    std::string queue(*keys::QueueOfCfName(h->GetName()));
    if (registered.count(queue) == 0) {
      // Created, then the process died before its registry row was written.
      log_->warn("store: dropping column family {} (no registry row)", h->GetName());
      HERALD_RETURN_IF_ERROR(FromRocks(db_->DropColumnFamily(h), "drop " + h->GetName()));
      {
        MutexLock lock(&registry_mu_);
        handles_.erase(std::find(handles_.begin(), handles_.end(), h));
      }
      HERALD_RETURN_IF_ERROR(FromRocks(db_->DestroyColumnFamilyHandle(h), "close " + queue));
      continue;
    }
    kept.push_back(h);
    have.insert(queue);
  }
  for (const auto& queue : registered) {
    if (have.count(queue) != 0) continue;
    log_->warn("store: recreating column family for registered queue {}", queue);
    rocksdb::ColumnFamilyHandle* h = nullptr;
    HERALD_RETURN_IF_ERROR(
        FromRocks(db_->CreateColumnFamily(queue_cf_options_, keys::QueueCfName(queue), &h),
                  "create " + queue));
    {
      MutexLock lock(&registry_mu_);
      handles_.push_back(h);
    }
    kept.push_back(h);
  }

  std::int64_t now_ms = WallClockMs();
  for (auto* h : kept) {
    std::string queue(*keys::QueueOfCfName(h->GetName()));
    auto qs = std::make_unique<QueueState>(queue, h);
    HERALD_RETURN_IF_ERROR(LoadQueue(qs.get(), now_ms).WithPrefix("queue " + queue));
    MutexLock lock(&registry_mu_);
    queues_.emplace(queue, std::move(qs));
  }
  MutexLock lock(&registry_mu_);
  queue_handles_ = kept;
  return Status::Ok();
}

Status Store::Impl::LoadQueue(QueueState* qs, std::int64_t now_ms) {
  // One pass over the column family: counters, the pause flag, and the active entries.
  QueueCounts counts;
  std::vector<StalledEntry> active;
  {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, qs->cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      rocksdb::Slice k = it->key();
      if (k.size() < 2 || k[1] != '|') continue;
      switch (k[0]) {
        case 'w':
          if (auto lease = keys::DecodeLease(it->value().ToStringView())) {
            ++counts.active;
            active.push_back(
                StalledEntry{k.ToString(), std::string(lease->id),
                             StalledEntry::LeaseInfo{lease->attempts_made, lease->processed_ms}});
          } else {
            ++counts.waiting;
          }
          break;
        case 'd':
          ++counts.delayed;
          break;
        case 'c':
          ++counts.completed;
          break;
        case 'f':
          ++counts.failed;
          break;
        case 'a':
          ++counts.active;
          active.push_back(StalledEntry{k.ToString(), it->value().ToString(), std::nullopt});
          break;
        case 'm':
          if (k.ToStringView() == keys::kPausedKey) {
            auto paused = keys::DecodeFlag(it->value().ToStringView());
            if (!paused.ok()) return paused.status();
            counts.paused = *paused;
          }
          break;
        default:
          break;
      }
    }
    HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "scan queue"));
  }
  {
    MutexLock lock(&qs->mu);
    qs->counts = counts;
  }
  HERALD_RETURN_IF_ERROR(RecoverActive(qs, std::move(active), now_ms));
  HERALD_RETURN_IF_ERROR(TrimCompleted(qs));
  MutexLock lock(&qs->mu);
  KeepDelayedHeadLoaded(qs);
  return Status::Ok();
}

Status Store::Impl::RecoverActive(QueueState* qs, std::vector<StalledEntry> active,
                                  std::int64_t now_ms) {
  // Leases live in memory: after a restart nobody works on an active job. Put each back at its
  // waiting key, or fail it when its attempts are used up (the attempt count was persisted by
  // Take, so a job that kills its worker every time still ends). An entry whose record is
  // gone or doesn't match (a bug or a damaged disk) is dropped, so that the counters stay true.
  std::uint64_t dropped = 0;
  for (std::size_t i = 0; i < active.size(); i += kBulkChunk) {
    rocksdb::WriteBatch batch;
    std::vector<Change> changes;
    std::uint64_t dropped_here = 0;
    for (std::size_t j = i; j < std::min(i + kBulkChunk, active.size()); ++j) {
      const StalledEntry& e = active[j];
      Result<Job> read = ReadStoredJob(e.id);
      if (!read.ok() && !read.status().IsNotFound()) return read.status();
      bool matches = false;
      if (read.ok()) {
        if (e.lease) {  // the record reads as waiting, at this key
          matches = read->state == JobState::kWaiting && keys::IndexKeyOf(*read) == e.key;
          read->attempts_made = e.lease->attempts_made;
          read->processed_ms = e.lease->processed_ms;
        } else {  // an older build's "a|" entry: the record reads as active
          matches = read->state == JobState::kActive && keys::ActiveKey(read->seq) == e.key;
        }
      }
      if (!matches) {
        batch.Delete(qs->cf, e.key);
        ++dropped_here;
        continue;
      }
      Change c;
      c.from = JobState::kActive;
      c.old_key = e.key;
      c.job = std::move(*read);
      c.job.last_error = std::string(kStalledError);
      if (c.job.attempts_made >= c.job.max_attempts) {
        c.job.state = JobState::kFailed;
        c.job.finished_ms = now_ms;
      } else {
        c.job.state = JobState::kWaiting;
      }
      c.new_key = keys::IndexKeyOf(c.job);
      AddToBatch(&batch, qs, c);
      changes.push_back(std::move(c));
    }
    HERALD_RETURN_IF_ERROR(Write(&batch, "recover active jobs of " + qs->name));
    MutexLock lock(&qs->mu);
    for (const Change& c : changes) ApplyLocked(qs, c);
    qs->counts.active -= std::min(qs->counts.active, dropped_here);
    recovered_active_ += changes.size();
    dropped += dropped_here;
  }
  if (dropped > 0) {
    log_->warn("store: queue {}: dropped {} active entries without a matching job record", qs->name,
               dropped);
  }
  if (!active.empty()) {
    log_->warn("store: queue {}: {} jobs were active when the store closed; put back", qs->name,
               active.size() - dropped);
  }
  return SyncWal().WithPrefix("sync recovery");
}

Status Store::Impl::TrimCompleted(QueueState* qs) {
  while (true) {
    std::vector<IndexHead::Entry> victims;
    {
      MutexLock lock(&qs->mu);
      if (qs->counts.completed <= options_.completed_retention) return Status::Ok();
      std::uint64_t excess = qs->counts.completed - options_.completed_retention;
      while (victims.size() < std::min<std::uint64_t>(excess, kBulkChunk)) {
        if (!qs->completed.HasAhead()) {
          if (qs->completed.complete()) break;
          HERALD_RETURN_IF_ERROR(Refill(qs, &qs->completed, JobState::kCompleted));
          if (!qs->completed.HasAhead()) break;
        }
        victims.push_back(qs->completed.PopFront());
      }
    }
    if (victims.empty()) return Status::Ok();
    HERALD_ASSIGN_OR_RETURN(std::uint64_t n,
                            ApplyToEntries(
                                qs, JobState::kCompleted, victims, /*claimed=*/true,
                                [](Job&) { return true; }, /*remove=*/true));
    if (n == 0) return Status::Ok();
  }
}

Store::Impl::~Impl() {
  if (syncer_.joinable()) {
    syncer_.request_stop();
    syncer_.join();
  }
  kv_.reset();
  wal_syncer_.reset();  // finishes the asynchronous adds still queued
  if (db_ == nullptr) return;
  if (Status synced = SyncWal(); !synced.ok()) {
    log_->error("store: WAL sync at close: {}", synced.ToString());
  }
  {
    MutexLock lock(&registry_mu_);
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
  }
  rocksdb::Status s = db_->Close();
  if (!s.ok()) log_->error("store: close failed: {}", s.ToString());
  db_.reset();
}

Result<rocksdb::ColumnFamilyHandle*> Store::Impl::CreateKvCf(int db) {
  const std::string name = keys::KvCfName(db);
  MutexLock create(&create_mu_);
  rocksdb::ColumnFamilyHandle* h = nullptr;
  HERALD_RETURN_IF_ERROR(
      FromRocks(db_->CreateColumnFamily(kv_cf_options_, name, &h), "create " + name));
  {
    MutexLock lock(&registry_mu_);
    handles_.push_back(h);
  }
  log_->info("store: created column family {} (database {})", name, db);
  return h;
}

// ---- Queues -----------------------------------------------------------------------------------

QueueState* Store::Impl::FindQueue(std::string_view queue) const {
  MutexLock lock(&registry_mu_);
  auto it = queues_.find(queue);
  return it == queues_.end() ? nullptr : it->second.get();
}

Result<QueueState*> Store::Impl::RequireQueue(std::string_view queue) const {
  QueueState* qs = FindQueue(queue);
  if (qs == nullptr) return Status::NotFound("unknown queue " + Quote(queue));
  return qs;
}

std::vector<std::string> Store::Impl::ListQueues() const {
  MutexLock lock(&registry_mu_);
  std::vector<std::string> out;
  out.reserve(queues_.size());
  for (const auto& [name, qs] : queues_) out.push_back(name);
  return out;
}

Status Store::Impl::EnsureQueue(std::string_view queue) {
  HERALD_RETURN_IF_ERROR(ValidateQueueName(queue));
  if (FindQueue(queue) != nullptr) return Status::Ok();
  MutexLock create(&create_mu_);
  if (FindQueue(queue) != nullptr) return Status::Ok();
  // Column family first, registry row second: a crash in between leaves a column family
  // without a row, which the next open drops.
  rocksdb::ColumnFamilyHandle* h = nullptr;
  HERALD_RETURN_IF_ERROR(
      FromRocks(db_->CreateColumnFamily(queue_cf_options_, keys::QueueCfName(queue), &h),
                "create queue " + std::string(queue)));
  Status s = FromRocks(db_->Put(sync_write_options_, meta_, keys::QueueRegistryKey(queue),
                                keys::EncodeQueueRow(WallClockMs())),
                       "register queue " + std::string(queue));
  if (!s.ok()) {
    rocksdb::Status dropped = db_->DropColumnFamily(h);
    if (!dropped.ok()) log_->error("store: drop after failed create: {}", dropped.ToString());
    db_->DestroyColumnFamilyHandle(h);
    return s;
  }
  auto qs = std::make_unique<QueueState>(std::string(queue), h);
  MutexLock lock(&registry_mu_);
  handles_.push_back(h);
  queue_handles_.push_back(h);
  queues_.emplace(std::string(queue), std::move(qs));
  log_->info("store: created queue {}", queue);
  return Status::Ok();
}

// ---- In-memory index bookkeeping --------------------------------------------------------------

IndexHead* Store::Impl::HeadOf(QueueState* qs, JobState state) {
  switch (state) {
    case JobState::kWaiting:
      return &qs->waiting;
    case JobState::kDelayed:
      return &qs->delayed;
    case JobState::kCompleted:
      return &qs->completed;
    default:
      return nullptr;
  }
}

Status Store::Impl::Refill(QueueState* qs, IndexHead* head, JobState state) {
  std::string start = head->lower();
  std::string end = keys::IndexEnd(state);
  rocksdb::Slice lower(start);
  rocksdb::Slice upper(end);
  // One snapshot for the index and the records, so each record read matches its entry.
  ScopedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.get();
  ro.iterate_lower_bound = &lower;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, qs->cf));
  std::vector<IndexHead::Entry> entries;
  entries.reserve(kRefillBatch);
  std::string last_scanned;
  for (it->Seek(lower); it->Valid() && entries.size() < kRefillBatch; it->Next()) {
    // A lease: that job is active, not waiting (keys.h); the head moves past it.
    if (state == JobState::kWaiting && keys::DecodeLease(it->value().ToStringView())) {
      last_scanned = it->key().ToString();
      continue;
    }
    entries.push_back({it->key().ToString(), it->value().ToString(), nullptr});
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "scan " + qs->name));
  bool reached_end = !it->Valid();
  if (state == JobState::kWaiting && !entries.empty()) {
    // Takes of these jobs come next: read their records in one batched lookup (consecutive
    // ids share blocks) instead of one Get each.
    std::vector<rocksdb::Slice> ids;
    ids.reserve(entries.size());
    for (const auto& e : entries) ids.emplace_back(e.id);
    std::vector<rocksdb::PinnableSlice> values(entries.size());
    std::vector<rocksdb::Status> statuses(entries.size());
    rocksdb::ReadOptions get_options;
    get_options.snapshot = snapshot.get();
    db_->MultiGet(get_options, jobs_, ids.size(), ids.data(), values.data(), statuses.data());
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (!statuses[i].ok() || values[i].size() > kMaxKeptPayload + 512) continue;
      Result<Job> job = DecodeJob(std::string_view(values[i].data(), values[i].size()));
      // Anything odd is left for Take to read and report.
      if (!job.ok() || job->state != JobState::kWaiting ||
          keys::IndexKeyOf(*job) != entries[i].key) {
        continue;
      }
      entries[i].record = std::make_shared<const Job>(std::move(*job));
    }
  }
  head->AppendScanned(std::move(entries), reached_end, last_scanned);
  return Status::Ok();
}

void Store::Impl::KeepDelayedHeadLoaded(QueueState* qs) {
  if (qs->delayed.HasAhead() || qs->delayed.complete() || qs->counts.delayed == 0) return;
  Status s = Refill(qs, &qs->delayed, JobState::kDelayed);
  if (!s.ok()) log_->error("store: queue {}: reading delayed jobs: {}", qs->name, s.ToString());
}

void Store::Impl::ApplyLocked(QueueState* qs, const Change& c) {
  if (c.from) {
    std::uint64_t& n = CountOf(qs->counts, *c.from);
    if (n > 0) --n;
    if (IndexHead* head = HeadOf(qs, *c.from)) head->Erase(c.old_key);
  }
  if (!c.removed) {
    ++CountOf(qs->counts, c.job.state);
    if (IndexHead* head = HeadOf(qs, c.job.state)) {
      std::shared_ptr<const Job> record;
      if (c.job.state == JobState::kWaiting && c.job.payload.size() <= kMaxKeptPayload &&
          head->Keeps(c.new_key)) {
        record = std::make_shared<const Job>(c.job);
      }
      head->Insert(c.new_key, c.job.id, std::move(record));
    }
  }
}

void Store::Impl::AddToBatch(rocksdb::WriteBatch* batch, QueueState* qs, const Change& c) const {
  if (c.from == JobState::kWaiting && c.job.state == JobState::kActive) {
    // A take: the lease at the job's waiting key; the record stays as it was (keys.h).
    batch->Put(qs->cf, c.old_key,
               keys::EncodeLease(c.job.id, c.job.attempts_made, c.job.processed_ms));
    return;
  }
  if (!c.old_key.empty() && c.old_key != c.new_key) batch->Delete(qs->cf, c.old_key);
  if (c.removed) {
    batch->Delete(jobs_, c.job.id);
    return;
  }
  batch->Put(qs->cf, c.new_key, c.job.id);
  batch->Put(jobs_, c.job.id, EncodeJob(c.job));
}

void Store::Impl::PlanPrune(QueueState* qs, std::uint64_t completing, rocksdb::WriteBatch* batch,
                            Prune* prune) {
  {
    MutexLock lock(&qs->mu);
    // Counting the jobs being completed now.
    auto retention = static_cast<std::int64_t>(options_.completed_retention);
    std::int64_t excess = static_cast<std::int64_t>(qs->counts.completed) +
                          static_cast<std::int64_t>(completing) -
                          static_cast<std::int64_t>(qs->prune_claimed) - retention;
    if (excess <= std::min(retention / 16, kMaxPruneSlack)) return;
    excess = std::min(excess, kMaxPrunePerComplete * static_cast<std::int64_t>(completing));
    while (static_cast<std::int64_t>(prune->claimed.size()) < excess) {
      if (!qs->completed.HasAhead()) {
        if (qs->completed.complete()) {
          prune->ran_out = true;
          break;
        }
        Status s = Refill(qs, &qs->completed, JobState::kCompleted);
        if (!s.ok()) {
          log_->error("store: queue {}: reading completed jobs: {}", qs->name, s.ToString());
          break;
        }
        if (!qs->completed.HasAhead()) {
          prune->ran_out = true;
          break;
        }
      }
      prune->claimed.push_back(qs->completed.Claim());
    }
    qs->prune_claimed += prune->claimed.size();
  }
  // Only try: this thread already holds the completing jobs' ids. A victim whose claim is
  // still valid once its id is held is a completed job at that key (every other change of it
  // erases the key from the head first), so it is deleted without reading its record.
  std::vector<std::optional<IdLocks::Guard>> held;
  held.reserve(prune->claimed.size());
  for (const auto& victim : prune->claimed) held.push_back(id_locks_.TryLock(victim.id));
  MutexLock lock(&qs->mu);
  for (std::size_t i = 0; i < prune->claimed.size(); ++i) {
    const IndexHead::Entry& victim = prune->claimed[i];
    bool still_there = qs->completed.EndClaim(victim.key);
    if (!held[i]) {
      if (still_there) prune->give_back.push_back(victim);
      continue;
    }
    if (!still_there) continue;
    batch->Delete(qs->cf, victim.key);
    batch->Delete(jobs_, victim.id);
    prune->deleted.push_back(victim);
    prune->guards.push_back(std::move(*held[i]));
  }
}

void Store::Impl::FinishPrune(QueueState* qs, Prune* prune, bool written) {
  qs->prune_claimed -= std::min<std::uint64_t>(qs->prune_claimed, prune->claimed.size());
  if (!written) {
    // Claims are over: the victims that were to go are ahead again.
    for (auto& e : prune->deleted) qs->completed.Insert(std::move(e.key), std::move(e.id));
  } else {
    qs->counts.completed -= std::min<std::uint64_t>(qs->counts.completed, prune->deleted.size());
  }
  for (auto& e : prune->give_back) qs->completed.Insert(std::move(e.key), std::move(e.id));
}

Result<std::vector<IndexHead::Entry>> Store::Impl::ScanIndex(QueueState* qs, std::string_view start,
                                                             std::string_view end,
                                                             std::size_t max) const {
  std::string start_key(start);
  std::string end_key(end);
  rocksdb::Slice lower(start_key);
  rocksdb::Slice upper(end_key);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, qs->cf));
  std::vector<IndexHead::Entry> out;
  for (it->Seek(lower); it->Valid() && out.size() < max; it->Next()) {
    if (keys::DecodeLease(it->value().ToStringView())) continue;  // an active job
    out.push_back({it->key().ToString(), it->value().ToString(), nullptr});
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "scan " + qs->name));
  return out;
}

Result<std::uint64_t> Store::Impl::ApplyToEntries(QueueState* qs, JobState from,
                                                  const std::vector<IndexHead::Entry>& entries,
                                                  bool claimed,
                                                  const std::function<bool(Job&)>& edit,
                                                  bool remove, std::vector<Job>* changed) {
  if (entries.empty()) return std::uint64_t{0};
  std::vector<std::string> ids;
  ids.reserve(entries.size());
  for (const auto& e : entries) ids.push_back(e.id);
  IdLocks::Guard guard = id_locks_.LockMany(std::move(ids));

  rocksdb::WriteBatch batch;
  std::vector<Change> changes;
  for (const auto& e : entries) {
    Result<Job> job = ReadJob(e.id);
    if (!job.ok()) {
      if (!job.status().IsNotFound()) {
        log_->error("store: queue {}: skipping {}", qs->name, job.status().ToString());
      }
      continue;
    }
    if (job->state != from || keys::IndexKeyOf(*job) != e.key) continue;  // moved meanwhile
    if (!edit(*job)) continue;
    Change c;
    c.from = from;
    c.old_key = e.key;
    c.removed = remove;
    if (!remove) c.new_key = keys::IndexKeyOf(*job);
    c.job = std::move(*job);
    AddToBatch(&batch, qs, c);
    changes.push_back(std::move(c));
  }
  Status s = changes.empty() ? Status::Ok() : Write(&batch, "update " + qs->name);
  MutexLock lock(&qs->mu);
  if (!s.ok()) {
    IndexHead* head = HeadOf(qs, from);
    if (claimed && head != nullptr) {
      for (const auto& e : entries) head->Insert(e.key, e.id);
    }
    return s;
  }
  for (const auto& c : changes) ApplyLocked(qs, c);
  KeepDelayedHeadLoaded(qs);
  if (changed != nullptr) {
    for (auto& c : changes) changed->push_back(std::move(c.job));
  }
  return static_cast<std::uint64_t>(changes.size());
}

// ---- Transitions ------------------------------------------------------------------------------

Result<std::vector<AddResult>> Store::Impl::AddMany(std::string_view queue,
                                                    std::vector<NewJob> jobs, std::int64_t now_ms) {
  HERALD_ASSIGN_OR_RETURN(std::unique_ptr<PlannedAdd> plan,
                          PlanAdd(queue, std::move(jobs), now_ms));
  if (plan->changes.empty()) return std::move(plan->results);
  Status written = Write(&plan->batch, "add to " + plan->qs->name);
  return FinishAdd(plan.get(), std::move(written));
}

void Store::Impl::AddAsync(std::string_view queue, NewJob job, std::int64_t now_ms,
                           std::function<void(Result<AddResult>)> done) {
  std::vector<NewJob> jobs;
  jobs.push_back(std::move(job));
  if (!wal_syncer_) {  // nothing to wait for but the write itself
    auto added = AddMany(queue, std::move(jobs), now_ms);
    if (!added.ok()) return done(added.status());
    return done(std::move(added->front()));
  }
  auto planned = PlanAdd(queue, std::move(jobs), now_ms);
  if (!planned.ok()) return done(planned.status());
  std::shared_ptr<PlannedAdd> plan = std::move(*planned);
  if (plan->changes.empty()) return done(std::move(plan->results.front()));
  wal_syncer_->CommitAsync(std::move(plan->batch), [this, plan, done = std::move(done)](Status s) {
    auto added = FinishAdd(plan.get(), s.WithPrefix("add to " + plan->qs->name));
    // The ids are free before `done` runs: it may add the same id again (IdLocks don't nest).
    plan->guard = IdLocks::Guard();
    if (!added.ok()) return done(added.status());
    done(std::move(added->front()));
  });
}

Result<std::vector<AddResult>> Store::Impl::FinishAdd(PlannedAdd* plan, Status written) {
  HERALD_RETURN_IF_ERROR(written);
  QueueState* qs = plan->qs;
  MutexLock lock(&qs->mu);
  for (const auto& c : plan->changes) ApplyLocked(qs, c);
  KeepDelayedHeadLoaded(qs);
  return std::move(plan->results);
}

Result<std::unique_ptr<Store::Impl::PlannedAdd>> Store::Impl::PlanAdd(std::string_view queue,
                                                                      std::vector<NewJob> jobs,
                                                                      std::int64_t now_ms) {
  auto plan = std::make_unique<PlannedAdd>();
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, RequireQueue(queue));
  plan->qs = qs;
  for (const auto& job : jobs) HERALD_RETURN_IF_ERROR(ValidateNewJob(job));
  std::vector<AddResult>& results = plan->results;
  results.resize(jobs.size());
  if (jobs.empty()) return plan;

  // Custom ids: held for the whole add, so two adds of one id can't both create it.
  std::vector<std::string> custom;
  for (const auto& job : jobs) {
    if (!job.id.empty()) custom.push_back(job.id);
  }
  if (!custom.empty()) plan->guard = id_locks_.LockMany(custom);

  std::vector<bool> create(jobs.size(), true);
  std::unordered_map<std::string, JobState> known;  // ids existing or created by this call
  std::uint64_t n_new = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const std::string& id = jobs[i].id;
    if (!id.empty()) {
      auto seen = known.find(id);
      if (seen != known.end()) {
        results[i] = AddResult{id, false, seen->second};
        create[i] = false;
        continue;
      }
      Result<Job> existing = ReadJob(id);
      if (existing.ok()) {
        results[i] = AddResult{id, false, existing->state};
        known.emplace(id, existing->state);
        create[i] = false;
        continue;
      }
      if (!existing.status().IsNotFound()) return existing.status();
      known.emplace(id, jobs[i].due_ms > now_ms ? JobState::kDelayed : JobState::kWaiting);
    }
    ++n_new;
  }
  if (n_new == 0) return plan;

  HERALD_ASSIGN_OR_RETURN(std::uint64_t seq, AllocateSeqs(n_new));
  std::size_t batch_bytes = kBatchHeaderBytes;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (create[i]) batch_bytes += jobs[i].payload.size() + jobs[i].id.size() + kBatchBytesPerJob;
  }
  rocksdb::WriteBatch& batch = plan->batch;
  batch = rocksdb::WriteBatch(batch_bytes);
  std::vector<Change>& changes = plan->changes;
  changes.reserve(static_cast<std::size_t>(n_new));
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (!create[i]) continue;
    NewJob& in = jobs[i];
    Change c;
    Job& job = c.job;
    job.seq = seq++;
    job.custom_id = !in.id.empty();
    job.id = job.custom_id ? std::move(in.id) : std::to_string(job.seq);
    job.queue = qs->name;
    job.payload = std::move(in.payload);
    job.priority = in.priority;
    job.max_attempts = in.max_attempts;
    job.backoff_type = in.backoff_type;
    job.backoff_ms = in.backoff_ms;
    job.created_ms = now_ms;
    if (in.due_ms > now_ms) {
      job.state = JobState::kDelayed;
      job.due_ms = in.due_ms;
    }
    c.new_key = keys::IndexKeyOf(job);
    AddToBatch(&batch, qs, c);
    results[i] = AddResult{job.id, true, job.state};
    changes.push_back(std::move(c));
  }
  return plan;
}

Result<std::vector<IndexHead::Entry>> Store::Impl::ClaimWaiting(QueueState* qs, std::size_t max) {
  std::vector<IndexHead::Entry> claimed;
  MutexLock lock(&qs->mu);
  while (claimed.size() < max && qs->counts.waiting > claimed.size()) {
    if (!qs->waiting.HasAhead()) {
      // Complete and empty: every waiting job is claimed by a Take in flight.
      if (qs->waiting.complete()) break;
      Status s = Refill(qs, &qs->waiting, JobState::kWaiting);
      if (!s.ok()) {
        if (claimed.empty()) return s;
        log_->error("store: queue {}: reading waiting jobs: {}", qs->name, s.ToString());
        break;
      }
      if (!qs->waiting.HasAhead()) break;
    }
    // Claimed: no other Take sees this entry again (it is below the head's lower bound and no
    // longer ahead).
    claimed.push_back(qs->waiting.Claim());
  }
  return claimed;
}

void Store::Impl::PlanTakes(QueueState* qs, const std::vector<bool>& held, std::int64_t now_ms,
                            PlannedTakes* plan) {
  std::vector<bool> still_there(plan->claimed.size());
  {
    MutexLock lock(&qs->mu);
    for (std::size_t i = 0; i < plan->claimed.size(); ++i) {
      IndexHead::Entry& e = plan->claimed[i];
      still_there[i] = qs->waiting.EndClaim(e.key);
      // An id someone else holds: the entry stays waiting for a later Take.
      if (!held[i] && still_there[i]) {
        qs->waiting.Insert(std::move(e.key), std::move(e.id), std::move(e.record));
      }
    }
  }
  for (std::size_t i = 0; i < plan->claimed.size(); ++i) {
    if (!held[i] || !still_there[i]) continue;  // deleted or cleaned before we held its id
    const IndexHead::Entry& e = plan->claimed[i];
    Job job;
    if (e.record) {
      job = *e.record;
    } else {
      Result<Job> read = ReadJob(e.id);
      if (!read.ok()) {
        if (read.status().IsNotFound()) continue;
        // A record that can't be read stays where it is, skipped until the next open.
        log_->error("store: queue {}: Take skips {}", qs->name, read.status().ToString());
        plan->read_error = read.status();
        continue;
      }
      job = std::move(*read);
    }
    if (job.state != JobState::kWaiting || keys::IndexKeyOf(job) != e.key) continue;
    Change c;
    c.from = JobState::kWaiting;
    c.old_key = e.key;
    c.job = std::move(job);
    c.job.state = JobState::kActive;
    c.job.attempts_made += 1;
    c.job.processed_ms = now_ms;
    c.new_key = keys::IndexKeyOf(c.job);
    plan->changes.push_back(std::move(c));
    plan->sources.push_back(i);
  }
}

void Store::Impl::FinishTakes(QueueState* qs, PlannedTakes* plan, bool written,
                              std::vector<Job>* taken) {
  {
    MutexLock lock(&qs->mu);
    if (!written) {
      for (std::size_t i : plan->sources) {
        IndexHead::Entry& e = plan->claimed[i];
        qs->waiting.Insert(std::move(e.key), std::move(e.id), std::move(e.record));
      }
      return;
    }
    for (const Change& c : plan->changes) ApplyLocked(qs, c);
  }
  for (Change& c : plan->changes) {
    active_jobs_.Put(std::make_shared<const Job>(c.job));
    taken->push_back(std::move(c.job));
  }
}

Result<std::vector<Job>> Store::Impl::TakeMany(std::string_view queue, std::size_t max,
                                               std::int64_t now_ms) {
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, RequireQueue(queue));
  std::vector<Job> taken;
  while (taken.size() < max) {
    PlannedTakes plan;
    {
      auto claimed = ClaimWaiting(qs, max - taken.size());
      if (!claimed.ok()) {
        if (taken.empty()) return claimed.status();
        break;
      }
      plan.claimed = std::move(*claimed);
    }
    if (plan.claimed.empty()) break;
    std::vector<std::string> ids;
    ids.reserve(plan.claimed.size());
    for (const auto& e : plan.claimed) ids.push_back(e.id);
    IdLocks::Guard guard = id_locks_.LockMany(std::move(ids));
    PlanTakes(qs, std::vector<bool>(plan.claimed.size(), true), now_ms, &plan);
    if (plan.changes.empty()) {
      if (!plan.read_error.ok() && taken.empty()) return plan.read_error;
      if (!plan.read_error.ok()) break;
      continue;  // every claim was voided: claim again
    }
    rocksdb::WriteBatch batch(kBatchHeaderBytes + kBatchBytesPerJob * plan.changes.size());
    for (const Change& c : plan.changes) AddToBatch(&batch, qs, c);
    Status s = Write(&batch, "take from " + qs->name);
    FinishTakes(qs, &plan, s.ok(), &taken);
    if (!s.ok()) {
      if (taken.empty()) return s;
      log_->error("store: queue {}: take: {}", qs->name, s.ToString());
      break;
    }
    if (!plan.read_error.ok()) break;
  }
  return taken;
}

Result<Job> Store::Impl::Transition(std::string_view id, std::optional<JobState> from,
                                    const std::function<void(Job&)>& edit, bool remove) {
  std::vector<TransitionRequest> one;
  one.push_back(TransitionRequest{std::string(id), from, edit, remove});
  return std::move(TransitionMany(std::move(one)).front());
}

std::vector<Result<Job>> Store::Impl::TransitionMany(std::vector<TransitionRequest> requests,
                                                     TakeAlong* take_along) {
  std::vector<Result<Job>> results;
  results.reserve(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    results.emplace_back(Status::Internal("transition not planned"));
  }
  if (requests.empty()) return results;
  std::vector<std::string> ids;
  ids.reserve(requests.size());
  for (const auto& r : requests) ids.push_back(r.id);
  IdLocks::Guard guard = id_locks_.LockMany(std::move(ids));

  // Planned under the ids' locks: one Change per request that can go ahead.
  struct Planned {
    std::size_t index;
    QueueState* qs;
    Change change;
  };
  std::vector<Planned> planned;
  planned.reserve(requests.size());
  std::unordered_map<std::string_view, std::size_t> seen;  // id -> request index
  for (std::size_t i = 0; i < requests.size(); ++i) {
    TransitionRequest& r = requests[i];
    if (!seen.emplace(r.id, i).second) {
      results[i] = Status::InvalidArgument("job " + r.id + " given twice");
      continue;
    }
    Result<Job> read = ReadJob(r.id);
    if (!read.ok()) {
      results[i] = read.status();
      continue;
    }
    Job job = std::move(*read);
    if (r.from && job.state != *r.from) {
      results[i] = WrongState(job, *r.from);
      continue;
    }
    QueueState* qs = FindQueue(job.queue);
    if (qs == nullptr) {
      results[i] = Status::Corruption("job " + job.id + " names unknown queue " + Quote(job.queue));
      continue;
    }
    Change c;
    c.from = job.state;
    c.old_key = keys::IndexKeyOf(job);
    r.edit(job);
    c.removed = r.remove;
    if (!r.remove) c.new_key = keys::IndexKeyOf(job);
    c.job = std::move(job);
    planned.push_back(Planned{i, qs, std::move(c)});
  }
  if (planned.empty()) return results;

  // A take that goes along (CompleteAndTake): its ids are only tried, since this thread
  // already holds the transitions' ids.
  PlannedTakes takes;
  std::vector<IdLocks::Guard> take_guards;
  if (take_along != nullptr) {
    auto claimed = ClaimWaiting(take_along->qs, 1);
    if (claimed.ok()) takes.claimed = std::move(*claimed);
    std::vector<bool> held;
    for (const auto& e : takes.claimed) {
      std::optional<IdLocks::Guard> g = id_locks_.TryLock(e.id);
      held.push_back(g.has_value());
      if (g) take_guards.push_back(std::move(*g));
    }
    PlanTakes(take_along->qs, held, take_along->now_ms, &takes);
  }

  std::size_t batch_bytes = kBatchHeaderBytes + kBatchBytesPerJob * takes.changes.size();
  for (const Planned& p : planned) batch_bytes += p.change.job.payload.size() + kBatchBytesPerJob;
  rocksdb::WriteBatch batch(batch_bytes);
  for (const Change& c : takes.changes) AddToBatch(&batch, take_along->qs, c);
  // Completed jobs beyond the retention, per queue that completes jobs in this batch.
  std::vector<std::pair<QueueState*, std::uint64_t>> completing;
  for (const Planned& p : planned) {
    AddToBatch(&batch, p.qs, p.change);
    if (p.change.removed || p.change.job.state != JobState::kCompleted) continue;
    auto it = std::find_if(completing.begin(), completing.end(),
                           [&](const auto& e) { return e.first == p.qs; });
    if (it == completing.end()) {
      completing.emplace_back(p.qs, 1);
    } else {
      ++it->second;
    }
  }
  std::vector<Prune> prunes(completing.size());
  for (std::size_t q = 0; q < completing.size(); ++q) {
    PlanPrune(completing[q].first, completing[q].second, &batch, &prunes[q]);
  }
  Status s =
      Write(&batch, planned.size() == 1 ? "update job " + planned.front().change.job.id
                                        : "update " + std::to_string(planned.size()) + " jobs");
  for (std::size_t q = 0; q < completing.size(); ++q) {
    QueueState* qs = completing[q].first;
    MutexLock lock(&qs->mu);
    FinishPrune(qs, &prunes[q], s.ok());
  }
  if (take_along != nullptr) FinishTakes(take_along->qs, &takes, s.ok(), &take_along->taken);
  for (Planned& p : planned) {
    if (!s.ok()) {
      results[p.index] = s;
      continue;
    }
    Change& c = p.change;
    if (c.from == JobState::kActive) active_jobs_.Erase(c.job.id);
    {
      MutexLock lock(&p.qs->mu);
      ApplyLocked(p.qs, c);
      if (c.from == JobState::kDelayed || c.job.state == JobState::kDelayed) {
        KeepDelayedHeadLoaded(p.qs);
      }
    }
    results[p.index] = std::move(c.job);
  }
  std::vector<bool> ran_out;
  for (const Prune& prune : prunes) ran_out.push_back(prune.ran_out);
  prunes.clear();  // releases the victims' ids
  take_guards.clear();
  guard = IdLocks::Guard();
  // A batch's own jobs can't be pruned in its batch: with a retention smaller than the batch,
  // trim now rather than leave more than the retention (plus slack) until the next complete.
  for (std::size_t q = 0; q < completing.size(); ++q) {
    QueueState* qs = completing[q].first;
    if (!ran_out[q]) continue;
    bool over;
    {
      MutexLock lock(&qs->mu);
      auto retention = static_cast<std::int64_t>(options_.completed_retention);
      over = static_cast<std::int64_t>(qs->counts.completed) >
             retention + std::min(retention / 16, kMaxPruneSlack);
    }
    if (!over || !s.ok()) continue;
    Status trimmed = TrimCompleted(qs);
    if (!trimmed.ok()) {
      log_->error("store: queue {}: completed retention: {}", qs->name, trimmed.ToString());
    }
  }
  return results;
}

Result<std::uint64_t> Store::Impl::RetryAllFailed(std::string_view queue, std::int64_t now_ms,
                                                  std::vector<Job>* retried) {
  (void)now_ms;
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, RequireQueue(queue));
  // Stop at the last failed job present now, so a stream of new failures can't keep this going.
  std::string start(keys::IndexPrefix(JobState::kFailed));
  std::string end;
  {
    std::string prefix_end = keys::IndexEnd(JobState::kFailed);
    rocksdb::Slice lower(start);
    rocksdb::Slice upper(prefix_end);
    rocksdb::ReadOptions ro;
    ro.iterate_lower_bound = &lower;
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, qs->cf));
    it->SeekToLast();
    HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "scan " + qs->name));
    if (!it->Valid()) return std::uint64_t{0};
    end = keys::Successor(it->key().ToStringView());
  }
  auto retry = [](Job& job) {
    job.state = JobState::kWaiting;
    job.attempts_made = 0;
    job.finished_ms = 0;
    return true;
  };
  std::uint64_t total = 0;
  while (true) {
    HERALD_ASSIGN_OR_RETURN(auto entries, ScanIndex(qs, start, end, kBulkChunk));
    if (entries.empty()) break;
    start = keys::Successor(entries.back().key);
    HERALD_ASSIGN_OR_RETURN(std::uint64_t n, ApplyToEntries(qs, JobState::kFailed, entries, false,
                                                            retry, false, retried));
    total += n;
  }
  return total;
}

Result<std::uint64_t> Store::Impl::PromoteDue(std::string_view queue, std::int64_t now_ms,
                                              std::uint64_t limit, std::vector<Job>* promoted) {
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, RequireQueue(queue));
  std::uint64_t total = 0;
  std::uint64_t claimed_total = 0;
  while (claimed_total < limit) {
    std::vector<IndexHead::Entry> entries;
    {
      MutexLock lock(&qs->mu);
      std::uint64_t want = std::min<std::uint64_t>(kBulkChunk, limit - claimed_total);
      while (entries.size() < want) {
        if (!qs->delayed.HasAhead()) {
          if (qs->counts.delayed == 0 || qs->delayed.complete()) break;
          HERALD_RETURN_IF_ERROR(Refill(qs, &qs->delayed, JobState::kDelayed));
          if (!qs->delayed.HasAhead()) break;
        }
        if (keys::TimeOfIndexKey(qs->delayed.Front().key).value_or(0) > now_ms) break;
        entries.push_back(qs->delayed.PopFront());
      }
    }
    if (entries.empty()) break;
    claimed_total += entries.size();
    HERALD_ASSIGN_OR_RETURN(std::uint64_t n, ApplyToEntries(
                                                 qs, JobState::kDelayed, entries, /*claimed=*/true,
                                                 [](Job& job) {
                                                   job.state = JobState::kWaiting;
                                                   return true;
                                                 },
                                                 false, promoted));
    total += n;
  }
  return total;
}

std::optional<std::int64_t> Store::Impl::NextDue(std::string_view queue) const {
  QueueState* qs = FindQueue(queue);
  if (qs == nullptr) return std::nullopt;
  MutexLock lock(&qs->mu);
  if (!qs->delayed.HasAhead()) return std::nullopt;
  return keys::TimeOfIndexKey(qs->delayed.Front().key);
}

Result<std::uint64_t> Store::Impl::Clean(std::string_view queue, JobState state,
                                         std::int64_t older_than_ms, std::uint64_t limit,
                                         std::vector<Job>* cleaned) {
  if (state == JobState::kActive) {
    return Status::InvalidArgument("active jobs can't be cleaned (they are being worked on)");
  }
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, RequireQueue(queue));
  std::string start;
  {
    MutexLock lock(&qs->mu);
    IndexHead* head = HeadOf(qs, state);
    start =
        head != nullptr ? std::string(head->ScanStart()) : std::string(keys::IndexPrefix(state));
  }
  // Time-ordered indexes stop at the cut-off; waiting is ordered by priority, so every entry's
  // record is checked.
  std::string end = state == JobState::kWaiting ? keys::IndexEnd(state)
                                                : keys::TimeIndexBound(state, older_than_ms);
  std::uint64_t removed = 0;
  while (removed < limit) {
    std::size_t want =
        state == JobState::kWaiting
            ? kBulkChunk
            : static_cast<std::size_t>(std::min<std::uint64_t>(kBulkChunk, limit - removed));
    HERALD_ASSIGN_OR_RETURN(auto entries, ScanIndex(qs, start, end, want));
    if (entries.empty()) break;
    start = keys::Successor(entries.back().key);
    std::uint64_t budget = limit - removed;
    std::uint64_t planned = 0;
    auto edit = [&](Job& job) {
      if (state == JobState::kWaiting && job.created_ms >= older_than_ms) return false;
      if (planned >= budget) return false;
      ++planned;
      return true;
    };
    HERALD_ASSIGN_OR_RETURN(std::uint64_t n, ApplyToEntries(qs, state, entries, false, edit,
                                                            /*remove=*/true, cleaned));
    removed += n;
  }
  return removed;
}

// ---- Reads ------------------------------------------------------------------------------------

Result<Job> Store::Impl::ReadJob(std::string_view id) const {
  // An active job: its record on disk still reads as waiting (keys.h, leases).
  if (std::optional<ActiveJobs::Found> active = active_jobs_.Find(id)) return ActiveJob(*active);
  return ReadStoredJob(id);
}

Result<Job> Store::Impl::ActiveJob(const ActiveJobs::Found& active) const {
  if (active.payload_kept) return Job(*active.job);
  HERALD_ASSIGN_OR_RETURN(Job stored, ReadStoredJob(active.job->id));
  Job job(*active.job);
  job.payload = std::move(stored.payload);
  return job;
}

Result<Job> Store::Impl::ReadStoredJob(std::string_view id) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), jobs_, id, &value);
  if (s.IsNotFound()) return Status::NotFound("job " + std::string(id) + " not found");
  HERALD_RETURN_IF_ERROR(FromRocks(s, "read job " + std::string(id)));
  Result<Job> job = DecodeJob(std::string_view(value.data(), value.size()));
  if (!job.ok()) return job.status().WithPrefix("job " + std::string(id));
  return job;
}

Result<JobPage> Store::Impl::List(std::string_view queue, JobState state, std::string_view cursor,
                                  std::uint32_t count) const {
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, RequireQueue(queue));
  count = std::clamp<std::uint32_t>(count, 1, 10000);
  if (state == JobState::kActive) return ListActive(queue, cursor, count);
  std::string prefix(keys::IndexPrefix(state));
  std::string scan_start = prefix;
  {
    MutexLock lock(&qs->mu);
    if (IndexHead* head = HeadOf(qs, state)) scan_start = std::string(head->ScanStart());
  }
  std::optional<std::string> from;
  if (!cursor.empty()) {
    std::optional<std::string> raw = keys::FromHex(cursor);
    if (!raw) return Status::InvalidArgument("invalid cursor");
    from = prefix + *raw;
  }
  bool newest_first = state == JobState::kCompleted || state == JobState::kFailed;
  std::string lower_key = scan_start;
  std::string upper_key = keys::IndexEnd(state);
  if (from) {
    if (newest_first) {
      upper_key = keys::Successor(*from);
    } else {
      lower_key = std::max(lower_key, *from);
    }
  }
  rocksdb::Slice lower(lower_key);
  rocksdb::Slice upper(upper_key);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, qs->cf));
  std::vector<IndexHead::Entry> entries;
  if (newest_first) {
    for (it->SeekToLast(); it->Valid() && entries.size() <= count; it->Prev()) {
      entries.push_back({it->key().ToString(), it->value().ToString(), nullptr});
    }
  } else {
    for (it->SeekToFirst(); it->Valid() && entries.size() <= count; it->Next()) {
      if (keys::DecodeLease(it->value().ToStringView())) continue;  // an active job
      entries.push_back({it->key().ToString(), it->value().ToString(), nullptr});
    }
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "list " + qs->name));
  JobPage page;
  if (entries.size() > count) {
    page.next_cursor = keys::ToHex(std::string_view(entries.back().key).substr(prefix.size()));
    entries.pop_back();
  }
  for (const auto& e : entries) {
    Result<Job> job = ReadJob(e.id);
    if (!job.ok()) {
      if (job.status().IsNotFound()) continue;  // removed since the scan
      return job.status();
    }
    page.jobs.push_back(std::move(*job));
  }
  return page;
}

Result<JobPage> Store::Impl::ListActive(std::string_view queue, std::string_view cursor,
                                        std::uint32_t count) const {
  // Active jobs live in memory (keys.h, leases); the cursor is the next job's be64 seq.
  std::uint64_t from_seq = 0;
  if (!cursor.empty()) {
    std::optional<std::string> raw = keys::FromHex(cursor);
    if (!raw || raw->size() != 8) return Status::InvalidArgument("invalid cursor");
    from_seq = keys::LoadBe64(raw->data());
  }
  std::vector<ActiveJobs::Found> active = active_jobs_.OfQueue(queue);
  std::erase_if(active, [&](const ActiveJobs::Found& f) { return f.job->seq < from_seq; });
  std::sort(active.begin(), active.end(),
            [](const auto& a, const auto& b) { return a.job->seq < b.job->seq; });
  JobPage page;
  if (active.size() > count) {
    std::string raw;
    keys::PutBe64(&raw, active[count].job->seq);
    page.next_cursor = keys::ToHex(raw);
    active.resize(count);
  }
  for (const ActiveJobs::Found& found : active) {
    Result<Job> job = ActiveJob(found);
    if (!job.ok()) {
      if (job.status().IsNotFound()) continue;  // removed since
      return job.status();
    }
    page.jobs.push_back(std::move(*job));
  }
  return page;
}

// ---- Records ----------------------------------------------------------------------------------

rocksdb::ColumnFamilyHandle* Store::Impl::RecordCf(RecordTable table) const {
  switch (table) {
    case RecordTable::kPrefs:
      return prefs_;
    case RecordTable::kInbox:
      return inbox_;
    case RecordTable::kSent:
      return sent_;
    case RecordTable::kTickets:
      return tickets_;
    case RecordTable::kMeta:
      return meta_;
  }
  return meta_;
}

std::string Store::Impl::RecordKey(RecordTable table, std::string_view key) {
  return table == RecordTable::kMeta ? keys::MetaRecordKey(key) : std::string(key);
}

Result<std::vector<std::pair<std::string, std::string>>> Store::Impl::ScanRecords(
    RecordTable table, std::string_view prefix, std::uint32_t limit, bool newest_first) const {
  std::string start = RecordKey(table, prefix);
  std::string end = keys::PrefixEnd(start);
  std::size_t strip = table == RecordTable::kMeta ? keys::kMetaRecordPrefix.size() : 0;
  rocksdb::Slice lower(start);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, RecordCf(table)));
  std::vector<std::pair<std::string, std::string>> out;
  auto take = [&]() {
    rocksdb::Slice k = it->key();
    out.emplace_back(std::string(k.data() + strip, k.size() - strip), it->value().ToString());
  };
  bool unlimited = limit == 0;
  if (newest_first) {
    // From the prefix's end backwards (the upper bound hides the end key itself).
    if (end.empty()) {
      it->SeekToLast();
    } else {
      it->SeekForPrev(upper);
    }
    for (; it->Valid() && (unlimited || out.size() < limit); it->Prev()) take();
  } else {
    for (it->SeekToFirst(); it->Valid() && (unlimited || out.size() < limit); it->Next()) take();
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "scan records"));
  return out;
}

// ---- Store ------------------------------------------------------------------------------------

Result<std::unique_ptr<Store>> Store::Open(StoreOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  HERALD_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

const StoreOptions& Store::options() const { return impl_->options_; }

Status Store::EnsureQueue(std::string_view queue) { return impl_->EnsureQueue(queue); }
bool Store::HasQueue(std::string_view queue) const { return impl_->FindQueue(queue) != nullptr; }
std::vector<std::string> Store::ListQueues() const { return impl_->ListQueues(); }

Result<AddResult> Store::Add(std::string_view queue, NewJob job, std::int64_t now_ms) {
  std::vector<NewJob> jobs;
  jobs.push_back(std::move(job));
  HERALD_ASSIGN_OR_RETURN(std::vector<AddResult> results,
                          impl_->AddMany(queue, std::move(jobs), now_ms));
  return std::move(results.front());
}

Result<std::vector<AddResult>> Store::AddMany(std::string_view queue, std::vector<NewJob> jobs,
                                              std::int64_t now_ms) {
  return impl_->AddMany(queue, std::move(jobs), now_ms);
}

void Store::AddAsync(std::string_view queue, NewJob job, std::int64_t now_ms,
                     std::function<void(Result<AddResult>)> done) {
  impl_->AddAsync(queue, std::move(job), now_ms, std::move(done));
}

namespace {

std::vector<TransitionRequest> CompletionRequests(const StoreOptions& options,
                                                  std::vector<Completion> completions,
                                                  std::int64_t now_ms) {
  // With a retention of 0 a completed job is not kept at all.
  bool keep = options.completed_retention > 0;
  std::vector<TransitionRequest> requests;
  requests.reserve(completions.size());
  for (Completion& done : completions) {
    requests.push_back(
        TransitionRequest{std::move(done.id), JobState::kActive,
                          [now_ms, value = std::move(done.return_value)](Job& job) mutable {
                            job.state = JobState::kCompleted;
                            job.finished_ms = now_ms;
                            job.return_value = std::move(value);
                          },
                          /*remove=*/!keep});
  }
  return requests;
}

}  // namespace

Result<std::optional<Job>> Store::Take(std::string_view queue, std::int64_t now_ms) {
  HERALD_ASSIGN_OR_RETURN(std::vector<Job> taken, impl_->TakeMany(queue, 1, now_ms));
  if (taken.empty()) return std::optional<Job>();
  return std::optional<Job>(std::move(taken.front()));
}

Result<std::vector<Job>> Store::TakeMany(std::string_view queue, std::size_t max,
                                         std::int64_t now_ms) {
  return impl_->TakeMany(queue, max, now_ms);
}

Result<Job> Store::Complete(std::string_view id, std::string return_value, std::int64_t now_ms) {
  std::vector<Completion> one;
  one.push_back(Completion{std::string(id), std::move(return_value)});
  return std::move(CompleteMany(std::move(one), now_ms).front());
}

CompleteAndTakeResult Store::CompleteAndTake(Completion done, std::string_view next_queue,
                                             std::int64_t now_ms) {
  CompleteAndTakeResult out{Status::Internal("not completed"), std::nullopt};
  auto qs = impl_->RequireQueue(next_queue);
  if (!qs.ok()) {
    out.completed = Complete(done.id, std::move(done.return_value), now_ms);
    return out;
  }
  TakeAlong take{*qs, now_ms, {}};
  std::vector<Completion> one;
  one.push_back(std::move(done));
  out.completed = std::move(
      impl_->TransitionMany(CompletionRequests(impl_->options_, std::move(one), now_ms), &take)
          .front());
  if (!take.taken.empty()) out.next = std::move(take.taken.front());
  return out;
}

std::vector<Result<Job>> Store::CompleteMany(std::vector<Completion> completions,
                                             std::int64_t now_ms) {
  return impl_->TransitionMany(CompletionRequests(impl_->options_, std::move(completions), now_ms));
}

Result<Job> Store::FailRetry(std::string_view id, std::string error, std::int64_t due_ms,
                             std::int64_t now_ms) {
  return impl_->Transition(
      id, JobState::kActive,
      [&](Job& job) {
        job.last_error = std::move(error);
        if (due_ms > now_ms) {
          job.state = JobState::kDelayed;
          job.due_ms = due_ms;
        } else {
          job.state = JobState::kWaiting;
        }
      },
      false);
}

Result<Job> Store::FailFinal(std::string_view id, std::string error, std::int64_t now_ms) {
  return impl_->Transition(
      id, JobState::kActive,
      [&](Job& job) {
        job.state = JobState::kFailed;
        job.last_error = std::move(error);
        job.finished_ms = now_ms;
      },
      false);
}

Result<Job> Store::Requeue(std::string_view id, std::string reason, std::int64_t now_ms) {
  (void)now_ms;
  return impl_->Transition(
      id, JobState::kActive,
      [&](Job& job) {
        job.state = JobState::kWaiting;
        job.last_error = std::move(reason);
      },
      false);
}

Result<Job> Store::Retry(std::string_view id, std::int64_t now_ms) {
  (void)now_ms;
  return impl_->Transition(
      id, JobState::kFailed,
      [](Job& job) {
        job.state = JobState::kWaiting;
        job.attempts_made = 0;
        job.finished_ms = 0;
      },
      false);
}

Result<std::uint64_t> Store::RetryAllFailed(std::string_view queue, std::int64_t now_ms,
                                            std::vector<Job>* retried) {
  return impl_->RetryAllFailed(queue, now_ms, retried);
}

Result<Job> Store::Promote(std::string_view id, std::int64_t now_ms) {
  (void)now_ms;
  return impl_->Transition(
      id, JobState::kDelayed, [](Job& job) { job.state = JobState::kWaiting; }, false);
}

Result<std::uint64_t> Store::PromoteDue(std::string_view queue, std::int64_t now_ms,
                                        std::uint64_t limit, std::vector<Job>* promoted) {
  return impl_->PromoteDue(queue, now_ms, limit, promoted);
}

std::optional<std::int64_t> Store::NextDue(std::string_view queue) const {
  return impl_->NextDue(queue);
}

Status Store::Delete(std::string_view id) {
  Result<Job> r = impl_->Transition(
      id, std::nullopt, [](Job&) {}, /*remove=*/true);
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::uint64_t> Store::Clean(std::string_view queue, JobState state,
                                   std::int64_t older_than_ms, std::uint64_t limit,
                                   std::vector<Job>* cleaned) {
  return impl_->Clean(queue, state, older_than_ms, limit, cleaned);
}

Result<Job> Store::Get(std::string_view id) const { return impl_->ReadJob(id); }

Result<QueueCounts> Store::Counts(std::string_view queue) const {
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, impl_->RequireQueue(queue));
  MutexLock lock(&qs->mu);
  return qs->counts;
}

Result<JobPage> Store::List(std::string_view queue, JobState state, std::string_view cursor,
                            std::uint32_t count) const {
  return impl_->List(queue, state, cursor, count);
}

std::uint64_t Store::recovered_active() const { return impl_->recovered_active_; }

Status Store::SetPaused(std::string_view queue, bool paused) {
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, impl_->RequireQueue(queue));
  // Under the queue's mutex so that two calls can't leave memory and disk disagreeing.
  MutexLock lock(&qs->mu);
  rocksdb::WriteBatch batch;
  HERALD_RETURN_IF_ERROR(
      FromRocks(batch.Put(qs->cf, keys::kPausedKey, keys::EncodeFlag(paused)), "pause"));
  HERALD_RETURN_IF_ERROR(impl_->Write(&batch, "pause " + qs->name));
  qs->counts.paused = paused;
  return Status::Ok();
}

bool Store::IsPaused(std::string_view queue) const {
  QueueState* qs = impl_->FindQueue(queue);
  if (qs == nullptr) return false;
  MutexLock lock(&qs->mu);
  return qs->counts.paused;
}

Status Store::PutRecord(RecordTable table, std::string_view key, std::string_view value) {
  rocksdb::WriteBatch batch;
  HERALD_RETURN_IF_ERROR(FromRocks(
      batch.Put(impl_->RecordCf(table), Impl::RecordKey(table, key), value), "put record"));
  return impl_->Write(&batch, "put record");
}

Result<std::optional<std::string>> Store::GetRecord(RecordTable table, std::string_view key) const {
  std::string value;
  rocksdb::Status s = impl_->db_->Get(rocksdb::ReadOptions(), impl_->RecordCf(table),
                                      Impl::RecordKey(table, key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  HERALD_RETURN_IF_ERROR(FromRocks(s, "get record"));
  return std::optional<std::string>(std::move(value));
}

Status Store::DeleteRecord(RecordTable table, std::string_view key) {
  rocksdb::WriteBatch batch;
  HERALD_RETURN_IF_ERROR(FromRocks(
      batch.Delete(impl_->RecordCf(table), Impl::RecordKey(table, key)), "delete record"));
  return impl_->Write(&batch, "delete record");
}

Result<std::vector<std::pair<std::string, std::string>>> Store::ScanRecords(
    RecordTable table, std::string_view prefix, std::uint32_t limit, bool newest_first) const {
  return impl_->ScanRecords(table, prefix, limit, newest_first);
}

KvStore& Store::kv() { return impl_->kv_->database(0); }

Result<KvStore*> Store::kv(int db) {
  if (db < 0 || db >= kKvDatabases) return Status::InvalidArgument("DB index is out of range");
  return &impl_->kv_->database(db);
}

Status Store::ClearKv() { return impl_->kv_->ClearAll(); }

Status Store::SyncWal() { return impl_->SyncWal(); }

Status Store::Checkpoint(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec)) {
      return Status::InvalidArgument("checkpoint directory " + Quote(dir) +
                                     " exists and is not empty");
    }
    fs::remove(dir, ec);  // RocksDB creates the directory itself
    if (ec) return Status::IOError("cannot replace " + Quote(dir) + ": " + ec.message());
  }
  rocksdb::Checkpoint* raw = nullptr;
  HERALD_RETURN_IF_ERROR(
      FromRocks(rocksdb::Checkpoint::Create(impl_->db_.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return FromRocks(checkpoint->CreateCheckpoint(dir), "checkpoint into " + dir);
}

std::uint64_t Store::DiskBytes() const {
  std::uint64_t sst = 0;
  impl_->db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kTotalSstFilesSize, &sst);
  std::uint64_t wal = 0;
  rocksdb::VectorLogPtr files;
  if (impl_->db_->GetSortedWalFiles(files).ok()) {
    for (const auto& f : files) wal += f->SizeFileBytes();
  }
  return sst + wal;
}

std::uint64_t Store::MemtableBytes() const {
  std::uint64_t bytes = 0;
  impl_->db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &bytes);
  return bytes;
}

}  // namespace herald::storage
