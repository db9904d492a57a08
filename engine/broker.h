// Broker: the job lifecycle. Turns events into jobs on the right queue, hands jobs to local
// worker threads and to remote workers (GETJOB), completes them, retries failures with each
// queue's backoff, and keeps time: delayed jobs become waiting when due, expired leases put
// their jobs back.
//
// States: waiting -> active -> completed; active -> delayed (backoff) -> waiting ...; active ->
// failed after the last attempt. Leases (who holds an active job, until when) live in memory:
// after a restart every job that was active is waiting again (the store does that at open),
// with its attempt counted.
//
// A facade over its parts: LeaseTable (leases and their deadlines), TakeWaiters (blocking
// takes), each queue's QueueAdmission (pause, concurrency, rate limit), the Scheduler thread
// and the WorkerPool of local workers, which run handlers through HandlerCall. The leases,
// the waiters and the admission counts change together under the broker's one mutex, which is
// never held during a store write or a callback.
//
// Thread safety: thread-safe. Blocking takes never block the caller: TakeAsync registers a
// waiter whose callback runs on whichever thread makes a job available (or on the scheduler
// thread on timeout); the callback must be quick (post to an I/O strand).
//
// Lifetime: `store`, `clock` and handlers passed in must outlive the Broker. Call Shutdown()
// (or destroy) before closing the store.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/background_runner.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "engine/backups.h"
#include "engine/durability.h"
#include "engine/engine_config.h"
#include "engine/event_router.h"
#include "engine/handler.h"
#include "engine/job_events.h"
#include "engine/keyspace.h"
#include "engine/lease_table.h"
#include "engine/queue_policy.h"
#include "engine/queue_state.h"
#include "engine/records.h"
#include "engine/scheduler.h"
#include "engine/take_waiters.h"
#include "engine/worker_pool.h"
#include "storage/store.h"

namespace spdlog {
class logger;
}

namespace herald::engine {

using storage::Job;
using storage::JobState;
// The job vocabulary of the store, as the servers use it through the engine.
using storage::Attempt;
using storage::AttemptOutcome;
using storage::AttemptOutcomeName;
using storage::BackoffType;
using storage::BackoffTypeName;
using storage::Completion;
using storage::JobPage;
using storage::JobStateName;
using storage::ParseBackoffType;
using storage::ParseJobState;
using storage::QueueCounts;

// Options of one ADDJOB. Unset fields come from the queue's policy.
struct JobOptions {
  std::string id;  // "" = generated
  std::int64_t delay_ms = 0;
  std::optional<std::uint32_t> attempts;
  std::optional<storage::BackoffType> backoff_type;
  std::optional<std::int64_t> backoff_ms;
  std::uint32_t priority = 0;
  std::string name;  // "" = none; at most storage::kMaxJobNameBytes
};

struct AddedJob {
  std::string id;
  std::string queue;
  bool created = false;  // false: a job with this id existed (deduplicated)
  JobState state = JobState::kWaiting;
};

struct TakeRequest {
  std::vector<std::string> queues;  // tried in order
  std::uint32_t count = 1;          // at most this many jobs
  std::int64_t lease_ms = 0;        // 0 = the queue's policy
  // Who runs the jobs, as their attempts record it: a remote client's "name@addr" (or "addr"
  // when it has no name). "" = unknown.
  std::string worker;
};

// Who serves a queue right now, and what holds its jobs back (the HTTP API's blockedBy).
struct QueueServing {
  bool local_workers = false;              // a local handler with worker threads running
  bool remote_waiting = false;             // a remote GETJOB is parked on the queue now
  std::uint32_t active = 0;                // jobs under a lease (local and remote)
  std::uint32_t concurrency = 0;           // its limit; 0 = none
  std::int64_t rate_limited_until_ms = 0;  // its rate window is full until then; 0 = not now
  bool paused = false;
};

// What a failed attempt does to its job (NACK, a handler's failure).
enum class FailMode : std::uint8_t {
  kRetry,      // delayed for the backoff, or failed when its attempts are used up
  kPermanent,  // failed at once, whatever attempts are left (e.g. a mail relay's 5xx)
};

class Broker {
 public:
  using TakeCallback = TakeWaiters::Callback;
  using WaiterId = TakeWaiters::Id;

  // Creates the queues of `config` in the store. `logger`: not null.
  static Result<std::unique_ptr<Broker>> Create(storage::Store* store, EngineConfig config,
                                                Clock* clock,
                                                std::shared_ptr<spdlog::logger> logger);
  ~Broker();  // Shutdown()
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // ---- Set-up (before Start) ---------------------------------------------------------------
  // Local handler for a queue's jobs; creates the queue when new. InvalidArgument after Start.
  Status RegisterHandler(std::string_view queue, std::shared_ptr<Handler> handler);
  // Gives queue `policy.name` this policy (creating the queue when new), for programs that set
  // a queue's limits with its handler. InvalidArgument after Start or for a bad policy; Busy
  // while jobs are taken or takes wait. A call racing with one on that queue (an Add) may
  // still see the policy before.
  Status ConfigureQueue(QueuePolicy policy);
  // A config reload, at any time: each queue of `queues` gets that policy (created when new),
  // and `events` become the routes and contracts. Jobs already added keep their attempts and
  // backoff (they are the job's, as in BullMQ); new adds, takes, handler timeouts, leases,
  // concurrency and rate limits and retention follow the new policy at once. Queues not in
  // `queues` keep theirs. InvalidArgument (and nothing changed) for a bad policy.
  Status Reconfigure(const std::vector<QueuePolicy>& queues,
                     const std::vector<EventContract>& events);
  // Job events, delivered on the bus's own thread (see JobEventBus). Subscribe at any time;
  // Shutdown() delivers what is queued, for up to shutdown_grace_ms, and stops it. Each event
  // is reported once its change is durable, and a job's events arrive in the order of its
  // state changes, whichever threads made them (broker.cc says how). One exception: a DELJOB,
  // QRETRY, PROMOTE or QCLEAN of a job that another thread changes at the same moment (within
  // the time of one write) may be reported before that change although it came after.
  JobEventBus& events() { return events_; }
  // Starts the scheduler thread (unless config.scheduler_thread is false) and the workers.
  Status Start();
  // Stops handing out work, waits up to shutdown_grace_ms for running handlers (their results
  // are recorded), asks the handlers still running to stop (their stop token) and waits up to
  // shutdown_grace_ms more for them, stops the scheduler, then gives the job events still
  // queued up to shutdown_grace_ms more (a subscriber stuck past that is abandoned: see
  // JobEventBus). Jobs still active stay active on disk and are waiting again at the next
  // start. False when a handler ignored its stop token and still runs: its worker thread is
  // left alone (a thread can't be stopped from outside), and destroying the Broker waits for
  // it; a process that wants to exit now can (the store is as safe as after kill -9).
  // Idempotent: later calls return the first one's answer at once.
  bool Shutdown();

  // ---- Producing -----------------------------------------------------------------------------
  // Adds a job; creates the queue when new (InvalidArgument for a bad name). Deduplicates by id.
  Result<AddedJob> Add(std::string_view queue, std::string payload, const JobOptions& options);
  // Many jobs to one queue in one durable batch.
  Result<std::vector<AddedJob>> AddMany(std::string_view queue,
                                        std::vector<std::pair<std::string, JobOptions>> jobs);
  // AddMany without waiting: `done` gets its answer once the jobs are durable, on a thread of
  // the store (Store::AddManyAsync; at once on this thread where adds do not wait for a
  // commit). The adds of every caller in flight share their commit.
  void AddManyAsync(std::string_view queue, std::vector<std::pair<std::string, JobOptions>> jobs,
                    std::function<void(Result<std::vector<AddedJob>>)> done);
  // Whether each add waits for a commit of its own when called alone (the postgres store),
  // so that callers with many adds at once should hand them over together (AddManyAsync).
  bool adds_wait_for_commits() const;
  // Whether takes, acknowledgements and failures wait for a commit on the calling thread (the
  // postgres store, as adds_wait_for_commits): servers then make those calls through
  // PostStoreCall, so that no I/O thread waits for a commit.
  bool calls_wait_for_commits() const { return store_calls_ != nullptr; }
  // Runs `call` on one of the broker's store-call threads (kStoreCallThreads of them, so that
  // that many commits are in flight at once). Only where calls_wait_for_commits(). Busy when
  // kStoreCallsWaiting wait already; ShuttingDown once the broker is being destroyed.
  static constexpr std::size_t kStoreCallThreads = 8;
  static constexpr std::size_t kStoreCallsWaiting = 65536;
  Status PostStoreCall(std::function<void()> call);
  // A job exported from another Herald (storage::Store::Import), into job.queue (created when
  // new). created = false when a job with its id exists: nothing changes.
  Result<AddedJob> Import(Job job);
  // Validates and routes an event; its eventId is the job id.
  Result<AddedJob> Emit(std::string_view event_json);

  // ---- Consuming (remote workers; local workers use the same paths) --------------------------
  // Takes up to request.count waiting jobs at once; empty when none (or all queues paused or
  // limited). InvalidArgument for a bad lease or queue name.
  Result<std::vector<LeasedJob>> Take(const TakeRequest& request);
  // Like Take, but when nothing is available registers a waiter (FIFO per queue) that is
  // called once with the jobs, or with an empty vector at `timeout_ms` (0 = wait forever).
  // When jobs are available now, `callback` runs before TakeAsync returns, and 0 is returned.
  Result<WaiterId> TakeAsync(const TakeRequest& request, std::int64_t timeout_ms,
                             TakeCallback callback);
  // Removes a waiter without calling it (a client disconnected). No-op when already served.
  void CancelWaiter(WaiterId id);
  // Ack, Fail, AckMany: a lease survives a write that failed (e.g. a full disk), so that the
  // call can be repeated, and its expiry still puts the job back.
  // active -> completed. NotFound when the job is not active under a lease.
  Result<Job> Ack(std::string_view id, std::string return_value = {});
  // A worker's steady step (GETJOB ACK id ... FROM ...): completes `id` and takes the next
  // jobs of `request` (as Take), the completion and the first job taken in one write. NotFound
  // (nothing taken) when `id` is not active under a lease; InvalidArgument as Take.
  Result<std::vector<LeasedJob>> AckAndTake(std::string_view id, std::string return_value,
                                            const TakeRequest& request);
  // Many Acks written as one batch (ACKJOB id id ...): one result per completion, in order.
  std::vector<Result<Job>> AckMany(std::vector<storage::Completion> completions);
  // A failed attempt (see FailMode). With kRetry, `retry_in_ms` 0 or more sets when the next
  // attempt is due instead of the job's backoff (-1). NotFound when not active under a lease.
  Result<Job> Fail(std::string_view id, std::string error, FailMode mode = FailMode::kRetry,
                   std::int64_t retry_in_ms = -1);
  // Extends the lease by `lease_ms` from now (0 = the queue's lease). Returns the new lease in
  // ms. NotFound when not active under a lease; InvalidArgument for a lease outside 1 s..24 h.
  Result<std::int64_t> ExtendLease(std::string_view id, std::int64_t lease_ms = 0);

  // ---- Managing ------------------------------------------------------------------------------
  Result<Job> Show(std::string_view id) const;
  Status Delete(std::string_view id);
  Result<Job> Retry(std::string_view id);                  // failed -> waiting
  Result<std::uint64_t> RetryAll(std::string_view queue);  // every failed job -> waiting
  Result<Job> Promote(std::string_view id);                // delayed -> waiting now
  Result<std::uint64_t> Clean(std::string_view queue, JobState state, std::int64_t age_ms,
                              std::uint64_t limit);
  Status Pause(std::string_view queue);
  Status Resume(std::string_view queue);
  Result<storage::QueueCounts> Counts(std::string_view queue) const;
  Result<storage::JobPage> List(std::string_view queue, JobState state, std::string_view cursor,
                                std::uint32_t count) const;
  std::vector<std::string> Queues() const;
  // Whether the job events of this broker tell of every change of its jobs: false on a store
  // other nodes change too (Store::SharedWithOtherNodes).
  bool SeesEveryChange() const { return !store_->SharedWithOtherNodes(); }
  // Who serves `queue` now (see QueueServing). NotFound when unknown.
  Result<QueueServing> Serving(std::string_view queue) const;
  // The policy of a queue (defaults for a queue made at run time). NotFound when unknown.
  Result<QueuePolicy> Policy(std::string_view queue) const;
  // The routes and contracts now (a config reload replaces them as a whole).
  std::shared_ptr<const EventRouter> router() const {
    return router_.load(std::memory_order_acquire);
  }
  StoreRecords& records() { return records_; }
  // The lists and strings of the Redis keyspace, beside the jobs.
  Keyspace& keyspace() { return keyspace_; }
  // How servers make replies wait for the writes they confirm (engine/durability.h).
  Durability& durability() { return durability_; }
  // Online backups of the store (BACKUP, POST /api/backup).
  Backups& backups() { return backups_; }
  Clock& clock() { return *clock_; }

  // ---- Time ----------------------------------------------------------------------------------
  // One scheduler pass at the clock's current time: promotes due jobs, expires leases and
  // waiters. Returns the time of the next thing to do (INT64_MAX when none). The scheduler
  // thread calls this; tests with a fake clock call it by hand.
  std::int64_t Tick();

  // Job events published, delivered and dropped so far (for INFO and tests).
  JobEventStats event_stats() const { return events_.stats(); }
  // Handlers running right now (for tests and INFO).
  std::uint32_t running_handlers() const;
  // Local worker threads replaced because their handler outlived its lease (WorkerPool).
  std::uint64_t replaced_workers() const;
  std::uint32_t waiter_count() const;

 private:
  Broker(storage::Store* store, EngineConfig config, Clock* clock,
         std::shared_ptr<spdlog::logger> logger);

  Result<QueueState*> EnsureQueue(std::string_view queue);
  QueueState* FindQueueLocked(std::string_view queue) const REQUIRES(mu_);
  // Reserves a slot of `queue` (see QueueAdmission); false when none, or shutting down.
  bool ReserveLocked(QueueState* queue, std::int64_t now) REQUIRES(mu_);
  // Up to `count` jobs of one queue (as its concurrency and rate limits allow), one batch,
  // their attempts run by `worker`.
  Result<std::vector<LeasedJob>> TakeSome(QueueState* queue, std::uint32_t count,
                                          std::int64_t lease_ms, std::string_view worker);
  // Leases jobs just taken from `queue` (each until now + lease_ms) and reports them active.
  std::vector<LeasedJob> LeaseTaken(QueueState* queue, std::vector<Job> taken, std::int64_t now,
                                    std::int64_t lease_ms);
  Result<std::vector<LeasedJob>> TakeFrom(const std::vector<QueueState*>& queues,
                                          std::uint32_t count, std::int64_t lease_ms,
                                          std::string_view worker);
  // Claims the lease of an active job for the write that ends it (see LeaseTable) and frees its
  // slot. NotFound when the job has no lease (or another call is ending it).
  Result<LeaseClaim> ClaimLease(std::string_view id);
  // After that write: the lease is gone when `written` is OK; otherwise it is back, with its
  // slot, until `retry_at_ms`.
  void EndClaim(std::string_view id, const LeaseClaim& claim, const Status& written,
                std::int64_t retry_at_ms);
  // Runs `write` (a Result<Job>() callable that ends the lease of `id`) with the lease claimed.
  template <typename Write>
  Result<Job> WithLeaseClaimed(std::string_view id, Write write);
  // Completes an active job whose lease is claimed, and reports it.
  Result<Job> CompleteClaimed(std::string_view id, std::string return_value);
  Result<Job> FinishFailure(const Job& job, std::string error, FailMode mode,
                            std::int64_t retry_in_ms = -1);
  // The first of `queues`, from `start` round, that may have a job waiting (as far as the store
  // knows without asking: Store::MayHaveWaiting) and a slot reserved for it
  // (its distance from `start` in *offset); null when none.
  QueueState* ReserveFirstWithWork(const std::vector<QueueState*>& queues, std::size_t start,
                                   std::int64_t now, std::size_t* offset) EXCLUDES(mu_);
  // Completes `id` (its lease claimed as `claim`) and, when `next` is not null (a slot of it
  // reserved, given back when it has no job), takes its next job for `worker` in the same
  // write.
  Result<std::optional<Job>> CompleteClaimedAndTake(std::string_view id, const LeaseClaim& claim,
                                                    std::string return_value, QueueState* next,
                                                    std::int64_t now, std::string_view worker);
  // New waiting jobs in `queue`: serve waiters, wake local workers.
  void OnWaiting(QueueState* queue);
  struct PlannedAdds;
  Result<PlannedAdds> PlanAdds(std::string_view queue,
                               std::vector<std::pair<std::string, JobOptions>> jobs);
  std::vector<AddedJob> FinishAdds(PlannedAdds& plan,
                                   const std::vector<storage::AddResult>& results);
  // Another node made jobs of `name` waiting (due_ms 0) or delayed until due_ms.
  void OnWorkElsewhere(std::string_view name, std::int64_t due_ms);
  void ServeWaiters(QueueState* queue);
  // Makes one job waiting with `write` (a Result<Job>() callable: QRETRY, PROMOTE), reports
  // it as `type`, and hands it to whoever waits for work.
  template <typename Write>
  Result<Job> MakeWaiting(JobEventType type, Write write);

  // Job events (see "Job events" in broker.cc): an event of `job` stamped now; published at
  // once, or filled into a place reserved before the change (nothing when the slot is empty).
  JobEvent EventOf(JobEventType type, const Job& job, std::string detail = {});
  void Publish(JobEventType type, const Job& job, std::string detail = {});
  void Fill(JobEventBus::Slot& slot, JobEventType type, const Job& job, std::string detail = {});
  void FillAll(JobEventBus::Slot& slot, JobEventType type, const std::vector<Job>& jobs,
               std::string_view detail = {});

  // Tick's steps; each lowers *next to the time of its next thing to do.
  void PromoteDue(const std::vector<QueueState*>& queues, std::int64_t now, std::int64_t* next);
  void ExpireLeases(std::int64_t now);
  void TimeOutWaiters(std::int64_t now, std::int64_t* next);
  // Removes the finished jobs beyond each queue's retention (QueuePolicy::keep_*), once a
  // second at most.
  void ApplyRetention(const std::vector<QueueState*>& queues, std::int64_t now, std::int64_t* next);
  void ReleaseRateLimited(const std::vector<QueueState*>& queues, std::int64_t now,
                          std::int64_t* next);

  // The local workers' side (WorkerPool::Work): a take rotating over handler_queues_ from
  // *cursor; a run of the handler whose success is recorded with the take of the next job in
  // one write (AckAndTakeNext). `worker` is the thread's index: its attempts' "local:<index>".
  Result<std::optional<LeasedJob>> TakeForWorker(std::uint32_t worker, std::uint32_t* cursor);
  std::optional<LeasedJob> RunJob(std::uint32_t worker, LeasedJob leased, std::stop_token stop,
                                  std::uint32_t* cursor);
  Result<std::optional<LeasedJob>> AckAndTakeNext(std::uint32_t worker, std::string_view id,
                                                  std::string return_value, std::uint32_t* cursor);

  storage::Store* store_;
  EngineConfig config_;
  Clock* clock_;
  std::shared_ptr<spdlog::logger> logger_;
  std::atomic<std::shared_ptr<const EventRouter>> router_;
  StoreRecords records_;
  Keyspace keyspace_;
  Durability durability_;
  Backups backups_;
  JobEventBus events_;

  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<QueueState>, std::less<>> queues_ GUARDED_BY(mu_);
  // States replaced by ConfigureQueue: a call that found one before keeps using it.
  std::vector<std::unique_ptr<QueueState>> replaced_queues_ GUARDED_BY(mu_);
  LeaseTable leases_ GUARDED_BY(mu_);
  TakeWaiters waiters_ GUARDED_BY(mu_);
  // Bumped whenever jobs may have become waiting; a blocking take registers its waiter only
  // when it is unchanged since the take that found nothing.
  std::uint64_t work_generation_ GUARDED_BY(mu_) = 0;
  std::vector<QueueState*> handler_queues_;  // fixed at Start
  std::int64_t retention_applied_ms_ = 0;    // Tick's (one thread at a time)
  bool started_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool stopped_all_ GUARDED_BY(mu_) = true;  // what Shutdown answered
  // Last, and in this order: destroyed first, the workers (a thread left running by Shutdown
  // still records its job), then the scheduler they wake.
  Scheduler scheduler_;
  WorkerPool workers_;
  // Last of all: the store-call threads (PostStoreCall), whose tasks use everything above.
  std::unique_ptr<BackgroundRunner> store_calls_;
};

}  // namespace herald::engine
