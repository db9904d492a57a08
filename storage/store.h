// Store: the durable state of Herald: queues of jobs, records, and (embedded store only) lists
// and strings. The engine talks to this interface; two backends implement it with the same
// semantics, which tests/storage/store_contract_test.cc holds both to:
//   * the embedded store (Store::Open, the default): one RocksDB database, described below;
//   * PostgreSQL (storage/postgres/postgres_store.h): tables in a database server, shared by
//     several Herald nodes.
//
// The embedded store:
//   * Queues: one column family per queue ("q.<name>") holding that queue's indexes (waiting,
//     delayed, failed, completed) and flags; job records live in the "jobs" column family keyed
//     by job id, since ids are unique across queues (ACKJOB/SHOW take only an id). An active
//     job keeps its waiting key, whose value Take turns into a lease (attempt count, processed
//     time): a take is one small write, and the job's state while active is kept in memory.
//   * Plain Redis lists and strings: KvStore (kv_store.h), one per database (SELECT n): column
//     family "kv" for database 0, "kv.<n>" for database n (created by its first write).
//   * Records for the notification side: RecordTable (prefs, inbox, sent, tickets).
//
// Every state change of a job is one atomic WriteBatch, durable under the FsyncMode before the
// call returns: kAlways syncs the WAL (concurrent writers share one fsync, and a sync
// overlaps the writes that will share the next one: storage/wal_syncer.h), kEverysec syncs
// from a background thread once a second, kNo leaves it to the OS (a killed process loses
// nothing either way; only a machine crash can).
//
// Open() recovers: column families found again, in-memory cursors and counters rebuilt from the
// indexes, every job that was active at the crash made waiting again (or failed, when its
// attempts are used up: the attempt counter is persisted by Take) with its attempt ended
// stalled, sequence numbers continue without reuse.
//
// Each call is passed to one unit of storage/ (store.cc wires them): database.h (RocksDB, writes),
// queue_registry.h (queues, pause, counts), job_adder.h, job_taker.h, job_transitions.h,
// bulk_transitions.h, job_lister.h, record_tables.h; recovery at open is queue_recovery.h.
//
// Thread safety: thread-safe (every backend). Methods may be called from any thread concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/status.h"
#include "storage/job.h"

namespace herald::storage {

class KvStore;

enum class FsyncMode : std::uint8_t { kAlways, kEverysec, kNo };
std::string_view FsyncModeName(FsyncMode mode);  // "always", "everysec", "no"
Result<FsyncMode> ParseFsyncMode(std::string_view name);

struct StoreOptions {
  // Directory of the database; created when missing. Required.
  std::string data_dir;
  // Default: kEverysec.
  FsyncMode fsync = FsyncMode::kEverysec;
  // Completed jobs kept per queue; the oldest beyond this are deleted, in groups: up to
  // retention/16 (at most 64) more may exist for a moment. Default: 1000.
  std::uint32_t completed_retention = 1000;
  // Block cache for all column families, in MiB. Default: 64.
  std::uint32_t block_cache_mb = 64;
  // Logger for open/recovery/errors; not null. Default: spdlog's default logger.
  std::shared_ptr<spdlog::logger> logger = spdlog::default_logger();
  // `always` mode, for tests of what a slow or failing disk does: called on the syncing thread
  // before each WAL sync of the group commit; a status other than OK is that sync's outcome
  // (the WAL is not synced). Default: none.
  std::function<Status()> before_wal_sync;
};

// A job to add. Ids: empty = generated (a decimal number, unique for the life of the store);
// a caller's id must be 1..256 bytes, not a plain decimal number (those are ours), and not
// start with a NUL byte.
struct NewJob {
  std::string id;
  std::string payload;
  std::uint32_t priority = 0;
  std::uint32_t max_attempts = 1;  // >= 1
  BackoffType backoff_type = BackoffType::kFixed;
  std::int64_t backoff_ms = 0;
  std::int64_t due_ms = 0;  // > now: added as delayed until then; otherwise waiting
  std::string name;         // Job::name; "" = none
};

struct AddResult {
  std::string id;
  bool created = false;                 // false: a job with this id existed; nothing was written
  JobState state = JobState::kWaiting;  // state of the (new or existing) job
};

// One job to complete, for CompleteMany.
struct Completion {
  std::string id;
  std::string return_value;
};

// What CompleteAndTake did: the completion's outcome, and the job taken along with it.
struct CompleteAndTakeResult {
  Result<Job> completed;
  std::optional<Job> next;  // nothing waiting, or the completion failed (then nothing taken)
};

struct QueueCounts {
  std::uint64_t waiting = 0;
  std::uint64_t active = 0;
  std::uint64_t delayed = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  bool paused = false;
};

struct JobPage {
  std::vector<Job> jobs;
  std::string next_cursor;  // "" = no more
};

// Tables for records that are not jobs. Keys and values are the caller's bytes; ordering is
// byte order of keys (callers use big-endian numbers for time order).
enum class RecordTable : std::uint8_t { kPrefs, kInbox, kSent, kTickets, kMeta };

// The order of ScanRecords: key order, or reverse key order.
enum class ScanOrder : std::uint8_t { kOldestFirst, kNewestFirst };

class Store {
 public:
  // The embedded store (RocksDB in options.data_dir). Other backends have their own Open
  // (storage/postgres/postgres_store.h).
  static Result<std::unique_ptr<Store>> Open(StoreOptions options);
  virtual ~Store();  // the embedded store syncs its WAL and closes; the others disconnect
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  virtual const StoreOptions& options() const = 0;

  // ---- Queue registry --------------------------------------------------------------------
  // Creates the queue's column family on first use; OK if it exists. InvalidArgument for a
  // name that is empty, longer than 64 bytes or has bytes outside [A-Za-z0-9_.:-].
  virtual Status EnsureQueue(std::string_view queue) = 0;
  virtual bool HasQueue(std::string_view queue) const = 0;
  virtual std::vector<std::string> ListQueues() const = 0;  // sorted

  // ---- Job transitions (each one WriteBatch, durable on return) ---------------------------
  // NotFound for an unknown queue (call EnsureQueue first).
  virtual Result<AddResult> Add(std::string_view queue, NewJob job, std::int64_t now_ms) = 0;
  // Many adds in one batch and one sync (pipelined ADDJOB, bursts of events). Results in order.
  virtual Result<std::vector<AddResult>> AddMany(std::string_view queue, std::vector<NewJob> jobs,
                                                 std::int64_t now_ms) = 0;
  // Add without waiting: `done` gets what Add would return, once the add is durable. In
  // `always` mode it is called on the store's syncer thread after the WAL sync that covers the
  // add (many adds in flight share one sync, and no thread sleeps per add); in the other modes
  // before AddAsync returns. Adds from one thread keep their order. `done` may add more.
  virtual void AddAsync(std::string_view queue, NewJob job, std::int64_t now_ms,
                        std::function<void(Result<AddResult>)> done) = 0;
  // AddMany without waiting, as AddAsync: `done` gets what AddMany would return, once the
  // jobs are durable (the embedded store: before AddManyAsync returns, the write made as
  // AddMany makes it; PostgreSQL: on the store's thread after the commit, shared with every
  // add in flight).
  virtual void AddManyAsync(std::string_view queue, std::vector<NewJob> jobs, std::int64_t now_ms,
                            std::function<void(Result<std::vector<AddResult>>)> done) = 0;
  // Whether an add called alone waits for a commit of its own (PostgreSQL): then callers
  // with many adds at hand should give them together (AddMany, AddManyAsync) to share it.
  // False for the embedded store, whose writes wait only for a WAL sync that every writer of
  // the moment shares (and none under a SyncDeferral).
  virtual bool AddsWaitForCommit() const = 0;
  // A job as another store exported it (herald export), with its state, attempts, history,
  // times, result and name: the id is kept (a decimal one too: this store's generated ids then
  // continue above it), the place in its state's index is after the jobs there of the same
  // priority or time. An active job comes in waiting (its lease was the other store's).
  // created = false and nothing written when a job with that id exists, so an import can be
  // repeated. NotFound for an unknown queue; InvalidArgument for an empty id or bad options.
  virtual Result<AddResult> Import(std::string_view queue, Job job) = 0;
  // The first waiting job (priority, then FIFO) becomes active, attempts_made + 1,
  // processed_ms = now, and a running attempt run by `worker` ("local:3", a client's
  // "name@addr"; cut to kMaxAttemptWorkerBytes) is appended to its history. nullopt when
  // nothing is waiting. Does not look at "paused".
  // Corruption when the first job's record can't be read; that job is then skipped (left on
  // disk as it is) until the next open, so the queue moves on.
  virtual Result<std::optional<Job>> Take(std::string_view queue, std::int64_t now_ms,
                                          std::string_view worker = {}) = 0;
  // Up to `max` Takes from one queue, written as one batch (GETJOB COUNT n, a worker taking
  // several jobs): the first waiting jobs in Take order, fewer (or none) when fewer wait.
  // An error only when nothing could be taken.
  virtual Result<std::vector<Job>> TakeMany(std::string_view queue, std::size_t max,
                                            std::int64_t now_ms, std::string_view worker = {}) = 0;
  // Every transition out of the active state ends the job's running attempt in its history
  // (Job::history), in the same write: completed, retrying (with the backoff and the next due
  // time), failed or stalled, with the error cut to kMaxAttemptErrorBytes. The other
  // transitions keep the history as it is.
  //
  // active -> completed (finished_ms = now, return value kept). NotFound / InvalidArgument
  // ("job 7 is waiting, not active").
  virtual Result<Job> Complete(std::string_view id, std::string return_value,
                               std::int64_t now_ms) = 0;
  // Many Completes (of any queues) in one batch (ACKJOB id id ...). One result per completion,
  // in order: the completed job, or why that one was not completed (as Complete; also
  // InvalidArgument for an id given twice). A failed write fails every one of them.
  virtual std::vector<Result<Job>> CompleteMany(std::vector<Completion> completions,
                                                std::int64_t now_ms) = 0;
  // Complete and a Take of `next_queue` in one batch (a worker that finished a job and wants
  // the next: one write instead of two). The take happens only when the completion does; it
  // may find nothing (an empty queue, or its first job busy under another transition). The
  // job taken starts an attempt run by `worker`, as Take.
  virtual CompleteAndTakeResult CompleteAndTake(Completion done, std::string_view next_queue,
                                                std::int64_t now_ms,
                                                std::string_view worker = {}) = 0;
  // active -> delayed until due_ms, last_error kept (a retry with backoff). A due_ms <= now
  // makes it waiting at once, as Add does. The attempt ends retrying, with backoff_ms =
  // due_ms - now (0 when due now) and next_due_ms = due_ms (now when due now).
  virtual Result<Job> FailRetry(std::string_view id, std::string error, std::int64_t due_ms,
                                std::int64_t now_ms) = 0;
  // active -> failed, last_error kept, finished_ms = now. The attempt ends with `outcome`:
  // kFailed, or kStalled for a lease that expired with no attempts left.
  virtual Result<Job> FailFinal(std::string_view id, std::string error, std::int64_t now_ms,
                                AttemptOutcome outcome = AttemptOutcome::kFailed) = 0;
  // active -> waiting at its old place (a lease expired; the attempt stays counted, and ends
  // stalled with `reason` as its error).
  virtual Result<Job> Requeue(std::string_view id, std::string reason, std::int64_t now_ms) = 0;
  // failed -> waiting, attempts_made reset to 0, last_error kept until the next attempt.
  virtual Result<Job> Retry(std::string_view id, std::int64_t now_ms) = 0;
  // Every failed job of the queue -> waiting; returns how many. `retried` (may be null)
  // receives the jobs moved.
  virtual Result<std::uint64_t> RetryAllFailed(std::string_view queue, std::int64_t now_ms,
                                               std::vector<Job>* retried = nullptr) = 0;
  // delayed -> waiting now.
  virtual Result<Job> Promote(std::string_view id, std::int64_t now_ms) = 0;
  // Every delayed job with due_ms <= now -> waiting, at most `limit` per call; returns how
  // many moved; `promoted` (may be null) receives the jobs moved.
  virtual Result<std::uint64_t> PromoteDue(std::string_view queue, std::int64_t now_ms,
                                           std::uint64_t limit,
                                           std::vector<Job>* promoted = nullptr) = 0;
  // Earliest due_ms among delayed jobs, from memory (no I/O). nullopt when none.
  virtual std::optional<std::int64_t> NextDue(std::string_view queue) const = 0;
  // Removes a job in any state. NotFound when absent.
  virtual Status Delete(std::string_view id) = 0;
  // Removes jobs of `state` (completed, failed, delayed or waiting) whose state time is at or
  // before `older_than_ms` (finished_ms for completed/failed, due for delayed, created for
  // waiting), at most `limit`. Returns the number removed. older_than_ms is a point in time
  // (ms since epoch), not an age. InvalidArgument for active.
  // `cleaned` (may be null) receives the jobs removed.
  virtual Result<std::uint64_t> Clean(std::string_view queue, JobState state,
                                      std::int64_t older_than_ms, std::uint64_t limit,
                                      std::vector<Job>* cleaned = nullptr) = 0;

  // ---- Reads -------------------------------------------------------------------------------
  virtual Result<Job> Get(std::string_view id) const = 0;
  virtual Result<QueueCounts> Counts(std::string_view queue) const = 0;  // embedded: from memory
  // Whether a take from `queue` may find a job, answered without a round trip: the embedded
  // store's waiting count (from memory); true where knowing costs a query as dear as the take
  // itself (postgres: the take finds out). For callers choosing which queue to take from.
  virtual bool MayHaveWaiting(std::string_view queue) const = 0;
  // Whether other processes change these jobs too (the postgres store's other nodes), so that
  // this process's job events do not tell of every change.
  virtual bool SharedWithOtherNodes() const = 0;
  // Jobs in a state, in index order (waiting: take order; delayed: due order; completed and
  // failed: newest first; active: add order). cursor "" starts at the beginning; a page's
  // next_cursor (hex, opaque) continues. count is clamped to 1..10000. InvalidArgument for a
  // malformed cursor; Corruption when a listed job's record can't be read.
  virtual Result<JobPage> List(std::string_view queue, JobState state, std::string_view cursor,
                               std::uint32_t count) const = 0;
  // Jobs that were active when the store was opened and were put back (for logging).
  virtual std::uint64_t recovered_active() const = 0;

  // ---- Pause flag (persisted) --------------------------------------------------------------
  virtual Status SetPaused(std::string_view queue, bool paused) = 0;
  virtual bool IsPaused(std::string_view queue) const = 0;

  // ---- Records -----------------------------------------------------------------------------
  virtual Status PutRecord(RecordTable table, std::string_view key, std::string_view value) = 0;
  virtual Result<std::optional<std::string>> GetRecord(RecordTable table,
                                                       std::string_view key) const = 0;
  virtual Status DeleteRecord(RecordTable table, std::string_view key) = 0;
  // Up to `limit` records (1..10000) whose key comes after `after` ("" = from the first), in
  // key order: a walk over a whole table, page by page (herald export).
  virtual Result<std::vector<std::pair<std::string, std::string>>> ScanRecordsAfter(
      RecordTable table, std::string_view after, std::uint32_t limit) const = 0;
  // Up to `limit` records (0 = no limit) whose key starts with `prefix`, in `order`.
  virtual Result<std::vector<std::pair<std::string, std::string>>> ScanRecords(
      RecordTable table, std::string_view prefix, std::uint32_t limit, ScanOrder order) const = 0;

  // ---- Lists and strings (the embedded store's) --------------------------------------------
  // Database `db` (SELECT db), 0 <= db < kKvDatabases (kv_store.h). InvalidArgument "DB index
  // is out of range" otherwise; NotSupported from a backend without lists and strings.
  virtual Result<KvStore*> kv(int db) = 0;
  // Database 0 (the one a client starts with), of a store that has lists and strings: aborts
  // on one that has not (callers that may meet another backend ask kv(0)).
  KvStore& kv();
  // Removes every key of every database in one write (FLUSHALL), durable on return; jobs stay.
  // NotSupported from a backend without lists and strings.
  virtual Status ClearKv() = 0;

  // ---- Durability of deferred writes (storage/sync_deferral.h) ------------------------------
  virtual FsyncMode fsync_mode() const = 0;
  // Whether every write made so far (jobs, lists, strings) is durable under the FsyncMode:
  // in `always` mode, in a synced WAL; always true in the other modes.
  virtual bool AllDurable() const = 0;
  // Calls `done` once every write made before this call is durable, with the error of the WAL
  // write or sync otherwise: in `always` mode after a WAL sync that covers them (shared with
  // the other writers), on a syncer thread; in the other modes at once, on this thread. Writes
  // out the pending list and string rows first. `done` must be quick (post to a strand).
  // `waiters`: the clients answered by `done` (see WalSyncer::SyncAsync).
  virtual void SyncAsync(std::function<void(Status)> done, std::size_t waiters = 1) = 0;
  // `always` mode: WAL syncs made so far (each covers every write made before it); 0 otherwise.
  virtual std::uint64_t WalSyncs() const = 0;
  // Batches written for jobs and records so far (each change of a job is one).
  virtual std::uint64_t Writes() const = 0;
  // OK while writes go through; the error of the last write when it failed (a full disk), or
  // the WAL's error once a WAL write failed (the store then refuses writes until reopened).
  virtual Status WriteHealth() const = 0;
  // Writes that failed so far.
  virtual std::uint64_t WriteFailures() const = 0;

  // ---- Work made by other nodes (a store shared by several) --------------------------------
  // Called when another node made jobs of `queue` waiting (due_ms 0) or delayed until due_ms,
  // so that this node's blocked takes and its scheduler hear of them; on a thread of the store.
  // Also called (due_ms 0) for every queue after the store lost its connection for notices
  // and has it again, since some may have been missed.
  using WorkListener = std::function<void(std::string_view queue, std::int64_t due_ms)>;
  // Sets the listener (nullptr: none); returns once no call of the one before is running. The
  // embedded store has no other writers: it never calls one.
  virtual void SetWorkListener(WorkListener listener) = 0;

  // ---- Maintenance -------------------------------------------------------------------------
  virtual Status SyncWal() = 0;  // forces the WAL to disk now (OK where commits are durable)
  // Online backup into an empty directory (RocksDB checkpoint). NotSupported elsewhere (the
  // database server has its own backups).
  virtual Status Checkpoint(const std::string& dir) = 0;
  // Reads every table file and checks its blocks' checksums (a restored copy, `herald
  // check`). Corruption naming the file otherwise; NotSupported by a backend without files.
  virtual Status VerifyChecksums() const = 0;
  // Approximate bytes on disk (SST + WAL, or the database's size) and in memtables (0 where
  // there are none), for INFO.
  virtual std::uint64_t DiskBytes() const = 0;
  virtual std::uint64_t MemtableBytes() const = 0;

 protected:
  Store() = default;
};

}  // namespace herald::storage
