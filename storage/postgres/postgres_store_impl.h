// Internal to storage/postgres. PostgresStore: the PostgreSQL backend of Store, whose contract
// is postgres_store.h. Its definitions are in four units by what they do: postgres_store.cc
// (open, transactions, reads), pg_store_adds.cc (grouped adds, imports), pg_store_jobs.cc
// (grouped takes and transitions, retention, bulk changes) and pg_store_nodes.cc (recovery, the
// sweep of stopped nodes, unconfirmed takes, notices of other nodes' work).
//
// Thread safety: thread-safe, as Store.
#pragma once

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
#include "storage/postgres/pg_change_groups.h"
#include "storage/postgres/pg_connection.h"
#include "storage/postgres/pg_job_rows.h"
#include "storage/postgres/pg_node_watch.h"
#include "storage/postgres/pg_pool.h"
#include "storage/postgres/pg_schema.h"
#include "storage/postgres/postgres_store.h"
#include "storage/quote.h"
#include "storage/wall_clock.h"

namespace herald::storage::postgres {

// As the embedded store's recovery says it (storage/queue_recovery.cc).
inline constexpr std::string_view kStalledAtRestart = "stalled: worker lost (process restarted)";
// Bulk transitions and recovery work through the jobs in transactions of this many.
inline constexpr std::size_t kChunk = 1000;
// Adds waiting for their transaction, at most; more are refused with Busy.
inline constexpr std::size_t kMaxPendingAdds = 100000;
// Groups of job changes (takes and transitions) in flight at once, at most: while they commit,
// the next group gathers.
inline constexpr std::size_t kChangeGroupsRunning = 2;
// A transaction that meets a serialization failure or deadlock runs again, up to this often.
inline constexpr int kTransactionTries = 3;

inline Status WrongState(const Job& job, JobState expected) {
  return Status::InvalidArgument("job " + job.id + " is " + std::string(JobStateName(job.state)) +
                                 ", not " + std::string(JobStateName(expected)));
}

inline Status UnknownQueue(std::string_view queue) {
  return Status::NotFound("unknown queue " + Quote(queue));
}

inline std::vector<const Job*> PointersTo(const std::vector<Job>& jobs) {
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

inline StateOrder OrderOf(JobState state) {
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
inline std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

using Records = std::vector<std::pair<std::string, std::string>>;

inline Records RecordsOf(const PgResult& rows) {
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
    groups_ = std::make_unique<ChangeGroups>(
        [this](const std::vector<JobChange*>& group) { RunChangeGroup(group); },
        kChangeGroupsRunning, kChunk);
  }

  ~PostgresStore() override {
    batcher_.reset();  // the adds still waiting run first
    const bool started = watch_ != nullptr;
    watch_.reset();
    if (started) MarkStopped();
  }

  Status Start();

  // A generated id of this store: seq * clusters + position (PostgresStoreOptions), the seq
  // itself with one cluster.
  std::string GeneratedId(std::uint64_t seq) const {
    return std::to_string(seq * pg_options_.clusters + pg_options_.cluster_position);
  }
  // The ids this store generates from now on are above `id` (a decimal id that an import
  // into another cluster of the map kept).
  Status ContinueIdsAbove(std::string_view id) {
    Status s = InTransaction([&](PgConnection& c) { return ContinueIdsAbove(c, id); });
    NoteWrite(s);
    return s;
  }

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

  void AddManyAsync(std::string_view queue, std::vector<NewJob> jobs, std::int64_t now_ms,
                    std::function<void(Result<std::vector<AddResult>>)> done) override {
    batcher_->Enqueue(PendingAdd{std::string(queue), std::move(jobs), now_ms, std::move(done)});
  }
  bool AddsWaitForCommit() const override { return true; }

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
    if (max == 0) return std::vector<Job>();
    JobChange change;
    change.take = TakeAsk{std::string(queue), max, now_ms, std::string(worker)};
    groups_->Run(&change);
    return std::move(change.taken);
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
    JobChange change;
    change.transitions = CompletionTransitions(std::move(completions), now_ms);
    groups_->Run(&change);
    return std::move(change.results);
  }

  CompleteAndTakeResult CompleteAndTake(Completion done, std::string_view next_queue,
                                        std::int64_t now_ms, std::string_view worker) override {
    std::vector<Completion> one;
    one.push_back(std::move(done));
    JobChange change;
    change.transitions = CompletionTransitions(std::move(one), now_ms);
    if (RequireQueue(next_queue).ok()) {
      change.take = TakeAsk{std::string(next_queue), 1, now_ms, std::string(worker)};
      change.take_when = TakeWhen::kAfterAWrite;
    }
    groups_->Run(&change);
    CompleteAndTakeResult out{std::move(change.results.front()), std::nullopt};
    if (change.taken.ok() && !change.taken->empty()) out.next = std::move(change.taken->front());
    return out;
  }

  Result<Job> FailRetry(std::string_view id, std::string error, std::int64_t due_ms,
                        std::int64_t now_ms) override {
    return Transition(id, JobState::kActive,
                      [&](Job& job) { RetryJobLater(&job, error, due_ms, now_ms); });
  }

  Result<Job> FailFinal(std::string_view id, std::string error, std::int64_t now_ms,
                        AttemptOutcome outcome) override {
    return Transition(id, JobState::kActive,
                      [&](Job& job) { FailJob(&job, error, now_ms, outcome); });
  }

  Result<Job> Requeue(std::string_view id, std::string reason, std::int64_t now_ms) override {
    return Transition(id, JobState::kActive, [&](Job& job) { RequeueJob(&job, reason, now_ms); });
  }

  Result<Job> Retry(std::string_view id, std::int64_t /*now_ms*/) override {
    return Transition(id, JobState::kFailed, [](Job& job) { RetryFailedJob(&job); });
  }

  Result<Job> Promote(std::string_view id, std::int64_t /*now_ms*/) override {
    return Transition(id, JobState::kDelayed, [](Job& job) { job.state = JobState::kWaiting; });
  }

  Status Delete(std::string_view id) override {
    JobChange change;
    change.transitions.push_back(JobTransition{.id = std::string(id), .remove = true});
    groups_->Run(&change);
    return change.results.front().ok() ? Status::Ok() : change.results.front().status();
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
  // A count(*) per state is dearer than the take it would save.
  bool MayHaveWaiting(std::string_view /*queue*/) const override { return true; }
  bool SharedWithOtherNodes() const override { return true; }
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
  // A change's transition, numbered across its group (RunChangeGroup).
  struct Asked {
    JobChange* change;
    std::size_t index;  // into change->transitions and change->results
  };

  static Status NoLists() {
    return Status::NotSupported(
        "lists and strings are not kept by the postgres store backend (jobs and records only)");
  }

  std::vector<JobTransition> CompletionTransitions(std::vector<Completion> completions,
                                                   std::int64_t now_ms) const {
    std::vector<JobTransition> transitions;
    transitions.reserve(completions.size());
    // With a retention of 0 a completed job is not kept at all.
    const bool keep = pg_options_.completed_retention > 0;
    for (Completion& done : completions) {
      // The value is copied into the job: a transaction may run again.
      transitions.push_back(
          JobTransition{.id = std::move(done.id),
                        .from = JobState::kActive,
                        .edit = [now_ms, value = std::move(done.return_value)](
                                    Job& job) { CompleteJob(&job, now_ms, value); },
                        .remove = !keep});
    }
    return transitions;
  }

  // The sequence, and so the ids generated from it, continue above `id` when it is a decimal
  // id (as generated ids are); nothing for another.
  static Status ContinueIdsAbove(PgConnection& c, std::string_view id);

  Result<Job> Transition(std::string_view id, JobState from, std::function<void(Job&)> edit) {
    JobChange change;
    change.transitions.push_back(
        JobTransition{.id = std::string(id), .from = from, .edit = std::move(edit)});
    groups_->Run(&change);
    return std::move(change.results.front());
  }

  // ---- Grouped changes: one transaction for each group (pg_change_groups.h) ----------------
  void RunChangeGroup(const std::vector<JobChange*>& group);
  // The group's transitions; `wrote` gets the changes that had one written.
  Status TransitionRows(PgConnection& c, const std::vector<Asked>& asked,
                        const std::vector<std::string>& ids,
                        std::unordered_set<const JobChange*>* wrote);
  // The group's takes, after its transitions.
  Status TakeRows(PgConnection& c, const std::vector<JobChange*>& group,
                  const std::unordered_set<const JobChange*>& wrote);
  Status PruneCompleted(PgConnection& c, const std::string& queue, std::int64_t completed);
  // Takes whose commit went unanswered: if they happened, nobody holds the jobs (the caller
  // heard of an error). The keeper puts such jobs back once the database answers again.
  void NoteUnconfirmedTakes(const std::vector<Job>& jobs);
  void PutBackUnconfirmedTakes(std::int64_t now_ms);
  // At open: the jobs this node held when it stopped, put back.
  Status Recover(std::int64_t now_ms);
  // At a clean stop: this node's heartbeat says it stopped, so that another node puts back the
  // jobs it still holds (leases of remote workers) at its next sweep instead of after
  // node_timeout_ms. A restart of this node before that recovers them itself, as always.
  void MarkStopped();
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

  std::unique_ptr<ChangeGroups> groups_;
  // Last: started once everything above exists.
  std::unique_ptr<AddBatcher> batcher_;
  std::unique_ptr<NodeWatch> watch_;
};

}  // namespace herald::storage::postgres
