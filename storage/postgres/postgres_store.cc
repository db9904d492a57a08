#include "storage/postgres/postgres_store.h"

#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/mutex.h"
#include "storage/job_rules.h"
#include "storage/keys.h"
#include "storage/postgres/pg_add_batcher.h"
#include "storage/postgres/pg_connection.h"
#include "storage/postgres/pg_job_rows.h"
#include "storage/postgres/pg_node_watch.h"
#include "storage/postgres/pg_pool.h"
#include "storage/postgres/pg_schema.h"
#include "storage/quote.h"
#include "storage/wall_clock.h"

namespace herald::storage {
namespace {

using postgres::DeleteJobs;
using postgres::InsertJobs;
using postgres::JobsOf;
using postgres::PendingAdd;
using postgres::PgConnection;
using postgres::PgParams;
using postgres::PgPool;
using postgres::PgResult;
using postgres::UpdateJobs;

// As the embedded store's recovery says it (storage/queue_recovery.cc).
constexpr std::string_view kStalledAtRestart = "stalled: worker lost (process restarted)";
// Bulk transitions and recovery work through the jobs in transactions of this many.
constexpr std::size_t kChunk = 1000;
// Adds waiting for their transaction, at most; more are refused with Busy.
constexpr std::size_t kMaxPendingAdds = 100000;
// A transaction that meets a serialization failure or deadlock runs again, up to this often.
constexpr int kTransactionTries = 3;

Status WrongState(const Job& job, JobState expected) {
  return Status::InvalidArgument("job " + job.id + " is " + std::string(JobStateName(job.state)) +
                                 ", not " + std::string(JobStateName(expected)));
}

Status UnknownQueue(std::string_view queue) {
  return Status::NotFound("unknown queue " + Quote(queue));
}

std::vector<const Job*> PointersTo(const std::vector<Job>& jobs) {
  std::vector<const Job*> out;
  out.reserve(jobs.size());
  for (const Job& job : jobs) out.push_back(&job);
  return out;
}

// The column a state's index orders by, and the order of List.
struct StateOrder {
  std::string_view first;  // "priority", "due_ms", "finished_ms", or "" (seq alone)
  bool newest_first;
};

StateOrder OrderOf(JobState state) {
  switch (state) {
    case JobState::kWaiting:
      return {"priority", false};
    case JobState::kDelayed:
      return {"due_ms", false};
    case JobState::kCompleted:
    case JobState::kFailed:
      return {"finished_ms", true};
    case JobState::kActive:
      break;
  }
  return {"", false};
}

// The smallest key greater than every key starting with `prefix`; "" when there is none.
std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

using Records = std::vector<std::pair<std::string, std::string>>;

Records RecordsOf(const PgResult& rows) {
  Records out;
  out.reserve(static_cast<std::size_t>(rows.rows()));
  for (int r = 0; r < rows.rows(); ++r) {
    out.emplace_back(std::string(rows.Bytes(r, 0)), std::string(rows.Bytes(r, 1)));
  }
  return out;
}

class PostgresStore final : public Store {
 public:
  PostgresStore(PostgresStoreOptions options, std::shared_ptr<spdlog::logger> log)
      : pg_options_(std::move(options)),
        log_(std::move(log)),
        pool_(pg_options_.conninfo, pg_options_.connections) {
    options_.fsync = FsyncMode::kAlways;
    options_.completed_retention = pg_options_.completed_retention;
    options_.logger = log_;
    const std::int64_t retention = pg_options_.completed_retention;
    prune_slack_ = std::min<std::int64_t>(retention / 16, 64);
  }

  ~PostgresStore() override {
    batcher_.reset();  // the adds still waiting run first
    watch_.reset();
  }

  Status Start();

  using Store::kv;  // kv(): database 0, which this backend has not

  const StoreOptions& options() const override { return options_; }

  // ---- Queue registry -------------------------------------------------------------------
  Status EnsureQueue(std::string_view queue) override {
    HERALD_RETURN_IF_ERROR(ValidateQueueName(queue));
    if (KnowsQueue(queue)) return Status::Ok();
    Status s = InTransaction([&](PgConnection& c) {
      return c
          .Exec("INSERT INTO herald_queues (name) VALUES ($1) ON CONFLICT DO NOTHING",
                PgParams().Text(queue))
          .status();
    });
    if (s.ok()) {
      MutexLock lock(&queues_mu_);
      queues_.emplace(queue);
    }
    return s;
  }

  bool HasQueue(std::string_view queue) const override { return RequireQueue(queue).ok(); }

  std::vector<std::string> ListQueues() const override {
    Result<std::vector<std::string>> names = ReadQueues();
    if (!names.ok()) {
      log_->error("store: {}", names.status().ToString());
      MutexLock lock(&queues_mu_);
      return {queues_.begin(), queues_.end()};
    }
    return std::move(*names);
  }

  // ---- Adds -----------------------------------------------------------------------------
  Result<AddResult> Add(std::string_view queue, NewJob job, std::int64_t now_ms) override {
    std::vector<NewJob> jobs;
    jobs.push_back(std::move(job));
    HERALD_ASSIGN_OR_RETURN(std::vector<AddResult> added, AddMany(queue, std::move(jobs), now_ms));
    return std::move(added.front());
  }

  Result<std::vector<AddResult>> AddMany(std::string_view queue, std::vector<NewJob> jobs,
                                         std::int64_t now_ms) override {
    return batcher_->AddAndWait(std::string(queue), std::move(jobs), now_ms);
  }

  void AddAsync(std::string_view queue, NewJob job, std::int64_t now_ms,
                std::function<void(Result<AddResult>)> done) override {
    std::vector<NewJob> jobs;
    jobs.push_back(std::move(job));
    batcher_->Enqueue(PendingAdd{std::string(queue), std::move(jobs), now_ms,
                                 [done = std::move(done)](Result<std::vector<AddResult>> added) {
                                   if (!added.ok()) return done(added.status());
                                   done(std::move(added->front()));
                                 }});
  }

  Result<AddResult> Import(std::string_view queue, Job job) override;

  // ---- Takes ----------------------------------------------------------------------------
  Result<std::optional<Job>> Take(std::string_view queue, std::int64_t now_ms,
                                  std::string_view worker) override {
    HERALD_ASSIGN_OR_RETURN(std::vector<Job> taken, TakeMany(queue, 1, now_ms, worker));
    if (taken.empty()) return std::optional<Job>();
    return std::optional<Job>(std::move(taken.front()));
  }

  Result<std::vector<Job>> TakeMany(std::string_view queue, std::size_t max, std::int64_t now_ms,
                                    std::string_view worker) override {
    HERALD_RETURN_IF_ERROR(RequireQueue(queue));
    std::vector<Job> taken;
    if (max == 0) return taken;
    bool unknown = false;
    Status s = InTransaction(
        [&](PgConnection& c) {
          HERALD_ASSIGN_OR_RETURN(taken, TakeRows(c, queue, max, now_ms, worker));
          return Status::Ok();
        },
        &unknown);
    NoteWrite(s);
    if (unknown) NoteUnconfirmedTakes(taken);
    HERALD_RETURN_IF_ERROR(s);
    return taken;
  }

  // ---- Transitions ----------------------------------------------------------------------
  Result<Job> Complete(std::string_view id, std::string return_value,
                       std::int64_t now_ms) override {
    std::vector<Completion> one;
    one.push_back(Completion{std::string(id), std::move(return_value)});
    return std::move(CompleteMany(std::move(one), now_ms).front());
  }

  std::vector<Result<Job>> CompleteMany(std::vector<Completion> completions,
                                        std::int64_t now_ms) override {
    return TransitionMany(CompletionRequests(std::move(completions), now_ms), nullptr);
  }

  CompleteAndTakeResult CompleteAndTake(Completion done, std::string_view next_queue,
                                        std::int64_t now_ms, std::string_view worker) override {
    CompleteAndTakeResult out{Status::Internal("not completed"), std::nullopt};
    std::vector<Completion> one;
    one.push_back(std::move(done));
    TakeAlong take{std::string(next_queue), now_ms, std::string(worker), {}};
    TakeAlong* along = RequireQueue(next_queue).ok() ? &take : nullptr;
    out.completed =
        std::move(TransitionMany(CompletionRequests(std::move(one), now_ms), along).front());
    if (!take.taken.empty()) out.next = std::move(take.taken.front());
    return out;
  }

  Result<Job> FailRetry(std::string_view id, std::string error, std::int64_t due_ms,
                        std::int64_t now_ms) override {
    return Transition(id, JobState::kActive,
                      [&](Job& job) { RetryJobLater(&job, std::move(error), due_ms, now_ms); });
  }

  Result<Job> FailFinal(std::string_view id, std::string error, std::int64_t now_ms,
                        AttemptOutcome outcome) override {
    return Transition(id, JobState::kActive,
                      [&](Job& job) { FailJob(&job, std::move(error), now_ms, outcome); });
  }

  Result<Job> Requeue(std::string_view id, std::string reason, std::int64_t now_ms) override {
    return Transition(id, JobState::kActive,
                      [&](Job& job) { RequeueJob(&job, std::move(reason), now_ms); });
  }

  Result<Job> Retry(std::string_view id, std::int64_t /*now_ms*/) override {
    return Transition(id, JobState::kFailed, [](Job& job) { RetryFailedJob(&job); });
  }

  Result<Job> Promote(std::string_view id, std::int64_t /*now_ms*/) override {
    return Transition(id, JobState::kDelayed, [](Job& job) { job.state = JobState::kWaiting; });
  }

  Status Delete(std::string_view id) override {
    std::vector<Request> one;
    one.push_back(Request{std::string(id), std::nullopt, [](Job&) {}, true});
    Result<Job> r = std::move(TransitionMany(std::move(one), nullptr).front());
    return r.ok() ? Status::Ok() : r.status();
  }

  Result<std::uint64_t> RetryAllFailed(std::string_view queue, std::int64_t now_ms,
                                       std::vector<Job>* retried) override;
  Result<std::uint64_t> PromoteDue(std::string_view queue, std::int64_t now_ms, std::uint64_t limit,
                                   std::vector<Job>* promoted) override;
  std::optional<std::int64_t> NextDue(std::string_view queue) const override;
  Result<std::uint64_t> Clean(std::string_view queue, JobState state, std::int64_t older_than_ms,
                              std::uint64_t limit, std::vector<Job>* cleaned) override;

  // ---- Reads ----------------------------------------------------------------------------
  Result<Job> Get(std::string_view id) const override {
    HERALD_ASSIGN_OR_RETURN(PgResult rows, Query("SELECT id, record FROM herald_jobs WHERE id = $1",
                                                 PgParams().Bytes(id)));
    if (rows.rows() == 0) return Status::NotFound("job " + std::string(id) + " not found");
    HERALD_ASSIGN_OR_RETURN(std::vector<Job> jobs, JobsOf(rows));
    return std::move(jobs.front());
  }

  Result<QueueCounts> Counts(std::string_view queue) const override;
  Result<JobPage> List(std::string_view queue, JobState state, std::string_view cursor,
                       std::uint32_t count) const override;
  std::uint64_t recovered_active() const override { return recovered_active_; }

  // ---- Pause flag -----------------------------------------------------------------------
  Status SetPaused(std::string_view queue, bool paused) override {
    std::uint64_t changed = 0;
    Status s = InTransaction([&](PgConnection& c) {
      HERALD_ASSIGN_OR_RETURN(PgResult r,
                              c.Exec("UPDATE herald_queues SET paused = $2 WHERE name = $1",
                                     PgParams().Text(queue).Bool(paused)));
      changed = r.affected();
      return Status::Ok();
    });
    NoteWrite(s);
    HERALD_RETURN_IF_ERROR(s);
    return changed == 0 ? UnknownQueue(queue) : Status::Ok();
  }

  bool IsPaused(std::string_view queue) const override {
    Result<PgResult> rows =
        Query("SELECT paused FROM herald_queues WHERE name = $1", PgParams().Text(queue));
    return rows.ok() && rows->rows() == 1 && rows->Bool(0, 0);
  }

  // ---- Records --------------------------------------------------------------------------
  Status PutRecord(RecordTable table, std::string_view key, std::string_view value) override {
    return Write(
        "INSERT INTO herald_records (tbl, key, value) VALUES ($1, $2, $3) ON CONFLICT (tbl, key) "
        "DO UPDATE SET value = excluded.value",
        PgParams().Int16(static_cast<std::int16_t>(table)).Bytes(key).Bytes(value));
  }

  Result<std::optional<std::string>> GetRecord(RecordTable table,
                                               std::string_view key) const override {
    HERALD_ASSIGN_OR_RETURN(PgResult rows,
                            Query("SELECT value FROM herald_records WHERE tbl = $1 AND key = $2",
                                  PgParams().Int16(static_cast<std::int16_t>(table)).Bytes(key)));
    if (rows.rows() == 0) return std::optional<std::string>();
    return std::optional<std::string>(std::string(rows.Bytes(0, 0)));
  }

  Status DeleteRecord(RecordTable table, std::string_view key) override {
    return Write("DELETE FROM herald_records WHERE tbl = $1 AND key = $2",
                 PgParams().Int16(static_cast<std::int16_t>(table)).Bytes(key));
  }

  Result<Records> ScanRecordsAfter(RecordTable table, std::string_view after,
                                   std::uint32_t limit) const override {
    limit = std::clamp<std::uint32_t>(limit, 1, 10000);
    HERALD_ASSIGN_OR_RETURN(
        PgResult rows,
        Query("SELECT key, value FROM herald_records WHERE tbl = $1 AND key > $2 ORDER BY key "
              "LIMIT $3",
              PgParams()
                  .Int16(static_cast<std::int16_t>(table))
                  .Bytes(after)
                  .Int64(static_cast<std::int64_t>(limit))));
    return RecordsOf(rows);
  }

  Result<Records> ScanRecords(RecordTable table, std::string_view prefix, std::uint32_t limit,
                              ScanOrder order) const override {
    const std::string end = PrefixEnd(prefix);
    std::string sql = "SELECT key, value FROM herald_records WHERE tbl = $1 AND key >= $2";
    PgParams params;
    params.Int16(static_cast<std::int16_t>(table)).Bytes(prefix);
    if (!end.empty()) {
      sql += " AND key < $3";
      params.Bytes(end);
    }
    sql += order == ScanOrder::kNewestFirst ? " ORDER BY key DESC" : " ORDER BY key";
    if (limit > 0) sql += " LIMIT " + std::to_string(limit);
    HERALD_ASSIGN_OR_RETURN(PgResult rows, Query(sql, params));
    return RecordsOf(rows);
  }

  // ---- Lists and strings: not kept here ---------------------------------------------------
  Result<KvStore*> kv(int db) override {
    if (db < 0 || db >= kKvDatabases) return Status::InvalidArgument("DB index is out of range");
    return NoLists();
  }
  Status ClearKv() override { return NoLists(); }

  // ---- Durability: every call returns after its commit ----------------------------------
  FsyncMode fsync_mode() const override { return FsyncMode::kAlways; }
  bool AllDurable() const override { return true; }
  void SyncAsync(std::function<void(Status)> done, std::size_t /*waiters*/) override {
    done(Status::Ok());
  }
  std::uint64_t WalSyncs() const override { return 0; }
  std::uint64_t Writes() const override { return writes_.load(); }
  Status WriteHealth() const override {
    MutexLock lock(&health_mu_);
    return health_;
  }
  std::uint64_t WriteFailures() const override { return write_failures_.load(); }

  void SetWorkListener(WorkListener listener) override {
    MutexLock lock(&listener_mu_);  // waits for a call of the one before
    listener_ = std::move(listener);
  }

  // ---- Maintenance ------------------------------------------------------------------------
  Status SyncWal() override { return Status::Ok(); }
  Status Checkpoint(const std::string& /*dir*/) override {
    return Status::NotSupported(
        "backups of the postgres store backend are PostgreSQL's (pg_basebackup, or Patroni's "
        "replicas)");
  }
  Status VerifyChecksums() const override {
    return Status::NotSupported(
        "the postgres store backend has no files of its own to check (use pg_amcheck)");
  }
  std::uint64_t DiskBytes() const override {
    Result<PgResult> size = Query("SELECT pg_database_size(current_database())::int8");
    return size.ok() && size->rows() == 1 ? static_cast<std::uint64_t>(size->Int64(0, 0)) : 0;
  }
  std::uint64_t MemtableBytes() const override { return 0; }

 private:
  // A transition of one job, for TransitionMany: from the state `from` (any when nullopt),
  // `edit` changes it; `remove` deletes it instead of writing it back.
  struct Request {
    std::string id;
    std::optional<JobState> from;
    std::function<void(Job&)> edit;
    bool remove = false;
  };
  // The take that CompleteAndTake does in the completion's transaction.
  struct TakeAlong {
    std::string queue;
    std::int64_t now_ms;
    std::string worker;
    std::vector<Job> taken;
  };

  static Status NoLists() {
    return Status::NotSupported(
        "lists and strings are not kept by the postgres store backend (jobs and records only)");
  }

  std::vector<Request> CompletionRequests(std::vector<Completion> completions,
                                          std::int64_t now_ms) const {
    std::vector<Request> requests;
    requests.reserve(completions.size());
    // With a retention of 0 a completed job is not kept at all.
    const bool keep = pg_options_.completed_retention > 0;
    for (Completion& done : completions) {
      requests.push_back(Request{std::move(done.id), JobState::kActive,
                                 [now_ms, value = std::move(done.return_value)](Job& job) mutable {
                                   CompleteJob(&job, now_ms, std::move(value));
                                 },
                                 !keep});
    }
    return requests;
  }

  Result<Job> Transition(std::string_view id, JobState from, std::function<void(Job&)> edit) {
    std::vector<Request> one;
    one.push_back(Request{std::string(id), from, std::move(edit), false});
    return std::move(TransitionMany(std::move(one), nullptr).front());
  }

  std::vector<Result<Job>> TransitionMany(std::vector<Request> requests, TakeAlong* take_along);
  Status PruneCompleted(PgConnection& c, const std::string& queue, std::int64_t completed);
  Result<std::vector<Job>> TakeRows(PgConnection& c, std::string_view queue, std::size_t max,
                                    std::int64_t now_ms, std::string_view worker);
  // Takes whose commit went unanswered: if they happened, nobody holds the jobs (the caller
  // heard of an error). The keeper puts such jobs back once the database answers again.
  void NoteUnconfirmedTakes(const std::vector<Job>& jobs);
  void PutBackUnconfirmedTakes(std::int64_t now_ms);
  // At open: the jobs this node held when it stopped, put back.
  Status Recover(std::int64_t now_ms);
  // Puts back the jobs `node` held (waiting again, or failed); returns how many.
  Result<std::uint64_t> PutBackJobsOf(const std::string& node, std::string_view reason,
                                      std::int64_t now_ms);
  // A notification of another node's write (pg_node_watch.h), for the listener.
  void Deliver(std::string_view payload);
  // The jobs of nodes whose heartbeat is older than node_timeout_ms, put back.
  void SweepStoppedNodes(std::int64_t now_ms);
  Status TrimCompleted();

  // Runs `body` in a transaction on a connection of the pool: BEGIN, body, COMMIT, or ROLLBACK
  // when body fails. A Busy (serialization failure, deadlock), or a connection lost before the
  // COMMIT, runs it again (up to kTransactionTries in all). `outcome_unknown` (may be null) is
  // set when the connection was lost during the COMMIT: it may have happened.
  Status InTransaction(const std::function<Status(PgConnection&)>& body,
                       bool* outcome_unknown = nullptr) const;
  // One statement outside a transaction (reads).
  Result<PgResult> Query(std::string_view sql, const PgParams& params = PgParams()) const;
  // One statement that writes, in a transaction of its own; noted in the write figures.
  Status Write(std::string_view sql, const PgParams& params) {
    Status s = InTransaction([&](PgConnection& c) { return c.Exec(sql, params).status(); });
    NoteWrite(s);
    return s;
  }
  void NoteWrite(const Status& s) {
    if (s.ok()) {
      writes_.fetch_add(1);
    } else if (s.IsIOError()) {
      write_failures_.fetch_add(1);
    }
    // Only a failure of the database (not a refused request) makes the store unhealthy.
    if (!s.ok() && !s.IsIOError()) return;
    MutexLock lock(&health_mu_);
    health_ = s;
  }

  bool KnowsQueue(std::string_view queue) const {
    MutexLock lock(&queues_mu_);
    return queues_.count(std::string(queue)) > 0;
  }
  // OK for a queue that exists (asking the database for one this node has not seen: another
  // node may have made it); NotFound otherwise.
  Status RequireQueue(std::string_view queue) const {
    if (KnowsQueue(queue)) return Status::Ok();
    HERALD_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadQueues());
    return std::find(names.begin(), names.end(), queue) != names.end() ? Status::Ok()
                                                                       : UnknownQueue(queue);
  }
  Result<std::vector<std::string>> ReadQueues() const {
    HERALD_ASSIGN_OR_RETURN(PgResult rows, Query("SELECT name FROM herald_queues ORDER BY name"));
    std::vector<std::string> names;
    for (int r = 0; r < rows.rows(); ++r) names.emplace_back(rows.Bytes(r, 0));
    MutexLock lock(&queues_mu_);
    queues_.insert(names.begin(), names.end());
    return names;
  }

  // ---- Grouped adds: one transaction for each group (pg_add_batcher.h) ---------------------
  void RunAddGroup(std::vector<PendingAdd>* group);
  Status InsertGroup(PgConnection& c, std::vector<PendingAdd>* group,
                     const std::vector<std::size_t>& live,
                     std::vector<std::vector<AddResult>>* results);

  const PostgresStoreOptions pg_options_;
  StoreOptions options_;
  const std::shared_ptr<spdlog::logger> log_;
  mutable PgPool pool_;
  std::int64_t prune_slack_ = 0;

  mutable Mutex queues_mu_;
  mutable std::set<std::string, std::less<>> queues_ GUARDED_BY(queues_mu_);

  // Completions per queue since its completed jobs were last pruned.
  Mutex prune_mu_;
  std::map<std::string, std::int64_t, std::less<>> since_prune_ GUARDED_BY(prune_mu_);

  std::uint64_t recovered_active_ = 0;
  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> write_failures_{0};
  mutable Mutex health_mu_;
  Status health_ GUARDED_BY(health_mu_);

  Mutex listener_mu_;
  WorkListener listener_ GUARDED_BY(listener_mu_);

  // id -> processed_ms of the take (NoteUnconfirmedTakes).
  Mutex unconfirmed_mu_;
  std::map<std::string, std::int64_t> unconfirmed_ GUARDED_BY(unconfirmed_mu_);

  // Last: started once everything above exists.
  std::unique_ptr<postgres::AddBatcher> batcher_;
  std::unique_ptr<postgres::NodeWatch> watch_;
};

// ---- Plumbing ---------------------------------------------------------------------------------

Status PostgresStore::InTransaction(const std::function<Status(PgConnection&)>& body,
                                    bool* outcome_unknown) const {
  Status s;
  for (int attempt = 1; attempt <= kTransactionTries; ++attempt) {
    Result<PgPool::Lease> lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    PgConnection& c = **lease;
    s = c.Run("BEGIN");
    if (!s.ok()) continue;  // a broken connection: the next try makes a new one
    s = body(c);
    if (s.ok()) {
      s = c.Run("COMMIT");
      // A COMMIT without an answer may or may not have happened: an error, never "done".
      if (!s.ok() && c.broken()) {
        if (outcome_unknown != nullptr) *outcome_unknown = true;
        return Status::IOError(
            "postgres: the connection was lost during a commit; its outcome is unknown (" +
            s.message() + ")");
      }
      if (s.ok() || !s.IsBusy()) return s;
      continue;
    }
    // A connection lost before COMMIT: nothing happened; the next try makes a new one.
    if (c.broken()) continue;
    (void)c.Run("ROLLBACK");  // the body's error is the one to report
    if (!s.IsBusy()) return s;
  }
  return s;
}

Result<PgResult> PostgresStore::Query(std::string_view sql, const PgParams& params) const {
  HERALD_ASSIGN_OR_RETURN(PgPool::Lease lease, pool_.Acquire());
  return lease->Exec(sql, params);
}

// ---- Open -------------------------------------------------------------------------------------

Status PostgresStore::Start() {
  const std::int64_t now_ms = WallClockMs();
  {
    HERALD_ASSIGN_OR_RETURN(PgPool::Lease lease, pool_.Acquire());
    HERALD_RETURN_IF_ERROR(postgres::MigrateSchema(&*lease, now_ms));
    HERALD_ASSIGN_OR_RETURN(PgResult sync,
                            lease->Exec("SELECT current_setting('synchronous_commit')"));
    std::string mode(sync.rows() == 1 ? sync.Bytes(0, 0) : "");
    if (mode == "off" || mode == "local") {
      log_->warn(
          "store: synchronous_commit is {} on {}: a commit may be lost with the server (or "
          "its replicas) before it is on disk",
          mode, lease->server());
    }
    log_->info("store: postgres at {}, schema version {}", lease->server(),
               postgres::kSchemaVersion);
  }
  HERALD_RETURN_IF_ERROR(
      Write("INSERT INTO herald_nodes (name, heartbeat_ms, started_ms) VALUES ($1, $2, $2) ON "
            "CONFLICT (name) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms, started_ms = "
            "excluded.started_ms",
            PgParams().Text(pg_options_.node).Int64(now_ms)));
  HERALD_RETURN_IF_ERROR(ReadQueues().status());
  HERALD_RETURN_IF_ERROR(Recover(now_ms));
  HERALD_RETURN_IF_ERROR(TrimCompleted());
  batcher_ = std::make_unique<postgres::AddBatcher>(
      [this](std::vector<PendingAdd>* group) { RunAddGroup(group); }, kMaxPendingAdds);
  postgres::NodeWatch::Hooks hooks;
  hooks.notified = [this](std::string_view payload) { Deliver(payload); };
  hooks.missed = [this] {
    for (const std::string& queue : ListQueues()) Deliver("\n" + queue + "\n0");
  };
  hooks.beat = [this](std::int64_t beat_ms) {
    Status beat = Write("UPDATE herald_nodes SET heartbeat_ms = $2 WHERE name = $1",
                        PgParams().Text(pg_options_.node).Int64(beat_ms));
    if (beat.ok()) PutBackUnconfirmedTakes(beat_ms);
    return beat;
  };
  hooks.sweep = [this](std::int64_t sweep_ms) { SweepStoppedNodes(sweep_ms); };
  watch_ =
      std::make_unique<postgres::NodeWatch>(pg_options_.conninfo, pg_options_.heartbeat_ms,
                                            pg_options_.node_timeout_ms, std::move(hooks), log_);
  return Status::Ok();
}

// ---- Other nodes --------------------------------------------------------------------------

void PostgresStore::Deliver(std::string_view payload) {
  // "<node>\n<queue>\n<due_ms>" (pg_job_rows.h); a node's own writes are known to it.
  const std::size_t a = payload.find('\n');
  const std::size_t b = a == std::string_view::npos ? a : payload.find('\n', a + 1);
  if (b == std::string_view::npos) return;
  if (payload.substr(0, a) == pg_options_.node) return;
  const std::string_view queue = payload.substr(a + 1, b - a - 1);
  const std::int64_t due = std::strtoll(std::string(payload.substr(b + 1)).c_str(), nullptr, 10);
  {
    MutexLock lock(&queues_mu_);
    queues_.emplace(queue);
  }
  MutexLock lock(&listener_mu_);
  if (listener_) listener_(queue, due);
}

void PostgresStore::SweepStoppedNodes(std::int64_t now_ms) {
  Result<PgResult> stopped = Query(
      "SELECT n.name FROM herald_nodes AS n WHERE n.name <> $1 AND n.heartbeat_ms < $2 AND "
      "EXISTS (SELECT 1 FROM herald_jobs AS j WHERE j.state = 2 AND j.lease_node = n.name)",
      PgParams().Text(pg_options_.node).Int64(now_ms - pg_options_.node_timeout_ms));
  if (!stopped.ok()) return;
  for (int r = 0; r < stopped->rows(); ++r) {
    const std::string node(stopped->Bytes(r, 0));
    Result<std::uint64_t> put_back =
        PutBackJobsOf(node, "stalled: worker lost (node " + node + " stopped)", now_ms);
    if (put_back.ok() && *put_back > 0) {
      log_->warn("store: node {} stopped with {} active jobs; put back", node, *put_back);
    } else if (!put_back.ok()) {
      log_->error("store: {}", put_back.status().ToString());
    }
  }
}

void PostgresStore::NoteUnconfirmedTakes(const std::vector<Job>& jobs) {
  if (!jobs.empty()) {
    log_->warn(
        "store: the commit of a take of {} jobs went unanswered; they are put back once "
        "the database answers, if it happened",
        jobs.size());
  }
  MutexLock lock(&unconfirmed_mu_);
  for (const Job& job : jobs) unconfirmed_[job.id] = job.processed_ms;
}

void PostgresStore::PutBackUnconfirmedTakes(std::int64_t now_ms) {
  std::map<std::string, std::int64_t> takes;
  {
    MutexLock lock(&unconfirmed_mu_);
    takes.swap(unconfirmed_);
  }
  if (takes.empty()) return;
  std::vector<std::string> ids;
  for (const auto& [id, at] : takes) ids.push_back(id);
  std::vector<Job> put_back;
  Status s = InTransaction([&](PgConnection& c) {
    put_back.clear();
    HERALD_ASSIGN_OR_RETURN(
        PgResult rows,
        c.Exec("SELECT id, record FROM herald_jobs WHERE id = ANY($1::bytea[]) AND state = 2 AND "
               "lease_node = $2 ORDER BY id FOR UPDATE",
               PgParams().BytesArray(ids).Text(pg_options_.node)));
    HERALD_ASSIGN_OR_RETURN(std::vector<Job> jobs, JobsOf(rows));
    for (Job& job : jobs) {
      // Active from that very take (no other take of this node can have happened since: the
      // job stayed active), so nobody holds it.
      if (job.processed_ms != takes[job.id]) continue;
      PutBackStalled(&job, now_ms,
                     "stalled: its take was not confirmed (database connection lost)");
      put_back.push_back(std::move(job));
    }
    return UpdateJobs(&c, PointersTo(put_back), pg_options_.node);
  });
  NoteWrite(s);
  if (!s.ok()) {
    MutexLock lock(&unconfirmed_mu_);
    unconfirmed_.insert(takes.begin(), takes.end());  // again at the next heartbeat
    return;
  }
  if (!put_back.empty()) {
    log_->warn("store: {} jobs taken by a commit that went unanswered were put back",
               put_back.size());
  }
}

Result<std::uint64_t> PostgresStore::PutBackJobsOf(const std::string& node, std::string_view reason,
                                                   std::int64_t now_ms) {
  std::uint64_t total = 0;
  while (true) {
    std::size_t n = 0;
    Status s = InTransaction([&](PgConnection& c) {
      HERALD_ASSIGN_OR_RETURN(
          PgResult rows,
          c.Exec("SELECT id, record FROM herald_jobs WHERE state = 2 AND lease_node = $1 LIMIT "
                 "$2 FOR UPDATE SKIP LOCKED",
                 PgParams().Text(node).Int64(static_cast<std::int64_t>(kChunk))));
      HERALD_ASSIGN_OR_RETURN(std::vector<Job> jobs, JobsOf(rows));
      for (Job& job : jobs) PutBackStalled(&job, now_ms, reason);
      n = jobs.size();
      return UpdateJobs(&c, PointersTo(jobs), pg_options_.node);
    });
    NoteWrite(s);
    HERALD_RETURN_IF_ERROR(s.WithPrefix("put back the active jobs of node " + node));
    total += n;
    if (n < kChunk) break;
  }
  return total;
}

Status PostgresStore::Recover(std::int64_t now_ms) {
  HERALD_ASSIGN_OR_RETURN(recovered_active_,
                          PutBackJobsOf(pg_options_.node, kStalledAtRestart, now_ms));
  if (recovered_active_ > 0) {
    log_->warn("store: {} jobs were active when node {} stopped; put back", recovered_active_,
               pg_options_.node);
  }
  return Status::Ok();
}

Status PostgresStore::TrimCompleted() {
  HERALD_ASSIGN_OR_RETURN(std::vector<std::string> queues, ReadQueues());
  for (const std::string& queue : queues) {
    HERALD_RETURN_IF_ERROR(
        InTransaction([&](PgConnection& c) { return PruneCompleted(c, queue, 0); }));
  }
  return Status::Ok();
}

// ---- Adds -------------------------------------------------------------------------------------

void PostgresStore::RunAddGroup(std::vector<PendingAdd>* group) {
  // A bad request fails alone, before the transaction that the others share.
  std::vector<std::size_t> live;
  for (std::size_t i = 0; i < group->size(); ++i) {
    PendingAdd& add = (*group)[i];
    Status valid = RequireQueue(add.queue);
    for (const NewJob& job : add.jobs) {
      if (!valid.ok()) break;
      valid = ValidateNewJob(job);
    }
    if (!valid.ok()) {
      add.done(std::move(valid));
      continue;
    }
    live.push_back(i);
  }
  if (live.empty()) return;
  std::vector<std::vector<AddResult>> results;
  Status s = InTransaction([&](PgConnection& c) { return InsertGroup(c, group, live, &results); });
  NoteWrite(s);
  for (std::size_t i : live) {
    PendingAdd& add = (*group)[i];
    if (!s.ok()) {
      add.done(s.WithPrefix("add to " + add.queue));
    } else {
      add.done(std::move(results[i]));
    }
  }
}

Status PostgresStore::InsertGroup(PgConnection& c, std::vector<PendingAdd>* group,
                                  const std::vector<std::size_t>& live,
                                  std::vector<std::vector<AddResult>>* results) {
  results->assign(group->size(), {});
  // The callers' ids that exist already, and their states.
  std::vector<std::string> custom;
  for (std::size_t i : live) {
    for (const NewJob& job : (*group)[i].jobs) {
      if (!job.id.empty()) custom.push_back(job.id);
    }
  }
  std::unordered_map<std::string, JobState> known;  // ids existing or created by this group
  if (!custom.empty()) {
    HERALD_ASSIGN_OR_RETURN(PgResult rows,
                            c.Exec("SELECT id, state FROM herald_jobs WHERE id = ANY($1::bytea[])",
                                   PgParams().BytesArray(custom)));
    for (int r = 0; r < rows.rows(); ++r) {
      known.emplace(std::string(rows.Bytes(r, 0)), static_cast<JobState>(rows.Int16(r, 1)));
    }
  }
  // Which jobs are new, in order; then their sequence numbers, in one round trip.
  struct Planned {
    std::size_t add, index;
  };
  std::vector<Planned> planned;
  for (std::size_t i : live) {
    PendingAdd& add = (*group)[i];
    std::vector<AddResult>& out = (*results)[i];
    out.resize(add.jobs.size());
    for (std::size_t j = 0; j < add.jobs.size(); ++j) {
      const NewJob& job = add.jobs[j];
      if (!job.id.empty()) {
        auto seen = known.find(job.id);
        if (seen != known.end()) {
          out[j] = AddResult{job.id, false, seen->second};
          continue;
        }
        known.emplace(job.id, job.due_ms > add.now_ms ? JobState::kDelayed : JobState::kWaiting);
      }
      planned.push_back(Planned{i, j});
    }
  }
  if (planned.empty()) return Status::Ok();
  HERALD_ASSIGN_OR_RETURN(PgResult seqs,
                          c.Exec("SELECT nextval('herald_job_seq') FROM generate_series(1, $1)",
                                 PgParams().Int64(static_cast<std::int64_t>(planned.size()))));
  std::vector<std::uint64_t> numbers;
  for (int r = 0; r < seqs.rows(); ++r)
    numbers.push_back(static_cast<std::uint64_t>(seqs.Int64(r, 0)));
  if (numbers.size() != planned.size()) return Status::Internal("postgres: short sequence");
  std::sort(numbers.begin(), numbers.end());
  std::vector<Job> jobs(planned.size());
  for (std::size_t k = 0; k < planned.size(); ++k) {
    PendingAdd& add = (*group)[planned[k].add];
    NewJob& in = add.jobs[planned[k].index];
    Job& job = jobs[k];
    job.seq = numbers[k];
    job.custom_id = !in.id.empty();
    job.id = job.custom_id ? in.id : std::to_string(job.seq);
    job.queue = add.queue;
    job.payload = in.payload;
    job.name = in.name;
    job.priority = in.priority;
    job.max_attempts = in.max_attempts;
    job.backoff_type = in.backoff_type;
    job.backoff_ms = in.backoff_ms;
    job.created_ms = add.now_ms;
    if (in.due_ms > add.now_ms) {
      job.state = JobState::kDelayed;
      job.due_ms = in.due_ms;
    }
  }
  HERALD_ASSIGN_OR_RETURN(std::vector<std::string> inserted,
                          InsertJobs(&c, PointersTo(jobs), pg_options_.node));
  std::unordered_set<std::string> made(inserted.begin(), inserted.end());
  // A caller's id that another node inserted meanwhile: that job is the one reported.
  std::vector<std::string> raced;
  for (const Job& job : jobs) {
    if (made.count(job.id) == 0) raced.push_back(job.id);
  }
  std::unordered_map<std::string, JobState> raced_states;
  if (!raced.empty()) {
    HERALD_ASSIGN_OR_RETURN(PgResult rows,
                            c.Exec("SELECT id, state FROM herald_jobs WHERE id = ANY($1::bytea[])",
                                   PgParams().BytesArray(raced)));
    for (int r = 0; r < rows.rows(); ++r) {
      raced_states.emplace(std::string(rows.Bytes(r, 0)), static_cast<JobState>(rows.Int16(r, 1)));
    }
  }
  for (std::size_t k = 0; k < planned.size(); ++k) {
    const Job& job = jobs[k];
    AddResult& out = (*results)[planned[k].add][planned[k].index];
    if (made.count(job.id) > 0) {
      out = AddResult{job.id, true, job.state};
    } else {
      auto it = raced_states.find(job.id);
      out = AddResult{job.id, false, it != raced_states.end() ? it->second : job.state};
    }
  }
  return Status::Ok();
}

Result<AddResult> PostgresStore::Import(std::string_view queue, Job job) {
  HERALD_RETURN_IF_ERROR(RequireQueue(queue));
  HERALD_RETURN_IF_ERROR(ValidateImportedJob(job));
  AddResult result;
  Status s = InTransaction([&](PgConnection& c) {
    HERALD_ASSIGN_OR_RETURN(
        PgResult rows,
        c.Exec("SELECT state FROM herald_jobs WHERE id = $1 FOR UPDATE", PgParams().Bytes(job.id)));
    if (rows.rows() == 1) {
      result = AddResult{job.id, false, static_cast<JobState>(rows.Int16(0, 0))};
      return Status::Ok();
    }
    // A generated id of the other store: ours continue above it.
    if (IsGeneratedId(job.id) && job.id.size() <= 18 && std::stoll(job.id) > 0) {
      HERALD_RETURN_IF_ERROR(
          c.Exec("SELECT setval('herald_job_seq', greatest($1, (SELECT CASE WHEN is_called THEN "
                 "last_value ELSE last_value - 1 END FROM herald_job_seq), 1))",
                 PgParams().Int64(std::stoll(job.id)))
              .status());
    }
    HERALD_ASSIGN_OR_RETURN(PgResult seq, c.Exec("SELECT nextval('herald_job_seq')"));
    Job copy = job;
    copy.seq = static_cast<std::uint64_t>(seq.Int64(0, 0));
    copy.queue = std::string(queue);
    copy.custom_id = !IsGeneratedId(copy.id);
    // Its lease belonged to the other store: waiting, as a restart makes it.
    if (copy.state == JobState::kActive) copy.state = JobState::kWaiting;
    HERALD_ASSIGN_OR_RETURN(std::vector<std::string> inserted,
                            InsertJobs(&c, {&copy}, pg_options_.node));
    result = AddResult{copy.id, !inserted.empty(), copy.state};
    return Status::Ok();
  });
  NoteWrite(s);
  HERALD_RETURN_IF_ERROR(s);
  return result;
}

// ---- Takes and transitions ----------------------------------------------------------------

Result<std::vector<Job>> PostgresStore::TakeRows(PgConnection& c, std::string_view queue,
                                                 std::size_t max, std::int64_t now_ms,
                                                 std::string_view worker) {
  HERALD_ASSIGN_OR_RETURN(
      PgResult rows,
      c.Exec("SELECT id, record FROM herald_jobs WHERE queue = $1 AND state = 1 ORDER BY "
             "priority, seq LIMIT $2 FOR UPDATE SKIP LOCKED",
             PgParams().Text(queue).Int64(static_cast<std::int64_t>(max))));
  HERALD_ASSIGN_OR_RETURN(std::vector<Job> jobs, JobsOf(rows));
  for (Job& job : jobs) TakeJob(&job, now_ms, worker);
  HERALD_RETURN_IF_ERROR(UpdateJobs(&c, PointersTo(jobs), pg_options_.node));
  return jobs;
}

std::vector<Result<Job>> PostgresStore::TransitionMany(std::vector<Request> requests,
                                                       TakeAlong* take_along) {
  std::vector<Result<Job>> results;
  results.reserve(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    results.emplace_back(Status::Internal("transition not planned"));
  }
  if (requests.empty()) return results;
  std::vector<std::size_t> asked;  // requests that go to the database
  std::vector<std::string> ids;
  {
    std::unordered_set<std::string_view> seen;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (!seen.insert(requests[i].id).second) {
        results[i] = Status::InvalidArgument("job " + requests[i].id + " given twice");
        continue;
      }
      asked.push_back(i);
      ids.push_back(requests[i].id);
    }
  }
  std::vector<std::size_t> written;  // requests whose job this transaction changes
  bool unknown = false;
  Status s = InTransaction(
      [&](PgConnection& c) {
        written.clear();
        if (take_along != nullptr) take_along->taken.clear();
        // Row locks in id order, so that two batches of the same jobs never deadlock.
        HERALD_ASSIGN_OR_RETURN(PgResult rows,
                                c.Exec("SELECT id, record, lease_node FROM herald_jobs WHERE id = "
                                       "ANY($1::bytea[]) ORDER BY id FOR UPDATE",
                                       PgParams().BytesArray(ids)));
        HERALD_ASSIGN_OR_RETURN(std::vector<Job> found, JobsOf(rows));
        std::unordered_map<std::string_view, Job*> by_id;
        std::unordered_map<std::string_view, std::string_view> holder;  // active job -> its node
        for (std::size_t k = 0; k < found.size(); ++k) {
          by_id.emplace(found[k].id, &found[k]);
          holder.emplace(found[k].id, rows.Bytes(static_cast<int>(k), 2));
        }
        std::vector<const Job*> kept;
        std::vector<std::string> removed;
        std::map<std::string, std::int64_t> completing;
        for (std::size_t i : asked) {
          Request& r = requests[i];
          auto it = by_id.find(r.id);
          if (it == by_id.end()) {
            results[i] = Status::NotFound("job " + r.id + " not found");
            continue;
          }
          Job& job = *it->second;
          if (r.from && job.state != *r.from) {
            results[i] = WrongState(job, *r.from);
            continue;
          }
          if (r.from == JobState::kActive && holder[job.id] != pg_options_.node) {
            results[i] = Status::InvalidArgument("job " + job.id + " is held by node " +
                                                 std::string(holder[job.id]) +
                                                 ", not by this one (" + pg_options_.node + ")");
            continue;
          }
          r.edit(job);
          if (r.remove) {
            removed.push_back(job.id);
          } else {
            kept.push_back(&job);
            if (job.state == JobState::kCompleted) ++completing[job.queue];
          }
          written.push_back(i);
          results[i] = job;
        }
        HERALD_RETURN_IF_ERROR(UpdateJobs(&c, kept, pg_options_.node));
        HERALD_RETURN_IF_ERROR(DeleteJobs(&c, removed));
        if (take_along != nullptr && !written.empty()) {
          HERALD_ASSIGN_OR_RETURN(
              take_along->taken,
              TakeRows(c, take_along->queue, 1, take_along->now_ms, take_along->worker));
        }
        for (const auto& [queue, n] : completing)
          HERALD_RETURN_IF_ERROR(PruneCompleted(c, queue, n));
        return Status::Ok();
      },
      &unknown);
  NoteWrite(s);
  if (!s.ok()) {
    for (std::size_t i : asked) {
      if (results[i].ok() || results[i].status().code() == Status::Code::kInternal) results[i] = s;
    }
    if (take_along != nullptr) {
      if (unknown) NoteUnconfirmedTakes(take_along->taken);
      take_along->taken.clear();
    }
  }
  return results;
}

Status PostgresStore::PruneCompleted(PgConnection& c, const std::string& queue,
                                     std::int64_t completed) {
  {
    MutexLock lock(&prune_mu_);
    std::int64_t& since = since_prune_[queue];
    since += completed;
    // Deletes go in groups (as the embedded store's): at most `slack` beyond the retention.
    if (completed > 0 && since <= prune_slack_) return Status::Ok();
    since = 0;
  }
  return c
      .Exec(
          "DELETE FROM herald_jobs WHERE id IN (SELECT id FROM herald_jobs WHERE queue = $1 AND "
          "state = 4 ORDER BY finished_ms DESC, seq DESC OFFSET $2 FOR UPDATE SKIP LOCKED)",
          PgParams().Text(queue).Int64(pg_options_.completed_retention))
      .status();
}

// ---- Bulk transitions -------------------------------------------------------------------------

Result<std::uint64_t> PostgresStore::RetryAllFailed(std::string_view queue, std::int64_t /*now_ms*/,
                                                    std::vector<Job>* retried) {
  HERALD_RETURN_IF_ERROR(RequireQueue(queue));
  // Stop at the last failed job present now, so a stream of new failures can't keep this going.
  HERALD_ASSIGN_OR_RETURN(
      PgResult last,
      Query("SELECT finished_ms, seq FROM herald_jobs WHERE queue = $1 AND state = 5 ORDER BY "
            "finished_ms DESC, seq DESC LIMIT 1",
            PgParams().Text(queue)));
  if (last.rows() == 0) return std::uint64_t{0};
  const std::int64_t last_finished = last.Int64(0, 0);
  const std::int64_t last_seq = last.Int64(0, 1);
  std::uint64_t total = 0;
  while (true) {
    std::vector<Job> jobs;
    Status s = InTransaction([&](PgConnection& c) {
      HERALD_ASSIGN_OR_RETURN(
          PgResult rows,
          c.Exec("SELECT id, record FROM herald_jobs WHERE queue = $1 AND state = 5 AND "
                 "(finished_ms, seq) <= ($2, $3) ORDER BY finished_ms, seq LIMIT $4 FOR UPDATE "
                 "SKIP LOCKED",
                 PgParams()
                     .Text(queue)
                     .Int64(last_finished)
                     .Int64(last_seq)
                     .Int64(static_cast<std::int64_t>(kChunk))));
      HERALD_ASSIGN_OR_RETURN(jobs, JobsOf(rows));
      for (Job& job : jobs) RetryFailedJob(&job);
      return UpdateJobs(&c, PointersTo(jobs), pg_options_.node);
    });
    NoteWrite(s);
    HERALD_RETURN_IF_ERROR(s);
    total += jobs.size();
    if (retried != nullptr) std::move(jobs.begin(), jobs.end(), std::back_inserter(*retried));
    if (jobs.size() < kChunk) break;
  }
  return total;
}

Result<std::uint64_t> PostgresStore::PromoteDue(std::string_view queue, std::int64_t now_ms,
                                                std::uint64_t limit, std::vector<Job>* promoted) {
  HERALD_RETURN_IF_ERROR(RequireQueue(queue));
  std::uint64_t total = 0;
  while (total < limit) {
    const std::uint64_t want = std::min<std::uint64_t>(kChunk, limit - total);
    std::vector<Job> jobs;
    Status s = InTransaction([&](PgConnection& c) {
      HERALD_ASSIGN_OR_RETURN(
          PgResult rows,
          c.Exec("SELECT id, record FROM herald_jobs WHERE queue = $1 AND state = 3 AND due_ms "
                 "<= $2 ORDER BY due_ms, seq LIMIT $3 FOR UPDATE SKIP LOCKED",
                 PgParams().Text(queue).Int64(now_ms).Int64(static_cast<std::int64_t>(want))));
      HERALD_ASSIGN_OR_RETURN(jobs, JobsOf(rows));
      for (Job& job : jobs) job.state = JobState::kWaiting;
      return UpdateJobs(&c, PointersTo(jobs), pg_options_.node);
    });
    NoteWrite(s);
    HERALD_RETURN_IF_ERROR(s);
    total += jobs.size();
    const bool short_chunk = jobs.size() < want;
    if (promoted != nullptr) std::move(jobs.begin(), jobs.end(), std::back_inserter(*promoted));
    if (short_chunk) break;
  }
  return total;
}

std::optional<std::int64_t> PostgresStore::NextDue(std::string_view queue) const {
  Result<PgResult> rows =
      Query("SELECT min(due_ms)::int8 FROM herald_jobs WHERE queue = $1 AND state = 3",
            PgParams().Text(queue));
  if (!rows.ok()) {
    // The scheduler asks again; the outage shows in the calls that fail and in readiness.
    log_->debug("store: next due time of {}: {}", queue, rows.status().ToString());
    return std::nullopt;
  }
  if (rows->rows() == 0 || rows->IsNull(0, 0)) return std::nullopt;
  return rows->Int64(0, 0);
}

Result<std::uint64_t> PostgresStore::Clean(std::string_view queue, JobState state,
                                           std::int64_t older_than_ms, std::uint64_t limit,
                                           std::vector<Job>* cleaned) {
  if (state == JobState::kActive) {
    return Status::InvalidArgument("active jobs can't be cleaned (they are being worked on)");
  }
  HERALD_RETURN_IF_ERROR(RequireQueue(queue));
  // The time each state is aged by: created (waiting), due (delayed), finished (the others).
  const std::string column = state == JobState::kWaiting   ? "created_ms"
                             : state == JobState::kDelayed ? "due_ms"
                                                           : "finished_ms";
  const std::string sql =
      "SELECT id, record FROM herald_jobs WHERE queue = $1 AND state = $2 AND " + column +
      " <= $3 ORDER BY " + column + ", seq LIMIT $4 FOR UPDATE SKIP LOCKED";
  std::uint64_t removed = 0;
  while (removed < limit) {
    const std::uint64_t want = std::min<std::uint64_t>(kChunk, limit - removed);
    std::vector<Job> jobs;
    Status s = InTransaction([&](PgConnection& c) {
      HERALD_ASSIGN_OR_RETURN(PgResult rows,
                              c.Exec(sql, PgParams()
                                              .Text(queue)
                                              .Int16(static_cast<std::int16_t>(state))
                                              .Int64(older_than_ms)
                                              .Int64(static_cast<std::int64_t>(want))));
      HERALD_ASSIGN_OR_RETURN(jobs, JobsOf(rows));
      std::vector<std::string> ids;
      for (const Job& job : jobs) ids.push_back(job.id);
      return DeleteJobs(&c, ids);
    });
    NoteWrite(s);
    HERALD_RETURN_IF_ERROR(s);
    removed += jobs.size();
    const bool short_chunk = jobs.size() < want;
    if (cleaned != nullptr) std::move(jobs.begin(), jobs.end(), std::back_inserter(*cleaned));
    if (short_chunk) break;
  }
  return removed;
}

// ---- Reads ------------------------------------------------------------------------------------

Result<QueueCounts> PostgresStore::Counts(std::string_view queue) const {
  HERALD_ASSIGN_OR_RETURN(PgResult paused, Query("SELECT paused FROM herald_queues WHERE name = $1",
                                                 PgParams().Text(queue)));
  if (paused.rows() == 0) return UnknownQueue(queue);
  QueueCounts counts;
  counts.paused = paused.Bool(0, 0);
  HERALD_ASSIGN_OR_RETURN(PgResult rows,
                          Query("SELECT state, count(*)::int8 FROM herald_jobs WHERE queue = $1 "
                                "GROUP BY state",
                                PgParams().Text(queue)));
  for (int r = 0; r < rows.rows(); ++r) {
    const auto n = static_cast<std::uint64_t>(rows.Int64(r, 1));
    switch (static_cast<JobState>(rows.Int16(r, 0))) {
      case JobState::kWaiting:
        counts.waiting = n;
        break;
      case JobState::kActive:
        counts.active = n;
        break;
      case JobState::kDelayed:
        counts.delayed = n;
        break;
      case JobState::kCompleted:
        counts.completed = n;
        break;
      case JobState::kFailed:
        counts.failed = n;
        break;
    }
  }
  return counts;
}

Result<JobPage> PostgresStore::List(std::string_view queue, JobState state, std::string_view cursor,
                                    std::uint32_t count) const {
  HERALD_RETURN_IF_ERROR(RequireQueue(queue));
  count = std::clamp<std::uint32_t>(count, 1, 10000);
  const StateOrder order = OrderOf(state);
  // The cursor is the next job's place: its first ordering column (if any) and seq, as be64s.
  const std::size_t cursor_bytes = order.first.empty() ? 8 : 16;
  std::optional<std::pair<std::int64_t, std::int64_t>> from;
  if (!cursor.empty()) {
    std::optional<std::string> raw = keys::FromHex(cursor);
    if (!raw || raw->size() != cursor_bytes) return Status::InvalidArgument("invalid cursor");
    const auto first =
        static_cast<std::int64_t>(order.first.empty() ? 0 : keys::LoadBe64(raw->data()));
    const auto seq = static_cast<std::int64_t>(keys::LoadBe64(raw->data() + cursor_bytes - 8));
    from.emplace(first, seq);
  }
  const std::string first = order.first.empty() ? "0::int8" : std::string(order.first);
  std::string sql =
      "SELECT id, record, " + first + ", seq FROM herald_jobs WHERE queue = $1 AND state = $2";
  PgParams params;
  params.Text(queue).Int16(static_cast<std::int16_t>(state));
  if (from) {
    sql += " AND (" + first + ", seq) " + (order.newest_first ? "<=" : ">=") + " ($3, $4)";
    params.Int64(from->first).Int64(from->second);
  }
  const std::string dir = order.newest_first ? " DESC" : "";
  sql += " ORDER BY " + first + dir + ", seq" + dir + " LIMIT " + std::to_string(count + 1);
  HERALD_ASSIGN_OR_RETURN(PgResult rows, Query(sql, params));
  HERALD_ASSIGN_OR_RETURN(std::vector<Job> jobs, JobsOf(rows));
  JobPage page;
  if (jobs.size() > count) {
    const int next = static_cast<int>(count);
    std::string raw;
    if (!order.first.empty()) keys::PutBe64(&raw, static_cast<std::uint64_t>(rows.Int64(next, 2)));
    keys::PutBe64(&raw, static_cast<std::uint64_t>(rows.Int64(next, 3)));
    page.next_cursor = keys::ToHex(raw);
    jobs.resize(count);
  }
  page.jobs = std::move(jobs);
  return page;
}

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(PostgresStoreOptions options) {
  if (options.conninfo.empty()) {
    return Status::InvalidArgument("the postgres store backend needs a connection string");
  }
  if (options.node.empty()) return Status::InvalidArgument("the store's node name is empty");
  std::shared_ptr<spdlog::logger> log = options.logger ? options.logger : spdlog::default_logger();
  auto store = std::make_unique<PostgresStore>(std::move(options), std::move(log));
  HERALD_RETURN_IF_ERROR(store->Start());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace herald::storage
