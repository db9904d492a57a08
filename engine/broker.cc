#include "engine/broker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "engine/handler_call.h"

namespace herald::engine {
namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
// A local handler's lease outlives its timeout by this much, so that the worker, not the
// scheduler, records a slow handler's failure.
constexpr std::int64_t kLocalLeaseGraceMs = 5000;
// Delayed jobs promoted per store call; the scheduler loops until none are due.
constexpr std::uint64_t kPromoteBatch = 4096;
// The scheduler re-reads the clock at least this often, in case the wall clock jumps.
constexpr std::int64_t kMaxSchedulerSleepMs = 5000;
// Priorities as BullMQ: 0 (default, first) .. 2^21.
constexpr std::uint32_t kMaxPriority = 2097152;
constexpr std::int64_t kMaxDelayMs = 10LL * 365 * 24 * 3600 * 1000;

}  // namespace

struct Broker::QueueState {
  QueuePolicy policy;
  std::shared_ptr<Handler> handler;
  bool paused = false;
  std::uint32_t active = 0;         // jobs under a lease, plus takes in flight
  std::deque<std::int64_t> starts;  // rate limit window: start times of recent takes
  std::deque<WaiterId> waiters;     // FIFO; ids no longer in waiters_ are skipped
};

struct Broker::Waiter {
  std::vector<QueueState*> queues;
  std::uint32_t count = 1;
  std::int64_t lease_ms = 0;
  std::int64_t deadline_ms = 0;  // 0 = none
  TakeCallback callback;
};

Broker::Broker(storage::Store* store, EngineConfig config, Clock* clock,
               std::shared_ptr<spdlog::logger> logger)
    : store_(store),
      config_(std::move(config)),
      clock_(clock),
      logger_(logger ? std::move(logger) : spdlog::default_logger()),
      router_(config_.events),
      records_(store),
      events_(config_.event_queue_capacity, logger_,
              std::chrono::milliseconds(config_.shutdown_grace_ms)) {}

Result<std::unique_ptr<Broker>> Broker::Create(storage::Store* store, EngineConfig config,
                                               Clock* clock,
                                               std::shared_ptr<spdlog::logger> logger) {
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

Result<Broker::QueueState*> Broker::EnsureQueue(std::string_view name) {
  {
    MutexLock lock(&mu_);
    if (QueueState* queue = FindQueueLocked(name)) return queue;
  }
  HERALD_RETURN_IF_ERROR(ValidateQueueName(name));
  HERALD_RETURN_IF_ERROR(store_->EnsureQueue(name));
  MutexLock lock(&mu_);
  if (QueueState* queue = FindQueueLocked(name)) return queue;
  auto state = std::make_unique<QueueState>();
  if (const QueuePolicy* policy = FindPolicy(config_, name)) {
    state->policy = *policy;
  } else {
    state->policy.name = std::string(name);
  }
  state->paused = store_->IsPaused(name);
  QueueState* raw = state.get();
  queues_.emplace(std::string(name), std::move(state));
  return raw;
}

Broker::QueueState* Broker::FindQueueLocked(std::string_view name) const {
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
  if (config_.scheduler_thread) {
    scheduler_ = std::jthread([this](std::stop_token stop) { SchedulerLoop(stop); });
  }
  if (!handler_queues_.empty()) {
    {
      MutexLock lock(&mu_);
      live_workers_ = config_.workers;
    }
    for (std::uint32_t i = 0; i < config_.workers; ++i) {
      workers_.emplace_back([this, i](std::stop_token stop) {
        WorkerLoop(stop, i);
        MutexLock lock(&mu_);
        --live_workers_;
        idle_cv_.notify_all();
      });
    }
  }
  logger_->info("engine started: {} workers on {} queue(s) with handlers, {} queue(s) in all",
                workers_.size(), handler_queues_.size(), Queues().size());
  return Status::Ok();
}

bool Broker::Shutdown() {
  std::vector<std::shared_ptr<Waiter>> waiters;
  {
    MutexLock lock(&mu_);
    if (stopping_) return stopped_all_;
    stopping_ = true;
    for (auto& [id, waiter] : waiters_) waiters.push_back(waiter);
    waiters_.clear();
    waiter_deadlines_.clear();
  }
  for (auto& waiter : waiters) waiter->callback({});
  work_cv_.notify_all();
  {
    MutexLock lock(&mu_);
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.shutdown_grace_ms);
    bool idle =
        idle_cv_.wait_until(mu_, deadline, [this]() REQUIRES(mu_) { return running_ == 0; });
    if (!idle) {
      logger_->warn("{} handler(s) still running after {} ms; asking them to stop", running_,
                    config_.shutdown_grace_ms);
    }
  }
  for (auto& worker : workers_) worker.request_stop();
  work_cv_.notify_all();
  {
    MutexLock lock(&mu_);
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.shutdown_grace_ms);
    stopped_all_ =
        idle_cv_.wait_until(mu_, deadline, [this]() REQUIRES(mu_) { return live_workers_ == 0; });
    if (!stopped_all_) {
      logger_->error(
          "{} handler(s) ignored the stop request for {} ms; left running, their jobs stay "
          "active and are waiting again at the next start",
          running_, config_.shutdown_grace_ms);
    }
  }
  if (stopped_all_) workers_.clear();  // joins threads that have returned
  if (scheduler_.joinable()) {
    scheduler_.request_stop();
    sched_cv_.notify_all();
    scheduler_ = std::jthread();
  }
  // Last: the workers and the scheduler publish no more (a worker left running publishes
  // nothing after its handler: the bus is stopped); subscribers get what they published.
  events_.Stop();
  return stopped_all_;
}

// ---- Producing ---------------------------------------------------------------------------

namespace {

Status CheckOptions(const JobOptions& options) {
  if (options.delay_ms < 0 || options.delay_ms > kMaxDelayMs) {
    return Status::InvalidArgument("delay must be between 0 and " + std::to_string(kMaxDelayMs) +
                                   " ms");
  }
  if (options.attempts && (*options.attempts == 0 || *options.attempts > 1000000)) {
    return Status::InvalidArgument("attempts must be between 1 and 1000000");
  }
  if (options.backoff_ms && (*options.backoff_ms < 0 || *options.backoff_ms > kMaxLeaseMs)) {
    return Status::InvalidArgument("backoff delay must be between 0 and 86400000 ms");
  }
  if (options.priority > kMaxPriority) {
    return Status::InvalidArgument("priority must be between 0 and " +
                                   std::to_string(kMaxPriority));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<AddedJob>> Broker::AddMany(
    std::string_view queue_name, std::vector<std::pair<std::string, JobOptions>> jobs) {
  HERALD_ASSIGN_OR_RETURN(QueueState * queue, EnsureQueue(queue_name));
  for (const auto& [payload, options] : jobs) HERALD_RETURN_IF_ERROR(CheckOptions(options));
  // "added" has its place before the jobs can be taken, and before `now` is read (see "Job
  // events" below).
  JobEventBus::Slot slot = events_.Reserve();
  const std::int64_t now = clock_->NowMs();
  std::vector<storage::NewJob> batch;
  batch.reserve(jobs.size());
  for (auto& [payload, options] : jobs) {
    storage::NewJob job;
    job.id = options.id;
    job.payload = std::move(payload);
    job.priority = options.priority;
    job.max_attempts = options.attempts.value_or(queue->policy.max_attempts);
    job.backoff_type = options.backoff_type.value_or(queue->policy.backoff_type);
    job.backoff_ms = options.backoff_ms.value_or(queue->policy.backoff_ms);
    job.due_ms = options.delay_ms > 0 ? now + options.delay_ms : 0;
    batch.push_back(std::move(job));
  }
  HERALD_ASSIGN_OR_RETURN(std::vector<storage::AddResult> results,
                          store_->AddMany(queue_name, std::move(batch), now));
  std::vector<AddedJob> added;
  added.reserve(results.size());
  std::vector<JobEvent> events;
  bool any_waiting = false;
  std::int64_t earliest_due = kNever;
  for (size_t i = 0; i < results.size(); ++i) {
    const storage::AddResult& result = results[i];
    added.push_back({result.id, std::string(queue_name), result.created, result.state});
    if (!result.created) continue;
    if (result.state == JobState::kWaiting) any_waiting = true;
    if (result.state == JobState::kDelayed) {
      earliest_due = std::min(earliest_due, now + jobs[i].second.delay_ms);
    }
    if (!slot.empty()) {
      events.push_back(
          JobEvent{JobEventType::kAdded, std::string(queue_name), result.id, 0, {}, now});
    }
  }
  slot.Fill(std::move(events));
  if (earliest_due != kNever) {
    MutexLock lock(&mu_);
    WakeSchedulerLocked(earliest_due);
  }
  if (any_waiting) OnWaiting(queue);
  return added;
}

Result<AddedJob> Broker::Add(std::string_view queue, std::string payload,
                             const JobOptions& options) {
  std::vector<std::pair<std::string, JobOptions>> one;
  one.emplace_back(std::move(payload), options);
  HERALD_ASSIGN_OR_RETURN(std::vector<AddedJob> added, AddMany(queue, std::move(one)));
  return std::move(added.front());
}

Result<AddedJob> Broker::Emit(std::string_view event_json) {
  HERALD_ASSIGN_OR_RETURN(RoutedEvent event, router_.Route(event_json));
  JobOptions options;
  options.id = event.event_id;
  return Add(event.queue, std::string(event_json), options);
}

// ---- Consuming ---------------------------------------------------------------------------

bool Broker::ReserveLocked(QueueState* queue, std::int64_t now) {
  if (queue->paused || stopping_) return false;
  const QueuePolicy& policy = queue->policy;
  if (policy.concurrency > 0 && queue->active >= policy.concurrency) return false;
  if (policy.rate_max > 0) {
    while (!queue->starts.empty() && queue->starts.front() + policy.rate_duration_ms <= now) {
      queue->starts.pop_front();
    }
    if (queue->starts.size() >= policy.rate_max) {
      WakeSchedulerLocked(queue->starts.front() + policy.rate_duration_ms);
      return false;
    }
    queue->starts.push_back(now);
  }
  ++queue->active;
  return true;
}

void Broker::UnreserveLocked(QueueState* queue, std::int64_t now) {
  if (queue->active > 0) --queue->active;
  if (queue->policy.rate_max > 0 && !queue->starts.empty()) {
    // Give back the start this reservation took (the newest at or before `now`).
    auto it = std::find(queue->starts.rbegin(), queue->starts.rend(), now);
    if (it != queue->starts.rend()) queue->starts.erase(std::next(it).base());
  }
}

Result<std::optional<LeasedJob>> Broker::TakeOne(QueueState* queue, std::int64_t lease_ms) {
  HERALD_ASSIGN_OR_RETURN(std::vector<LeasedJob> jobs, TakeSome(queue, 1, lease_ms));
  if (jobs.empty()) return std::optional<LeasedJob>();
  return std::optional<LeasedJob>(std::move(jobs.front()));
}

Result<std::vector<LeasedJob>> Broker::TakeSome(QueueState* queue, std::uint32_t count,
                                                std::int64_t lease_ms) {
  const std::int64_t now = clock_->NowMs();
  std::uint32_t reserved = 0;
  {
    MutexLock lock(&mu_);
    while (reserved < count && ReserveLocked(queue, now)) ++reserved;
  }
  if (reserved == 0) return std::vector<LeasedJob>();
  // One batch for all of them (GETJOB COUNT n).
  auto taken = store_->TakeMany(queue->policy.name, reserved, now);
  const std::size_t got = taken.ok() ? taken->size() : 0;
  if (got < reserved) {
    MutexLock lock(&mu_);
    for (std::size_t i = got; i < reserved; ++i) UnreserveLocked(queue, now);
  }
  if (!taken.ok()) return taken.status();
  return LeaseTaken(queue, std::move(*taken), now, lease_ms);
}

std::vector<LeasedJob> Broker::LeaseTaken(QueueState* queue, std::vector<Job> taken,
                                          std::int64_t now, std::int64_t lease_ms) {
  // "active" goes first: the lease is what any next change of the job needs (see "Job events").
  for (const Job& job : taken) Publish(JobEventType::kActive, job);
  std::vector<LeasedJob> leased;
  leased.reserve(taken.size());
  {
    MutexLock lock(&mu_);
    for (Job& job : taken) {
      leased.push_back(LeasedJob{std::move(job), now + lease_ms});
      const LeasedJob& l = leased.back();
      leases_[l.job.id] = Lease{queue->policy.name, l.lease_until_ms, lease_ms};
      lease_deadlines_.emplace(l.lease_until_ms, l.job.id);
    }
    if (!leased.empty()) WakeSchedulerLocked(now + lease_ms);
  }
  return leased;
}

Result<std::vector<LeasedJob>> Broker::TakeFrom(const std::vector<QueueState*>& queues,
                                                std::uint32_t count, std::int64_t lease_ms) {
  std::vector<LeasedJob> jobs;
  for (QueueState* queue : queues) {
    const std::int64_t lease = lease_ms > 0 ? lease_ms : queue->policy.lease_ms;
    while (jobs.size() < count) {
      HERALD_ASSIGN_OR_RETURN(
          std::vector<LeasedJob> some,
          TakeSome(queue, count - static_cast<std::uint32_t>(jobs.size()), lease));
      if (some.empty()) break;
      for (LeasedJob& job : some) jobs.push_back(std::move(job));
    }
    if (jobs.size() >= count) break;
  }
  return jobs;
}

namespace {

Status CheckTakeRequest(const TakeRequest& request) {
  if (request.queues.empty()) return Status::InvalidArgument("no queue given");
  if (request.count == 0) return Status::InvalidArgument("count must be >= 1");
  if (request.lease_ms != 0) HERALD_RETURN_IF_ERROR(ValidateLeaseMs(request.lease_ms));
  return Status::Ok();
}

}  // namespace

Result<std::vector<LeasedJob>> Broker::Take(const TakeRequest& request) {
  HERALD_RETURN_IF_ERROR(CheckTakeRequest(request));
  std::vector<QueueState*> queues;
  for (const std::string& name : request.queues) {
    HERALD_ASSIGN_OR_RETURN(QueueState * queue, EnsureQueue(name));
    queues.push_back(queue);
  }
  return TakeFrom(queues, request.count, request.lease_ms);
}

Result<Broker::WaiterId> Broker::TakeAsync(const TakeRequest& request, std::int64_t timeout_ms,
                                           TakeCallback callback) {
  HERALD_RETURN_IF_ERROR(CheckTakeRequest(request));
  if (timeout_ms < 0) return Status::InvalidArgument("timeout must be >= 0");
  auto waiter = std::make_shared<Waiter>();
  for (const std::string& name : request.queues) {
    HERALD_ASSIGN_OR_RETURN(QueueState * queue, EnsureQueue(name));
    waiter->queues.push_back(queue);
  }
  waiter->count = request.count;
  waiter->lease_ms = request.lease_ms;
  waiter->callback = std::move(callback);
  while (true) {
    std::uint64_t generation;
    {
      MutexLock lock(&mu_);
      if (stopping_) return Status::ShuttingDown("server is shutting down");
      generation = work_generation_;
    }
    HERALD_ASSIGN_OR_RETURN(std::vector<LeasedJob> jobs,
                            TakeFrom(waiter->queues, waiter->count, waiter->lease_ms));
    if (!jobs.empty()) {
      waiter->callback(std::move(jobs));
      return WaiterId{0};
    }
    MutexLock lock(&mu_);
    // Jobs that arrived between the take and now would not wake this waiter: try again.
    if (generation != work_generation_) continue;
    WaiterId id = next_waiter_id_++;
    if (timeout_ms > 0) {
      waiter->deadline_ms = clock_->NowMs() + timeout_ms;
      waiter_deadlines_.emplace(waiter->deadline_ms, id);
      WakeSchedulerLocked(waiter->deadline_ms);
    }
    waiters_.emplace(id, waiter);
    for (QueueState* queue : waiter->queues) queue->waiters.push_back(id);
    return id;
  }
}

void Broker::CancelWaiter(WaiterId id) {
  MutexLock lock(&mu_);
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  if (it->second->deadline_ms != 0) waiter_deadlines_.erase({it->second->deadline_ms, id});
  waiters_.erase(it);  // its ids in the queues' deques are skipped later
}

void Broker::ServeWaiters(QueueState* queue) {
  while (true) {
    std::shared_ptr<Waiter> waiter;
    WaiterId id = 0;
    {
      MutexLock lock(&mu_);
      while (!queue->waiters.empty() && !waiter) {
        id = queue->waiters.front();
        queue->waiters.pop_front();
        auto it = waiters_.find(id);
        if (it == waiters_.end()) continue;
        waiter = it->second;
        if (waiter->deadline_ms != 0) waiter_deadlines_.erase({waiter->deadline_ms, id});
        waiters_.erase(it);
      }
    }
    if (!waiter) return;
    auto jobs = TakeFrom(waiter->queues, waiter->count, waiter->lease_ms);
    if (!jobs.ok() || jobs->empty()) {
      if (!jobs.ok())
        logger_->error("take for a waiting client failed: {}", jobs.status().message());
      // Nothing for it after all (taken by someone else, or paused/limited): back to the front.
      MutexLock lock(&mu_);
      if (stopping_) return;
      waiters_.emplace(id, waiter);
      if (waiter->deadline_ms != 0) waiter_deadlines_.emplace(waiter->deadline_ms, id);
      for (QueueState* each : waiter->queues) each->waiters.push_front(id);
      return;
    }
    waiter->callback(std::move(*jobs));
  }
}

void Broker::OnWaiting(QueueState* queue) {
  bool has_waiters;
  {
    MutexLock lock(&mu_);
    ++work_generation_;
    has_waiters = !queue->waiters.empty();
  }
  if (queue->handler) work_cv_.notify_all();
  if (has_waiters) ServeWaiters(queue);
}

Result<Broker::QueueState*> Broker::ReleaseLease(std::string_view id) {
  QueueState* queue = nullptr;
  {
    MutexLock lock(&mu_);
    auto it = leases_.find(id);
    if (it == leases_.end()) {
      return Status::NotFound("job " + std::string(id) +
                              " is not active (unknown id, already acknowledged, or its lease "
                              "expired)");
    }
    lease_deadlines_.erase({it->second.until_ms, it->first});
    queue = FindQueueLocked(it->second.queue);
    leases_.erase(it);
    if (queue != nullptr && queue->active > 0) --queue->active;
  }
  if (queue == nullptr) return Status::Internal("lease names an unknown queue");
  // A freed slot matters only to a queue with a concurrency limit.
  if (queue->policy.concurrency > 0) OnWaiting(queue);
  return queue;
}

Result<Job> Broker::Ack(std::string_view id, std::string return_value) {
  HERALD_RETURN_IF_ERROR(ReleaseLease(id).status());
  return CompleteReleased(id, std::move(return_value));
}

Result<Job> Broker::CompleteReleased(std::string_view id, std::string return_value) {
  JobEventBus::Slot slot = events_.Reserve();
  HERALD_ASSIGN_OR_RETURN(Job job, store_->Complete(id, std::move(return_value), clock_->NowMs()));
  Fill(slot, JobEventType::kCompleted, job, job.return_value);
  return job;
}

std::vector<Result<Job>> Broker::AckMany(std::vector<storage::Completion> completions) {
  std::vector<Result<Job>> results;
  results.reserve(completions.size());
  std::vector<storage::Completion> leased;
  std::vector<std::size_t> where;  // index in results of each leased completion
  for (std::size_t i = 0; i < completions.size(); ++i) {
    Status released = ReleaseLease(completions[i].id).status();
    if (!released.ok()) {
      results.emplace_back(std::move(released));
      continue;
    }
    results.emplace_back(Status::Internal("not completed"));
    where.push_back(i);
    leased.push_back(std::move(completions[i]));
  }
  if (leased.empty()) return results;
  // One batch for all of them (ACKJOB id id ...).
  JobEventBus::Slot slot = events_.Reserve();
  std::vector<Result<Job>> done = store_->CompleteMany(std::move(leased), clock_->NowMs());
  std::vector<JobEvent> events;
  for (std::size_t k = 0; k < done.size(); ++k) {
    if (done[k].ok() && !slot.empty()) {
      events.push_back(EventOf(JobEventType::kCompleted, *done[k], done[k]->return_value));
    }
    results[where[k]] = std::move(done[k]);
  }
  slot.Fill(std::move(events));
  return results;
}

Result<Job> Broker::Fail(std::string_view id, std::string error, bool permanent) {
  HERALD_RETURN_IF_ERROR(ReleaseLease(id).status());
  HERALD_ASSIGN_OR_RETURN(Job job, store_->Get(id));
  return FinishFailure(job, std::move(error), permanent);
}

Result<Job> Broker::FinishFailure(const Job& job, std::string error, bool permanent) {
  // Before `now` is read: the scheduler may promote the job when the backoff is over.
  JobEventBus::Slot slot = events_.Reserve();
  const std::int64_t now = clock_->NowMs();
  if (permanent || job.attempts_made >= job.max_attempts) {
    HERALD_ASSIGN_OR_RETURN(Job failed, store_->FailFinal(job.id, std::move(error), now));
    Fill(slot, JobEventType::kFailed, failed, failed.last_error);
    return failed;
  }
  const std::int64_t due =
      now + BackoffDelayMs(job.backoff_type, job.backoff_ms, job.attempts_made);
  HERALD_ASSIGN_OR_RETURN(Job delayed, store_->FailRetry(job.id, std::move(error), due, now));
  {
    MutexLock lock(&mu_);
    WakeSchedulerLocked(due);
  }
  Fill(slot, JobEventType::kRetrying, delayed, delayed.last_error);
  return delayed;
}

Result<std::int64_t> Broker::ExtendLease(std::string_view id, std::int64_t lease_ms) {
  if (lease_ms != 0) HERALD_RETURN_IF_ERROR(ValidateLeaseMs(lease_ms));
  MutexLock lock(&mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) {
    return Status::NotFound("job " + std::string(id) + " is not active");
  }
  Lease& lease = it->second;
  const std::int64_t length = lease_ms != 0 ? lease_ms : lease.length_ms;
  lease_deadlines_.erase({lease.until_ms, it->first});
  lease.until_ms = clock_->NowMs() + length;
  lease.length_ms = length;
  lease_deadlines_.emplace(lease.until_ms, it->first);
  WakeSchedulerLocked(lease.until_ms);
  return length;
}

// ---- Managing ----------------------------------------------------------------------------

Result<Job> Broker::Show(std::string_view id) const { return store_->Get(id); }

Status Broker::Delete(std::string_view id) {
  {
    MutexLock lock(&mu_);
    auto it = leases_.find(id);
    if (it != leases_.end()) {
      lease_deadlines_.erase({it->second.until_ms, it->first});
      if (QueueState* queue = FindQueueLocked(it->second.queue); queue && queue->active > 0) {
        --queue->active;
      }
      leases_.erase(it);
    }
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
  queue->paused = true;
  return Status::Ok();
}

Status Broker::Resume(std::string_view queue_name) {
  HERALD_ASSIGN_OR_RETURN(QueueState * queue, EnsureQueue(queue_name));
  HERALD_RETURN_IF_ERROR(store_->SetPaused(queue_name, false));
  {
    MutexLock lock(&mu_);
    queue->paused = false;
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

Result<QueuePolicy> Broker::Policy(std::string_view queue) const {
  MutexLock lock(&mu_);
  QueueState* state = FindQueueLocked(queue);
  if (state == nullptr) return Status::NotFound("no such queue '" + std::string(queue) + "'");
  return state->policy;
}

std::uint32_t Broker::running_handlers() const {
  MutexLock lock(&mu_);
  return running_;
}

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
  return JobEvent{type, job.queue, job.id, job.attempts_made, std::move(detail), clock_->NowMs()};
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

void Broker::WakeSchedulerLocked(std::int64_t at_ms) {
  if (at_ms < sched_wake_ms_) {
    sched_wake_ms_ = at_ms;
    sched_kick_ = true;
    sched_cv_.notify_all();
  }
}

std::int64_t Broker::Tick() {
  const std::int64_t now = clock_->NowMs();
  std::vector<QueueState*> queues;
  {
    MutexLock lock(&mu_);
    for (auto& [name, queue] : queues_) queues.push_back(queue.get());
  }
  std::int64_t next = kNever;

  // Delayed jobs that are due become waiting.
  for (QueueState* queue : queues) {
    std::optional<std::int64_t> due = store_->NextDue(queue->policy.name);
    std::uint64_t promoted = 0;
    while (due && *due <= now) {
      std::vector<Job> jobs;
      JobEventBus::Slot slot = events_.Reserve();
      auto moved = store_->PromoteDue(queue->policy.name, now, kPromoteBatch,
                                      !slot.empty() ? &jobs : nullptr);
      if (!moved.ok()) {
        logger_->error("promoting due jobs of {} failed: {}", queue->policy.name,
                       moved.status().message());
        break;
      }
      FillAll(slot, JobEventType::kPromoted, jobs);
      promoted += *moved;
      if (*moved < kPromoteBatch) break;
      due = store_->NextDue(queue->policy.name);
    }
    if (promoted > 0) OnWaiting(queue);
    due = store_->NextDue(queue->policy.name);
    if (due) next = std::min(next, *due);
  }

  // Expired leases put their jobs back (the attempt stays counted) or fail them.
  std::vector<std::string> expired;
  {
    MutexLock lock(&mu_);
    while (!lease_deadlines_.empty() && lease_deadlines_.begin()->first <= now) {
      std::string id = lease_deadlines_.begin()->second;
      lease_deadlines_.erase(lease_deadlines_.begin());
      auto it = leases_.find(id);
      if (it != leases_.end()) {
        if (QueueState* queue = FindQueueLocked(it->second.queue); queue && queue->active > 0) {
          --queue->active;
        }
        leases_.erase(it);
      }
      expired.push_back(std::move(id));
    }
  }
  for (const std::string& id : expired) {
    auto job = store_->Get(id);
    if (!job.ok() || job->state != JobState::kActive) continue;
    const std::string reason = "lease expired: no ACKJOB or WORKING in time";
    logger_->warn("job {} of {}: {} (attempt {} of {})", id, job->queue, reason, job->attempts_made,
                  job->max_attempts);
    JobEventBus::Slot slot = events_.Reserve();
    if (job->attempts_made >= job->max_attempts) {
      auto failed = store_->FailFinal(id, reason, now);
      if (failed.ok()) Fill(slot, JobEventType::kFailed, *failed, reason);
    } else {
      auto requeued = store_->Requeue(id, reason, now);
      if (requeued.ok()) {
        Fill(slot, JobEventType::kStalled, *requeued, reason);
        auto queue = EnsureQueue(requeued->queue);
        if (queue.ok()) OnWaiting(*queue);
      }
    }
  }

  // Waiters whose timeout passed get an empty answer.
  std::vector<std::shared_ptr<Waiter>> timed_out;
  {
    MutexLock lock(&mu_);
    while (!waiter_deadlines_.empty() && waiter_deadlines_.begin()->first <= now) {
      WaiterId id = waiter_deadlines_.begin()->second;
      waiter_deadlines_.erase(waiter_deadlines_.begin());
      auto it = waiters_.find(id);
      if (it == waiters_.end()) continue;
      timed_out.push_back(it->second);
      waiters_.erase(it);
    }
    if (!lease_deadlines_.empty()) next = std::min(next, lease_deadlines_.begin()->first);
    if (!waiter_deadlines_.empty()) next = std::min(next, waiter_deadlines_.begin()->first);
  }
  for (auto& waiter : timed_out) waiter->callback({});

  // Rate-limited queues whose window has room again.
  for (QueueState* queue : queues) {
    if (queue->policy.rate_max == 0) continue;
    std::int64_t release = kNever;
    {
      MutexLock lock(&mu_);
      if (queue->starts.size() >= queue->policy.rate_max) {
        release = queue->starts.front() + queue->policy.rate_duration_ms;
      }
    }
    if (release <= now) {
      OnWaiting(queue);
    } else {
      next = std::min(next, release);
    }
  }
  return next;
}

void Broker::SchedulerLoop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    {
      MutexLock lock(&mu_);
      sched_wake_ms_ = std::numeric_limits<std::int64_t>::min();  // any request kicks
      sched_kick_ = false;
    }
    const std::int64_t next = Tick();
    MutexLock lock(&mu_);
    if (sched_kick_) continue;
    sched_wake_ms_ = next;
    const std::int64_t now = clock_->NowMs();
    const std::int64_t sleep_ms = std::clamp<std::int64_t>(
        next == kNever ? kMaxSchedulerSleepMs : next - now, 0, kMaxSchedulerSleepMs);
    if (sleep_ms == 0) continue;
    // Sleeps until the next due time (rounded up to the millisecond), a kick or stop.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(sleep_ms);
    sched_cv_.wait_until(mu_, stop, deadline, [this]() REQUIRES(mu_) { return sched_kick_; });
  }
}

// ---- Local workers -----------------------------------------------------------------------

Result<std::optional<LeasedJob>> Broker::AckAndTakeNext(std::string_view id,
                                                        std::string return_value,
                                                        std::uint32_t* cursor) {
  HERALD_RETURN_IF_ERROR(ReleaseLease(id).status());
  const std::int64_t now = clock_->NowMs();
  // The queue a Take would pick next (the same rotation as TakeForWorker), when it has work.
  const size_t n = handler_queues_.size();
  QueueState* next_queue = nullptr;
  size_t offset = 0;
  for (size_t i = 0; i < n && next_queue == nullptr; ++i) {
    QueueState* queue = handler_queues_[(*cursor + i) % n];
    auto counts = store_->Counts(queue->policy.name);
    if (!counts.ok() || counts->waiting == 0) continue;
    MutexLock lock(&mu_);
    if (ReserveLocked(queue, now)) {
      next_queue = queue;
      offset = i;
    }
  }
  if (next_queue == nullptr) {
    HERALD_RETURN_IF_ERROR(CompleteReleased(id, std::move(return_value)).status());
    return std::optional<LeasedJob>();
  }
  JobEventBus::Slot slot = events_.Reserve();
  storage::CompleteAndTakeResult result = store_->CompleteAndTake(
      storage::Completion{std::string(id), std::move(return_value)}, next_queue->policy.name, now);
  if (!result.next) {
    MutexLock lock(&mu_);
    UnreserveLocked(next_queue, now);
  }
  if (!result.completed.ok()) return result.completed.status();
  Fill(slot, JobEventType::kCompleted, *result.completed, result.completed->return_value);
  if (!result.next) return std::optional<LeasedJob>();
  std::vector<Job> taken;
  taken.push_back(std::move(*result.next));
  std::vector<LeasedJob> leased = LeaseTaken(next_queue, std::move(taken), now,
                                             next_queue->policy.timeout_ms + kLocalLeaseGraceMs);
  // Next time start after this queue, so that one busy queue cannot starve the others.
  *cursor = static_cast<std::uint32_t>((*cursor + offset + 1) % n);
  return std::optional<LeasedJob>(std::move(leased.front()));
}

Result<std::optional<LeasedJob>> Broker::TakeForWorker(std::uint32_t* cursor) {
  const size_t n = handler_queues_.size();
  for (size_t i = 0; i < n; ++i) {
    QueueState* queue = handler_queues_[(*cursor + i) % n];
    HERALD_ASSIGN_OR_RETURN(std::optional<LeasedJob> job,
                            TakeOne(queue, queue->policy.timeout_ms + kLocalLeaseGraceMs));
    if (job) {
      // Next time start after this queue, so that one busy queue cannot starve the others.
      *cursor = static_cast<std::uint32_t>((*cursor + i + 1) % n);
      return job;
    }
  }
  return std::optional<LeasedJob>();
}

void Broker::WorkerLoop(std::stop_token stop, std::uint32_t index) {
  std::uint32_t cursor = index % std::max<size_t>(1, handler_queues_.size());
  while (!stop.stop_requested()) {
    std::uint64_t generation;
    {
      MutexLock lock(&mu_);
      if (stopping_) return;
      generation = work_generation_;
    }
    auto job = TakeForWorker(&cursor);
    if (!job.ok()) {
      logger_->error("worker {}: take failed: {}", index, job.status().message());
      MutexLock lock(&mu_);
      work_cv_.wait_for(mu_, stop, std::chrono::milliseconds(100),
                        [this]() REQUIRES(mu_) { return stopping_; });
      continue;
    }
    if (!job->has_value()) {
      MutexLock lock(&mu_);
      work_cv_.wait(mu_, stop, [this, generation]() REQUIRES(mu_) {
        return stopping_ || work_generation_ != generation;
      });
      continue;
    }
    // A job's completion and the take of the next are one write; run jobs back to back
    // while that finds work.
    std::optional<LeasedJob> next = std::move(*job);
    bool first = true;
    while (next) {
      QueueState* queue = nullptr;
      {
        MutexLock lock(&mu_);
        queue = FindQueueLocked(next->job.queue);
      }
      next = RunHandler(queue, std::move(*next), stop, &cursor, /*counted=*/!first);
      first = false;
    }
  }
}

std::optional<LeasedJob> Broker::RunHandler(QueueState* queue, LeasedJob leased,
                                            std::stop_token stop, std::uint32_t* cursor,
                                            bool counted) {
  if (!counted) {
    MutexLock lock(&mu_);
    ++running_;
  }
  const Job& job = leased.job;
  const HandlerCall call(queue->handler.get(), std::chrono::milliseconds(queue->policy.timeout_ms));
  HandlerOutcome outcome =
      call.Run({job.id, job.queue, job.payload, job.attempts_made, job.max_attempts, {}, stop});
  Status status;
  std::optional<LeasedJob> next;
  if (outcome.kind == HandlerOutcome::Kind::kSuccess) {
    bool take_next = false;
    {
      MutexLock lock(&mu_);
      take_next = !stopping_ && !stop.stop_requested();
    }
    if (take_next) {
      auto acked = AckAndTakeNext(job.id, std::move(outcome.text), cursor);
      status = acked.status();
      if (acked.ok()) next = std::move(*acked);
    } else {
      status = Ack(job.id, std::move(outcome.text)).status();
    }
  } else {
    status = Fail(job.id, std::move(outcome.text), outcome.kind == HandlerOutcome::Kind::kPermanent)
                 .status();
  }
  if (!status.ok()) {
    logger_->warn("job {} of {}: result not recorded: {}", job.id, job.queue, status.message());
  }
  {
    MutexLock lock(&mu_);
    // A next job taken with the completion counts as running from now on, so that Shutdown
    // never sees no handler running while this worker is about to start one.
    if (!next) --running_;
  }
  idle_cv_.notify_all();
  return next;
}

}  // namespace herald::engine
