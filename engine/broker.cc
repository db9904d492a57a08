// Broker: set-up and shutdown, managing, job events and the scheduler's pass (Tick). The
// producing side (adds, imports, events) is in broker_producing.cc, the consuming side (takes,
// waiters, ending leases, the local workers' side) in broker_consuming.cc.
#include "engine/broker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

namespace herald::engine {
namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
// Delayed jobs promoted per store call; the scheduler loops until none are due.
constexpr std::uint64_t kPromoteBatch = 4096;
// A lease whose expiry could not be written (a full disk) is tried again this much later.
constexpr std::int64_t kExpiryRetryMs = 1000;

}  // namespace

Broker::Broker(storage::Store* store, EngineConfig config, Clock* clock,
               std::shared_ptr<spdlog::logger> logger)
    : store_(store),
      config_(std::move(config)),
      clock_(clock),
      logger_(std::move(logger)),
      router_(std::make_shared<const EventRouter>(config_.events)),
      records_(store),
      keyspace_(store),
      durability_(store),
      backups_(store, clock, logger_),
      // Each event is reported once its change is durable: changes made under a SyncDeferral
      // (a RESP pipeline in `always` mode) are not yet when they are published.
      events_(config_.event_queue_capacity, logger_,
              std::chrono::milliseconds(config_.shutdown_grace_ms),
              [this] {
                if (durability_.replies_wait()) (void)durability_.AwaitAll();
              }),
      scheduler_(clock, [this] { return Tick(); }),
      workers_(WorkerPool::Work{[this](std::uint32_t worker, std::uint32_t* cursor) {
                                  return TakeForWorker(worker, cursor);
                                },
                                [this](std::uint32_t worker, LeasedJob job, std::stop_token stop,
                                       std::uint32_t* cursor) {
                                  return RunJob(worker, std::move(job), std::move(stop), cursor);
                                }},
               logger_) {
  if (store_->AddsWaitForCommit()) {
    store_calls_ = std::make_unique<BackgroundRunner>(kStoreCallsWaiting, kStoreCallThreads,
                                                      "job commands waiting for the store");
  }
}

Result<std::unique_ptr<Broker>> Broker::Create(storage::Store* store, EngineConfig config,
                                               Clock* clock,
                                               std::shared_ptr<spdlog::logger> logger) {
  if (logger == nullptr) return Status::InvalidArgument("Broker::Create needs a logger");
  for (const QueuePolicy& policy : config.queues) {
    HERALD_RETURN_IF_ERROR(ValidateQueueName(policy.name));
    if (policy.max_attempts == 0) {
      return Status::InvalidArgument("queue " + policy.name + ": attempts must be >= 1");
    }
  }
  if (config.event_queue_capacity == 0) {
    return Status::InvalidArgument("event_queue_capacity must be >= 1");
  }
  std::unique_ptr<Broker> broker(new Broker(store, std::move(config), clock, std::move(logger)));
  for (const QueuePolicy& policy : broker->config_.queues) {
    auto queue = broker->EnsureQueue(policy.name);
    if (!queue.ok()) return queue.status();
  }
  // Queues made at run time (an add to a name the config does not list) are in the store:
  // the scheduler must promote their delayed jobs and expire their leases after a restart too.
  for (const std::string& name : store->ListQueues()) {
    auto queue = broker->EnsureQueue(name);
    if (!queue.ok()) {
      broker->logger_->warn("queue {} in the store left out: {}", name, queue.status().message());
    }
  }
  return broker;
}

Broker::~Broker() { Shutdown(); }

Result<QueueState*> Broker::EnsureQueue(std::string_view name) {
  {
    MutexLock lock(&mu_);
    if (QueueState* queue = FindQueueLocked(name)) return queue;
  }
  HERALD_RETURN_IF_ERROR(ValidateQueueName(name));
  {
    MutexLock lock(&mu_);
    // Before Start every queue of the config and of the store comes in, whatever their number;
    // from then on a client's new name is one more column family (EngineConfig::max_queues).
    if (started_ && FindPolicy(config_, name) == nullptr &&
        queues_.size() >= config_.queues.size() + config_.max_queues) {
      return Status::InvalidArgument(
          "too many queues: " + std::to_string(queues_.size()) + " exist and [engine] " +
          "max_queues (" + std::to_string(config_.max_queues) + ") allows no more beyond the " +
          "configured ones; queue " + std::string(name) + " is not made");
    }
  }
  HERALD_RETURN_IF_ERROR(store_->EnsureQueue(name));
  MutexLock lock(&mu_);
  if (QueueState* queue = FindQueueLocked(name)) return queue;
  QueuePolicy policy;
  if (const QueuePolicy* configured = FindPolicy(config_, name)) {
    policy = *configured;
  } else {
    policy.name = std::string(name);
  }
  auto state = std::make_unique<QueueState>(std::move(policy));
  if (store_->IsPaused(name)) state->admission.Pause();
  QueueState* raw = state.get();
  queues_.emplace(std::string(name), std::move(state));
  return raw;
}

QueueState* Broker::FindQueueLocked(std::string_view name) const {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : it->second.get();
}

Status Broker::RegisterHandler(std::string_view queue, std::shared_ptr<Handler> handler) {
  auto state = EnsureQueue(queue);
  if (!state.ok()) return state.status();
  MutexLock lock(&mu_);
  if (started_) return Status::InvalidArgument("handlers must be registered before Start");
  (*state)->handler = std::move(handler);
  return Status::Ok();
}

Status Broker::Start() {
  {
    MutexLock lock(&mu_);
    if (started_) return Status::Ok();
    started_ = true;
    for (auto& [name, queue] : queues_) {
      if (queue->handler) handler_queues_.push_back(queue.get());
    }
  }
  if (config_.scheduler_thread) scheduler_.Start();
  // Work that other nodes of a shared store made (storage::Store::SetWorkListener).
  store_->SetWorkListener(
      [this](std::string_view queue, std::int64_t due_ms) { OnWorkElsewhere(queue, due_ms); });
  if (!handler_queues_.empty()) {
    workers_.Start(config_.workers, static_cast<std::uint32_t>(handler_queues_.size()));
  }
  logger_->info("engine started: {} workers on {} queue(s) with handlers, {} queue(s) in all",
                workers_.size(), handler_queues_.size(), Queues().size());
  return Status::Ok();
}

bool Broker::Shutdown() {
  store_->SetWorkListener(nullptr);  // returns once no call of it runs
  std::vector<std::shared_ptr<TakeWaiters::Waiter>> waiters;
  {
    MutexLock lock(&mu_);
    if (stopping_) return stopped_all_;
    stopping_ = true;  // no more reservations: takes find nothing from now on
    waiters = waiters_.TakeAll();
  }
  for (auto& waiter : waiters) waiter->callback({});
  const bool stopped_all = workers_.Stop(std::chrono::milliseconds(config_.shutdown_grace_ms));
  {
    MutexLock lock(&mu_);
    stopped_all_ = stopped_all;
  }
  scheduler_.Stop();
  // Last: the workers and the scheduler publish no more (a worker left running publishes
  // nothing after its handler: the bus is stopped); subscribers get what they published.
  events_.Stop();
  return stopped_all;
}

// ---- Managing ----------------------------------------------------------------------------

Result<Job> Broker::Show(std::string_view id) const { return store_->Get(id); }

Status Broker::Delete(std::string_view id) {
  {
    MutexLock lock(&mu_);
    if (QueueState* holder = leases_.Remove(id)) holder->admission.Release();
  }
  auto job = store_->Get(id);
  JobEventBus::Slot slot = events_.Reserve();
  HERALD_RETURN_IF_ERROR(store_->Delete(id));
  if (job.ok()) Fill(slot, JobEventType::kRemoved, *job);
  return Status::Ok();
}

template <typename Write>
Result<Job> Broker::MakeWaiting(JobEventType type, Write write) {
  JobEventBus::Slot slot = events_.Reserve();
  HERALD_ASSIGN_OR_RETURN(Job job, write());
  Fill(slot, type, job);
  HERALD_ASSIGN_OR_RETURN(QueueState * queue, EnsureQueue(job.queue));
  OnWaiting(queue);
  return job;
}

Result<Job> Broker::Retry(std::string_view id) {
  return MakeWaiting(JobEventType::kRetried, [&] { return store_->Retry(id, clock_->NowMs()); });
}

Result<std::uint64_t> Broker::RetryAll(std::string_view queue_name) {
  HERALD_ASSIGN_OR_RETURN(QueueState * queue, EnsureQueue(queue_name));
  std::vector<Job> retried;
  JobEventBus::Slot slot = events_.Reserve();
  HERALD_ASSIGN_OR_RETURN(
      std::uint64_t moved,
      store_->RetryAllFailed(queue_name, clock_->NowMs(), !slot.empty() ? &retried : nullptr));
  FillAll(slot, JobEventType::kRetried, retried);
  if (moved > 0) OnWaiting(queue);
  return moved;
}

Result<Job> Broker::Promote(std::string_view id) {
  return MakeWaiting(JobEventType::kPromoted, [&] { return store_->Promote(id, clock_->NowMs()); });
}

Result<std::uint64_t> Broker::Clean(std::string_view queue, JobState state, std::int64_t age_ms,
                                    std::uint64_t limit) {
  if (state == JobState::kActive) {
    return Status::InvalidArgument("active jobs cannot be cleaned; DELJOB them one by one");
  }
  if (age_ms < 0) return Status::InvalidArgument("age must be >= 0");
  {
    MutexLock lock(&mu_);
    if (FindQueueLocked(queue) == nullptr) {
      return Status::NotFound("no such queue '" + std::string(queue) + "'");
    }
  }
  std::vector<Job> removed;
  JobEventBus::Slot slot = events_.Reserve();
  HERALD_ASSIGN_OR_RETURN(std::uint64_t n,
                          store_->Clean(queue, state, clock_->NowMs() - age_ms, limit,
                                        !slot.empty() ? &removed : nullptr));
  FillAll(slot, JobEventType::kRemoved, removed, "cleaned");
  return n;
}

Status Broker::Pause(std::string_view queue_name) {
  HERALD_ASSIGN_OR_RETURN(QueueState * queue, EnsureQueue(queue_name));
  HERALD_RETURN_IF_ERROR(store_->SetPaused(queue_name, true));
  MutexLock lock(&mu_);
  queue->admission.Pause();
  return Status::Ok();
}

Status Broker::Resume(std::string_view queue_name) {
  HERALD_ASSIGN_OR_RETURN(QueueState * queue, EnsureQueue(queue_name));
  HERALD_RETURN_IF_ERROR(store_->SetPaused(queue_name, false));
  {
    MutexLock lock(&mu_);
    queue->admission.Resume();
  }
  OnWaiting(queue);
  return Status::Ok();
}

Result<storage::QueueCounts> Broker::Counts(std::string_view queue) const {
  return store_->Counts(queue);
}

Result<storage::JobPage> Broker::List(std::string_view queue, JobState state,
                                      std::string_view cursor, std::uint32_t count) const {
  return store_->List(queue, state, cursor, count);
}

std::vector<std::string> Broker::Queues() const {
  MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, queue] : queues_) names.push_back(name);
  return names;
}

Result<QueueServing> Broker::Serving(std::string_view queue) const {
  const std::int64_t now = clock_->NowMs();
  MutexLock lock(&mu_);
  QueueState* state = FindQueueLocked(queue);
  if (state == nullptr) return Status::NotFound("no such queue '" + std::string(queue) + "'");
  QueueServing serving;
  serving.local_workers = state->handler != nullptr && started_ && workers_.size() > 0;
  serving.remote_waiting = waiters_.HasWaiters(state);
  serving.active = state->admission.active();
  serving.concurrency = state->policy()->concurrency;
  std::int64_t room = state->admission.RoomAtMs();
  if (room != INT64_MAX && room > now) serving.rate_limited_until_ms = room;
  serving.paused = state->admission.paused();
  return serving;
}

Result<QueuePolicy> Broker::Policy(std::string_view queue) const {
  MutexLock lock(&mu_);
  QueueState* state = FindQueueLocked(queue);
  if (state == nullptr) return Status::NotFound("no such queue '" + std::string(queue) + "'");
  return *state->policy();
}

std::uint32_t Broker::running_handlers() const { return workers_.running(); }

std::uint64_t Broker::replaced_workers() const { return workers_.replaced(); }

std::uint32_t Broker::waiter_count() const {
  MutexLock lock(&mu_);
  return static_cast<std::uint32_t>(waiters_.size());
}

// ---- Job events --------------------------------------------------------------------------
//
// Each job's events are delivered in the order of its changes in the store, whichever threads
// made them. A change that another thread may act on next reserves its event's place on the
// bus before its write and fills it after: the next change can be made only after that write,
// and its event is queued later still, so behind the place. A take cannot reserve ahead, as it
// does not know which job it will get (a place taken before the job was added would put
// "active" before "added"); it publishes "active" after its write, but before it registers the
// lease that every next change of an active job needs (ack, fail, lease expiry). The scheduler
// promotes a delayed job without being told by the thread that added or failed it: that thread
// reads the clock after reserving and the scheduler before, so a promotion whose place comes
// first cannot see the job due yet (with a clock that does not go back). Left out: a DELJOB,
// QRETRY, PROMOTE or QCLEAN of a job that another thread changes at the same moment (within
// the time of one write) may be reported before that change although it came after.

JobEvent Broker::EventOf(JobEventType type, const Job& job, std::string detail) {
  return JobEvent{.type = type,
                  .queue = job.queue,
                  .id = job.id,
                  .attempts_made = job.attempts_made,
                  .detail = std::move(detail),
                  .at_ms = clock_->NowMs(),
                  .created_ms = job.created_ms,
                  .processed_ms = job.processed_ms,
                  .due_ms = job.due_ms};
}

void Broker::Publish(JobEventType type, const Job& job, std::string detail) {
  if (!events_.empty()) events_.Publish(EventOf(type, job, std::move(detail)));
}

void Broker::Fill(JobEventBus::Slot& slot, JobEventType type, const Job& job, std::string detail) {
  if (!slot.empty()) slot.Fill(EventOf(type, job, std::move(detail)));
}

void Broker::FillAll(JobEventBus::Slot& slot, JobEventType type, const std::vector<Job>& jobs,
                     std::string_view detail) {
  if (slot.empty()) return;
  std::vector<JobEvent> events;
  events.reserve(jobs.size());
  for (const Job& job : jobs) events.push_back(EventOf(type, job, std::string(detail)));
  slot.Fill(std::move(events));
}

// ---- Time --------------------------------------------------------------------------------

std::int64_t Broker::Tick() {
  const std::int64_t now = clock_->NowMs();
  std::vector<QueueState*> queues;
  {
    MutexLock lock(&mu_);
    for (auto& [name, queue] : queues_) queues.push_back(queue.get());
  }
  std::int64_t next = kNever;
  PromoteDue(queues, now, &next);
  ExpireLeases(now);
  TimeOutWaiters(now, &next);
  ReleaseRateLimited(queues, now, &next);
  ApplyRetention(queues, now, &next);
  return next;
}

// Delayed jobs that are due become waiting.
void Broker::PromoteDue(const std::vector<QueueState*>& queues, std::int64_t now,
                        std::int64_t* next) {
  for (QueueState* queue : queues) {
    std::optional<std::int64_t> due = store_->NextDue(queue->name);
    std::uint64_t promoted = 0;
    while (due && *due <= now) {
      std::vector<Job> jobs;
      JobEventBus::Slot slot = events_.Reserve();
      auto moved =
          store_->PromoteDue(queue->name, now, kPromoteBatch, !slot.empty() ? &jobs : nullptr);
      if (!moved.ok()) {
        logger_->error("promoting due jobs of {} failed: {}", queue->name,
                       moved.status().message());
        break;
      }
      FillAll(slot, JobEventType::kPromoted, jobs);
      promoted += *moved;
      if (*moved < kPromoteBatch) break;
      due = store_->NextDue(queue->name);
    }
    if (promoted > 0) OnWaiting(queue);
    due = store_->NextDue(queue->name);
    if (due) *next = std::min(*next, *due);
  }
}

// Expired leases put their jobs back (the attempt stays counted) or fail them: a job on its last
// attempt goes back once (storage::RetriesAfterStall). A lease whose write fails stays, and
// expires again a little later.
void Broker::ExpireLeases(std::int64_t now) {
  std::vector<std::pair<std::string, LeaseClaim>> expired;
  {
    MutexLock lock(&mu_);
    expired = leases_.TakeExpired(now);
    for (auto& [id, claim] : expired) claim.queue->admission.Release();
  }
  for (const auto& [id, claim] : expired) {
    auto job = store_->Get(id);
    if (!job.ok() && !job.status().IsNotFound()) {
      // The store can't answer now (its database away): the lease stays, and expires again.
      logger_->error("job {}: expiry not recorded: {}", id, job.status().message());
      EndClaim(id, claim, job.status(), now + kExpiryRetryMs);
      continue;
    }
    if (!job.ok() || job->state != JobState::kActive) {
      EndClaim(id, claim, Status::Ok(), now);  // nothing left to put back
      continue;
    }
    // A local handler still running past its lease is frozen: its worker gets a new thread.
    workers_.Replace(id);
    const std::string reason = "lease expired: no ACKJOB or WORKING in time";
    logger_->warn("job {} of {}: {} (attempt {} of {})", id, job->queue, reason, job->attempts_made,
                  job->max_attempts);
    JobEventBus::Slot slot = events_.Reserve();
    Status written;
    const bool retry = storage::RetriesAfterStall(*job);
    if (!retry) {
      // The attempt stalled (its worker went silent); the job fails as it has no attempts left
      // and stalled before.
      auto failed = store_->FailFinal(id, reason, now, storage::AttemptOutcome::kStalled);
      written = failed.status();
      if (failed.ok()) Fill(slot, JobEventType::kFailed, *failed, reason);
    } else {
      auto requeued = store_->Requeue(id, reason, now);
      written = requeued.status();
      if (requeued.ok()) Fill(slot, JobEventType::kStalled, *requeued, reason);
    }
    if (!written.ok()) {
      logger_->error("job {} of {}: expiry not recorded: {}", id, job->queue, written.message());
    }
    EndClaim(id, claim, written, now + kExpiryRetryMs);
    if (written.ok() && retry) OnWaiting(claim.queue);
  }
}

// Waiters whose timeout passed get an empty answer.
void Broker::TimeOutWaiters(std::int64_t now, std::int64_t* next) {
  std::vector<std::shared_ptr<TakeWaiters::Waiter>> timed_out;
  {
    MutexLock lock(&mu_);
    timed_out = waiters_.TakeExpired(now);
    *next = std::min({*next, leases_.NextDeadlineMs(), waiters_.NextDeadlineMs()});
  }
  for (auto& waiter : timed_out) waiter->callback({});
}

// Rate-limited queues whose window has room again.
void Broker::ReleaseRateLimited(const std::vector<QueueState*>& queues, std::int64_t now,
                                std::int64_t* next) {
  for (QueueState* queue : queues) {
    if (!queue->admission.rate_limited()) continue;
    std::int64_t release = kNever;
    {
      MutexLock lock(&mu_);
      release = queue->admission.RoomAtMs();
    }
    if (release <= now) {
      OnWaiting(queue);
    } else {
      *next = std::min(*next, release);
    }
  }
}

}  // namespace herald::engine
