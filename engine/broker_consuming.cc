// Broker, the consuming side: takes (remote and blocking), the waiters, the writes that end a
// lease (ACKJOB, NACK, WORKING), and what the local workers do with a job. The rest is in
// broker.cc.
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "engine/broker.h"
#include "engine/handler_call.h"

namespace herald::engine {
namespace {

// Who ran a job, as its attempts name a local worker thread.
std::string LocalWorkerName(std::uint32_t worker) { return "local:" + std::to_string(worker); }

}  // namespace

// ---- Consuming ---------------------------------------------------------------------------

bool Broker::ReserveLocked(QueueState* queue, std::int64_t now) {
  if (stopping_) return false;
  switch (queue->admission.Reserve(now)) {
    case QueueAdmission::Verdict::kReserved:
      return true;
    case QueueAdmission::Verdict::kRateLimited:
      scheduler_.WakeAt(queue->admission.RoomAtMs());
      return false;
    case QueueAdmission::Verdict::kRefused:
      return false;
  }
  return false;
}

Result<std::vector<LeasedJob>> Broker::TakeSome(QueueState* queue, std::uint32_t count,
                                                std::int64_t lease_ms, std::string_view worker) {
  const std::int64_t now = clock_->NowMs();
  std::uint32_t reserved = 0;
  {
    MutexLock lock(&mu_);
    while (reserved < count && ReserveLocked(queue, now)) ++reserved;
  }
  if (reserved == 0) return std::vector<LeasedJob>();
  // One batch for all of them (GETJOB COUNT n).
  auto taken = store_->TakeMany(queue->name, reserved, now, worker);
  const std::size_t got = taken.ok() ? taken->size() : 0;
  if (got < reserved) {
    MutexLock lock(&mu_);
    for (std::size_t i = got; i < reserved; ++i) queue->admission.Unreserve(now);
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
      const std::int64_t until = leases_.Add(job.id, queue, now, lease_ms);
      leased.push_back(LeasedJob{std::move(job), until});
    }
  }
  if (!leased.empty()) scheduler_.WakeAt(now + lease_ms);
  return leased;
}

Result<std::vector<LeasedJob>> Broker::TakeFrom(const std::vector<QueueState*>& queues,
                                                std::uint32_t count, std::int64_t lease_ms,
                                                std::string_view worker) {
  std::vector<LeasedJob> jobs;
  for (QueueState* queue : queues) {
    const std::int64_t lease = lease_ms > 0 ? lease_ms : queue->policy()->lease_ms;
    while (jobs.size() < count) {
      HERALD_ASSIGN_OR_RETURN(
          std::vector<LeasedJob> some,
          TakeSome(queue, count - static_cast<std::uint32_t>(jobs.size()), lease, worker));
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

Status Broker::PostStoreCall(std::function<void()> call) {
  if (store_calls_ == nullptr) {
    return Status::Internal("store calls are made on the caller's thread with this store");
  }
  return store_calls_->Post(std::move(call));
}

Result<std::vector<LeasedJob>> Broker::Take(const TakeRequest& request) {
  HERALD_RETURN_IF_ERROR(CheckTakeRequest(request));
  std::vector<QueueState*> queues;
  for (const std::string& name : request.queues) {
    HERALD_ASSIGN_OR_RETURN(QueueState * queue, EnsureQueue(name));
    queues.push_back(queue);
  }
  return TakeFrom(queues, request.count, request.lease_ms, request.worker);
}

Result<Broker::WaiterId> Broker::TakeAsync(const TakeRequest& request, std::int64_t timeout_ms,
                                           TakeCallback callback) {
  HERALD_RETURN_IF_ERROR(CheckTakeRequest(request));
  if (timeout_ms < 0) return Status::InvalidArgument("timeout must be >= 0");
  auto waiter = std::make_shared<TakeWaiters::Waiter>();
  for (const std::string& name : request.queues) {
    HERALD_ASSIGN_OR_RETURN(QueueState * queue, EnsureQueue(name));
    waiter->queues.push_back(queue);
  }
  waiter->count = request.count;
  waiter->lease_ms = request.lease_ms;
  waiter->worker = request.worker;
  waiter->callback = std::move(callback);
  while (true) {
    std::uint64_t generation;
    {
      MutexLock lock(&mu_);
      if (stopping_) return Status::ShuttingDown("server is shutting down");
      generation = work_generation_;
    }
    HERALD_ASSIGN_OR_RETURN(
        std::vector<LeasedJob> jobs,
        TakeFrom(waiter->queues, waiter->count, waiter->lease_ms, waiter->worker));
    if (!jobs.empty()) {
      waiter->callback(std::move(jobs));
      return WaiterId{0};
    }
    MutexLock lock(&mu_);
    // Jobs that arrived between the take and now would not wake this waiter: try again.
    if (generation != work_generation_) continue;
    if (timeout_ms > 0) {
      waiter->deadline_ms = clock_->NowMs() + timeout_ms;
      scheduler_.WakeAt(waiter->deadline_ms);
    }
    return waiters_.Add(std::move(waiter));
  }
}

void Broker::CancelWaiter(WaiterId id) {
  MutexLock lock(&mu_);
  waiters_.Cancel(id);
}

void Broker::ServeWaiters(QueueState* queue) {
  while (true) {
    std::shared_ptr<TakeWaiters::Waiter> waiter;
    WaiterId id = 0;
    {
      MutexLock lock(&mu_);
      waiter = waiters_.PopFirst(queue, &id);
    }
    if (!waiter) return;
    auto jobs = TakeFrom(waiter->queues, waiter->count, waiter->lease_ms, waiter->worker);
    if (!jobs.ok() || jobs->empty()) {
      if (!jobs.ok())
        logger_->error("take for a waiting client failed: {}", jobs.status().message());
      // Nothing for it after all (taken by someone else, or paused/limited): back to the front.
      MutexLock lock(&mu_);
      if (stopping_) return;
      waiters_.PutBack(id, std::move(waiter));
      return;
    }
    waiter->callback(std::move(*jobs));
  }
}

void Broker::OnWorkElsewhere(std::string_view name, std::int64_t due_ms) {
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
  }
  // A queue another node made is one of ours from now on.
  Result<QueueState*> queue = EnsureQueue(name);
  if (!queue.ok()) return;
  if (due_ms > 0) {
    scheduler_.WakeAt(due_ms);
  } else {
    OnWaiting(*queue);
  }
}

void Broker::OnWaiting(QueueState* queue) {
  bool has_waiters;
  {
    MutexLock lock(&mu_);
    ++work_generation_;
    has_waiters = waiters_.HasWaiters(queue);
  }
  if (queue->handler) workers_.NotifyWork();
  if (has_waiters) ServeWaiters(queue);
}

// ---- Ending leases -------------------------------------------------------------------------
//
// The write that ends a lease (ACKJOB, NACK, a handler's outcome, an expiry) runs with the
// lease claimed, not removed: if the write fails (a full disk), the job is still active on disk
// and its lease comes back, so that a repeated call finds it and its expiry puts the job back.
// The slot is freed at the claim, as a take of the same worker's next job may need it.

Result<LeaseClaim> Broker::ClaimLease(std::string_view id) {
  std::optional<LeaseClaim> claim;
  {
    MutexLock lock(&mu_);
    claim = leases_.Claim(id);
    if (claim) claim->queue->admission.Release();
  }
  if (!claim) {
    return Status::NotFound("job " + std::string(id) +
                            " is not active (unknown id, already acknowledged, or its lease "
                            "expired)");
  }
  // A freed slot matters only to a queue with a concurrency limit.
  if (claim->queue->admission.concurrency_limited()) OnWaiting(claim->queue);
  return *claim;
}

void Broker::EndClaim(std::string_view id, const LeaseClaim& claim, const Status& written,
                      std::int64_t retry_at_ms) {
  MutexLock lock(&mu_);
  if (written.ok()) {
    leases_.Settle(id, claim);
  } else if (leases_.Restore(id, claim, retry_at_ms)) {
    claim.queue->admission.Readmit();
    scheduler_.WakeAt(retry_at_ms);
  }
}

template <typename Write>
Result<Job> Broker::WithLeaseClaimed(std::string_view id, Write write) {
  HERALD_ASSIGN_OR_RETURN(LeaseClaim claim, ClaimLease(id));
  Result<Job> job = write();
  EndClaim(id, claim, job.status(), claim.until_ms);
  return job;
}

Result<Job> Broker::Ack(std::string_view id, std::string return_value) {
  return WithLeaseClaimed(id, [&] { return CompleteClaimed(id, std::move(return_value)); });
}

Result<Job> Broker::CompleteClaimed(std::string_view id, std::string return_value) {
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
  std::vector<LeaseClaim> claims;  // and its claim
  for (std::size_t i = 0; i < completions.size(); ++i) {
    Result<LeaseClaim> claim = ClaimLease(completions[i].id);
    if (!claim.ok()) {
      results.emplace_back(claim.status());
      continue;
    }
    results.emplace_back(Status::Internal("not completed"));
    where.push_back(i);
    claims.push_back(*claim);
    // The id stays: the claim is ended by id after the write.
    leased.push_back({completions[i].id, std::move(completions[i].return_value)});
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
    EndClaim(completions[where[k]].id, claims[k], done[k].status(), claims[k].until_ms);
    results[where[k]] = std::move(done[k]);
  }
  slot.Fill(std::move(events));
  return results;
}

Result<Job> Broker::Fail(std::string_view id, std::string error, FailMode mode,
                         std::int64_t retry_in_ms) {
  return WithLeaseClaimed(id, [&]() -> Result<Job> {
    HERALD_ASSIGN_OR_RETURN(Job job, store_->Get(id));
    return FinishFailure(job, std::move(error), mode, retry_in_ms);
  });
}

Result<Job> Broker::FinishFailure(const Job& job, std::string error, FailMode mode,
                                  std::int64_t retry_in_ms) {
  // Before `now` is read: the scheduler may promote the job when the backoff is over.
  JobEventBus::Slot slot = events_.Reserve();
  const std::int64_t now = clock_->NowMs();
  if (mode == FailMode::kPermanent || job.attempts_made >= job.max_attempts) {
    HERALD_ASSIGN_OR_RETURN(Job failed, store_->FailFinal(job.id, std::move(error), now));
    Fill(slot, JobEventType::kFailed, failed, failed.last_error);
    return failed;
  }
  const std::int64_t due =
      now + (retry_in_ms >= 0
                 ? retry_in_ms
                 : BackoffDelayMs(job.backoff_type, job.backoff_ms, job.attempts_made));
  HERALD_ASSIGN_OR_RETURN(Job delayed, store_->FailRetry(job.id, std::move(error), due, now));
  scheduler_.WakeAt(due);
  Fill(slot, JobEventType::kRetrying, delayed, delayed.last_error);
  return delayed;
}

Result<std::int64_t> Broker::ExtendLease(std::string_view id, std::int64_t lease_ms) {
  if (lease_ms != 0) HERALD_RETURN_IF_ERROR(ValidateLeaseMs(lease_ms));
  MutexLock lock(&mu_);
  std::optional<LeaseTerm> term = leases_.Extend(id, clock_->NowMs(), lease_ms);
  if (!term) return Status::NotFound("job " + std::string(id) + " is not active");
  scheduler_.WakeAt(term->until_ms);
  return term->length_ms;
}

QueueState* Broker::ReserveFirstWithWork(const std::vector<QueueState*>& queues, std::size_t start,
                                         std::int64_t now, std::size_t* offset) {
  const std::size_t n = queues.size();
  for (std::size_t i = 0; i < n; ++i) {
    QueueState* queue = queues[(start + i) % n];
    if (!store_->MayHaveWaiting(queue->name)) continue;
    MutexLock lock(&mu_);
    if (ReserveLocked(queue, now)) {
      *offset = i;
      return queue;
    }
  }
  return nullptr;
}

Result<std::optional<Job>> Broker::CompleteClaimedAndTake(std::string_view id,
                                                          const LeaseClaim& claim,
                                                          std::string return_value,
                                                          QueueState* next, std::int64_t now,
                                                          std::string_view worker) {
  if (next == nullptr) {
    Result<Job> completed = CompleteClaimed(id, std::move(return_value));
    EndClaim(id, claim, completed.status(), claim.until_ms);
    HERALD_RETURN_IF_ERROR(completed.status());
    return std::optional<Job>();
  }
  JobEventBus::Slot slot = events_.Reserve();
  storage::CompleteAndTakeResult result = store_->CompleteAndTake(
      storage::Completion{std::string(id), std::move(return_value)}, next->name, now, worker);
  EndClaim(id, claim, result.completed.status(), claim.until_ms);
  if (!result.next) {
    MutexLock lock(&mu_);
    next->admission.Unreserve(now);
  }
  if (!result.completed.ok()) return result.completed.status();
  Fill(slot, JobEventType::kCompleted, *result.completed, result.completed->return_value);
  return std::move(result.next);
}

Result<std::vector<LeasedJob>> Broker::AckAndTake(std::string_view id, std::string return_value,
                                                  const TakeRequest& request) {
  HERALD_RETURN_IF_ERROR(CheckTakeRequest(request));
  std::vector<QueueState*> queues;
  for (const std::string& name : request.queues) {
    HERALD_ASSIGN_OR_RETURN(QueueState * queue, EnsureQueue(name));
    queues.push_back(queue);
  }
  HERALD_ASSIGN_OR_RETURN(LeaseClaim claim, ClaimLease(id));
  const std::int64_t now = clock_->NowMs();
  // The first queue, in the request's order, with a job waiting and a slot free.
  std::size_t offset = 0;
  QueueState* next = ReserveFirstWithWork(queues, 0, now, &offset);
  HERALD_ASSIGN_OR_RETURN(
      std::optional<Job> taken,
      CompleteClaimedAndTake(id, claim, std::move(return_value), next, now, request.worker));
  std::vector<LeasedJob> jobs;
  if (taken) {
    std::vector<Job> one;
    one.push_back(std::move(*taken));
    jobs = LeaseTaken(next, std::move(one), now,
                      request.lease_ms > 0 ? request.lease_ms : next->policy()->lease_ms);
  }
  // COUNT n: the others in a take of their own (the acknowledgement is made: a failure here
  // returns what was taken).
  if (jobs.size() < request.count) {
    auto more = TakeFrom(queues, request.count - static_cast<std::uint32_t>(jobs.size()),
                         request.lease_ms, request.worker);
    if (more.ok()) {
      for (LeasedJob& job : *more) jobs.push_back(std::move(job));
    } else if (jobs.empty()) {
      logger_->warn("take after acknowledging {} failed: {}", id, more.status().message());
    }
  }
  return jobs;
}

// ---- Local workers -----------------------------------------------------------------------

Result<std::optional<LeasedJob>> Broker::AckAndTakeNext(std::uint32_t worker, std::string_view id,
                                                        std::string return_value,
                                                        std::uint32_t* cursor) {
  HERALD_ASSIGN_OR_RETURN(LeaseClaim claim, ClaimLease(id));
  const std::int64_t now = clock_->NowMs();
  // The queue a Take would pick next (the same rotation as TakeForWorker), when it has work.
  const size_t n = handler_queues_.size();
  size_t offset = 0;
  QueueState* next_queue = ReserveFirstWithWork(handler_queues_, *cursor, now, &offset);
  HERALD_ASSIGN_OR_RETURN(std::optional<Job> taken,
                          CompleteClaimedAndTake(id, claim, std::move(return_value), next_queue,
                                                 now, LocalWorkerName(worker)));
  if (!taken) return std::optional<LeasedJob>();
  std::vector<Job> one;
  one.push_back(std::move(*taken));
  std::vector<LeasedJob> leased = LeaseTaken(
      next_queue, std::move(one), now, next_queue->policy()->timeout_ms + config_.handler_grace_ms);
  // Next time start after this queue, so that one busy queue cannot starve the others.
  *cursor = static_cast<std::uint32_t>((*cursor + offset + 1) % n);
  return std::optional<LeasedJob>(std::move(leased.front()));
}

Result<std::optional<LeasedJob>> Broker::TakeForWorker(std::uint32_t worker,
                                                       std::uint32_t* cursor) {
  const std::string name = LocalWorkerName(worker);
  const size_t n = handler_queues_.size();
  for (size_t i = 0; i < n; ++i) {
    QueueState* queue = handler_queues_[(*cursor + i) % n];
    HERALD_ASSIGN_OR_RETURN(
        std::vector<LeasedJob> jobs,
        TakeSome(queue, 1, queue->policy()->timeout_ms + config_.handler_grace_ms, name));
    if (!jobs.empty()) {
      // Next time start after this queue, so that one busy queue cannot starve the others.
      *cursor = static_cast<std::uint32_t>((*cursor + i + 1) % n);
      return std::optional<LeasedJob>(std::move(jobs.front()));
    }
  }
  return std::optional<LeasedJob>();
}

std::optional<LeasedJob> Broker::RunJob(std::uint32_t worker, LeasedJob leased,
                                        std::stop_token stop, std::uint32_t* cursor) {
  QueueState* queue = nullptr;
  {
    MutexLock lock(&mu_);
    queue = FindQueueLocked(leased.job.queue);
  }
  const Job& job = leased.job;
  const HandlerCall call(queue->handler.get(),
                         std::chrono::milliseconds(queue->policy()->timeout_ms));
  HandlerOutcome outcome =
      call.Run({job.id, job.queue, job.payload, job.attempts_made, job.max_attempts, {}, stop});
  Status status;
  std::optional<LeasedJob> next;
  if (outcome.kind != HandlerOutcome::Kind::kSuccess) {
    const FailMode mode =
        outcome.kind == HandlerOutcome::Kind::kPermanent ? FailMode::kPermanent : FailMode::kRetry;
    status = Fail(job.id, std::move(outcome.text), mode, outcome.retry_in_ms).status();
  } else if (stop.stop_requested()) {
    status = Ack(job.id, std::move(outcome.text)).status();
  } else {
    // Shutting down, it finds no next job (reservations are refused).
    auto acked = AckAndTakeNext(worker, job.id, std::move(outcome.text), cursor);
    status = acked.status();
    if (acked.ok()) next = std::move(*acked);
  }
  if (!status.ok()) {
    logger_->warn("job {} of {}: result not recorded: {}", job.id, job.queue, status.message());
  }
  return next;
}

}  // namespace herald::engine
