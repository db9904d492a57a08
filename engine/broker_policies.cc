// Broker, the queues' policies: ConfigureQueue before Start, Reconfigure at any time (a config
// reload), and the retention of finished jobs they ask for (a step of Tick). The rest is in
// broker.cc and broker_consuming.cc.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "engine/broker.h"

namespace herald::engine {

Status Broker::Reconfigure(const std::vector<QueuePolicy>& queues,
                           const std::vector<EventContract>& events) {
  for (const QueuePolicy& policy : queues) {
    HERALD_RETURN_IF_ERROR(ValidateQueueName(policy.name));
    if (policy.max_attempts == 0) {
      return Status::InvalidArgument("queue " + policy.name + ": attempts must be >= 1");
    }
    HERALD_RETURN_IF_ERROR(ValidateLeaseMs(policy.lease_ms));
  }
  std::vector<QueueState*> changed;
  for (const QueuePolicy& policy : queues) {
    HERALD_ASSIGN_OR_RETURN(QueueState * queue, EnsureQueue(policy.name));
    queue->set_policy(policy);
    {
      MutexLock lock(&mu_);
      queue->admission.SetLimits(policy);
    }
    changed.push_back(queue);
  }
  router_.store(std::make_shared<const EventRouter>(events), std::memory_order_release);
  // A raised limit may let waiting jobs start now; retention looks at once.
  for (QueueState* queue : changed) OnWaiting(queue);
  scheduler_.WakeAt(clock_->NowMs());
  return Status::Ok();
}

Status Broker::ConfigureQueue(QueuePolicy policy) {
  HERALD_RETURN_IF_ERROR(ValidateQueueName(policy.name));
  if (policy.max_attempts == 0) {
    return Status::InvalidArgument("queue " + policy.name + ": attempts must be >= 1");
  }
  HERALD_ASSIGN_OR_RETURN(QueueState * old, EnsureQueue(policy.name));
  MutexLock lock(&mu_);
  if (started_) return Status::InvalidArgument("queues must be configured before Start");
  if (old->admission.active() > 0 || waiters_.size() > 0) {
    return Status::Busy("jobs of queue " + policy.name + " are taken; configure it before");
  }
  auto state = std::make_unique<QueueState>(policy);
  state->handler = old->handler;
  if (old->admission.paused()) state->admission.Pause();
  auto it = queues_.find(policy.name);
  replaced_queues_.push_back(std::move(it->second));
  it->second = std::move(state);
  return Status::Ok();
}

void Broker::ApplyRetention(const std::vector<QueueState*>& queues, std::int64_t now,
                            std::int64_t* next) {
  constexpr std::int64_t kIntervalMs = 1000;
  constexpr std::uint64_t kPerPass = 1000;  // per queue and state, so that a pass stays short
  bool any = false;
  for (const QueueState* queue : queues) any = any || queue->policy()->has_retention();
  if (!any) return;
  if (now - retention_applied_ms_ < kIntervalMs) {
    *next = std::min(*next, retention_applied_ms_ + kIntervalMs);
    return;
  }
  retention_applied_ms_ = now;
  *next = std::min(*next, now + kIntervalMs);
  for (const QueueState* queue : queues) {
    const std::shared_ptr<const QueuePolicy> current = queue->policy();
    const QueuePolicy& policy = *current;
    if (!policy.has_retention()) continue;
    auto counts = store_->Counts(policy.name);
    if (!counts.ok()) continue;
    auto trim = [&](JobState state, std::uint64_t count, std::uint64_t keep,
                    std::int64_t keep_age_ms) {
      Result<std::uint64_t> removed = std::uint64_t{0};
      if (keep > 0 && count > keep) {
        removed = Clean(policy.name, state, 0, std::min(count - keep, kPerPass));
      }
      if (removed.ok() && keep_age_ms > 0)
        removed = Clean(policy.name, state, keep_age_ms, kPerPass);
      if (!removed.ok()) {
        logger_->warn("retention of {} jobs of {}: {}", storage::JobStateName(state), policy.name,
                      removed.status().message());
      }
    };
    trim(JobState::kCompleted, counts->completed, policy.keep_completed,
         policy.keep_completed_age_ms);
    trim(JobState::kFailed, counts->failed, policy.keep_failed, policy.keep_failed_age_ms);
  }
}

}  // namespace herald::engine
