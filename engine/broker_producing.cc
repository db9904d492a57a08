// Broker, the producing side: adds (one, many, without waiting), imports and events. The rest
// is in broker.cc and broker_consuming.cc.
#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/broker.h"

namespace herald::engine {
namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
// Priorities as BullMQ: 0 (default, first) .. 2^21.
constexpr std::uint32_t kMaxPriority = 2097152;
constexpr std::int64_t kMaxDelayMs = 10LL * 365 * 24 * 3600 * 1000;

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
  if (options.name.size() > storage::kMaxJobNameBytes) {
    return Status::InvalidArgument("job name is longer than " +
                                   std::to_string(storage::kMaxJobNameBytes) + " bytes");
  }
  return Status::Ok();
}

}  // namespace

// What AddMany and AddManyAsync do before the store's write, and after it.
struct Broker::PlannedAdds {
  QueueState* queue = nullptr;
  std::string queue_name;
  JobEventBus::Slot slot;
  std::int64_t now = 0;
  std::vector<std::int64_t> delays;  // of each job, for its event and the scheduler
  std::vector<storage::NewJob> batch;
};

Result<Broker::PlannedAdds> Broker::PlanAdds(std::string_view queue_name,
                                             std::vector<std::pair<std::string, JobOptions>> jobs) {
  PlannedAdds plan;
  HERALD_ASSIGN_OR_RETURN(plan.queue, EnsureQueue(queue_name));
  for (const auto& [payload, options] : jobs) HERALD_RETURN_IF_ERROR(CheckOptions(options));
  plan.queue_name = std::string(queue_name);
  // "added" has its place before the jobs can be taken, and before `now` is read (see "Job
  // events" in broker.cc).
  plan.slot = events_.Reserve();
  plan.now = clock_->NowMs();
  const std::shared_ptr<const QueuePolicy> policy = plan.queue->policy();
  plan.batch.reserve(jobs.size());
  for (auto& [payload, options] : jobs) {
    storage::NewJob job;
    job.id = options.id;
    job.payload = std::move(payload);
    job.name = options.name;
    job.priority = options.priority;
    job.max_attempts = options.attempts.value_or(policy->max_attempts);
    job.backoff_type = options.backoff_type.value_or(policy->backoff_type);
    job.backoff_ms = options.backoff_ms.value_or(policy->backoff_ms);
    job.due_ms = options.delay_ms > 0 ? plan.now + options.delay_ms : 0;
    plan.delays.push_back(options.delay_ms);
    plan.batch.push_back(std::move(job));
  }
  return plan;
}

std::vector<AddedJob> Broker::FinishAdds(PlannedAdds& plan,
                                         const std::vector<storage::AddResult>& results) {
  std::vector<AddedJob> added;
  added.reserve(results.size());
  std::vector<JobEvent> events;
  bool any_waiting = false;
  std::int64_t earliest_due = kNever;
  const std::int64_t now = plan.now;
  for (size_t i = 0; i < results.size(); ++i) {
    const storage::AddResult& result = results[i];
    added.push_back({result.id, plan.queue_name, result.created, result.state});
    if (!result.created) continue;
    if (result.state == JobState::kWaiting) any_waiting = true;
    if (result.state == JobState::kDelayed) {
      earliest_due = std::min(earliest_due, now + plan.delays[i]);
    }
    if (!plan.slot.empty()) {
      events.push_back(JobEvent{.type = JobEventType::kAdded,
                                .queue = plan.queue_name,
                                .id = result.id,
                                .attempts_made = 0,
                                .detail = {},
                                .at_ms = now,
                                .created_ms = now,
                                .processed_ms = 0,
                                .due_ms = plan.delays[i] > 0 ? now + plan.delays[i] : 0});
    }
  }
  plan.slot.Fill(std::move(events));
  if (earliest_due != kNever) scheduler_.WakeAt(earliest_due);
  if (any_waiting) OnWaiting(plan.queue);
  return added;
}

Result<std::vector<AddedJob>> Broker::AddMany(
    std::string_view queue_name, std::vector<std::pair<std::string, JobOptions>> jobs) {
  HERALD_ASSIGN_OR_RETURN(PlannedAdds plan, PlanAdds(queue_name, std::move(jobs)));
  HERALD_ASSIGN_OR_RETURN(std::vector<storage::AddResult> results,
                          store_->AddMany(plan.queue_name, std::move(plan.batch), plan.now));
  return FinishAdds(plan, results);
}

void Broker::AddManyAsync(std::string_view queue_name,
                          std::vector<std::pair<std::string, JobOptions>> jobs,
                          std::function<void(Result<std::vector<AddedJob>>)> done) {
  Result<PlannedAdds> planned = PlanAdds(queue_name, std::move(jobs));
  if (!planned.ok()) return done(planned.status());
  auto plan = std::make_shared<PlannedAdds>(std::move(planned).value());
  std::vector<storage::NewJob> batch = std::move(plan->batch);
  store_->AddManyAsync(
      plan->queue_name, std::move(batch), plan->now,
      [this, plan, done = std::move(done)](Result<std::vector<storage::AddResult>> results) {
        if (!results.ok()) {
          plan->slot.Fill(std::vector<JobEvent>{});
          return done(results.status());
        }
        done(FinishAdds(*plan, *results));
      });
}

bool Broker::adds_wait_for_commits() const { return store_->AddsWaitForCommit(); }

Result<AddedJob> Broker::Add(std::string_view queue, std::string payload,
                             const JobOptions& options) {
  std::vector<std::pair<std::string, JobOptions>> one;
  one.emplace_back(std::move(payload), options);
  HERALD_ASSIGN_OR_RETURN(std::vector<AddedJob> added, AddMany(queue, std::move(one)));
  return std::move(added.front());
}

Result<AddedJob> Broker::Import(Job job) {
  const std::string queue_name = job.queue;
  HERALD_ASSIGN_OR_RETURN(QueueState * queue, EnsureQueue(queue_name));
  JobEventBus::Slot slot = events_.Reserve();
  HERALD_ASSIGN_OR_RETURN(storage::AddResult result, store_->Import(queue_name, std::move(job)));
  if (!result.created) return AddedJob{result.id, queue_name, false, result.state};
  auto imported = store_->Get(result.id);
  if (imported.ok()) Fill(slot, JobEventType::kAdded, *imported, "imported");
  if (result.state == JobState::kDelayed && imported.ok()) scheduler_.WakeAt(imported->due_ms);
  if (result.state == JobState::kWaiting) OnWaiting(queue);
  return AddedJob{result.id, queue_name, true, result.state};
}

Result<AddedJob> Broker::Emit(std::string_view event_json) {
  HERALD_ASSIGN_OR_RETURN(RoutedEvent event, router()->Route(event_json));
  JobOptions options;
  options.id = event.event_id;
  return Add(event.queue, std::string(event_json), options);
}

}  // namespace herald::engine
