#include "storage/job_transitions.h"

#include <algorithm>
#include <unordered_map>

#include "storage/keys.h"
#include "storage/quote.h"

namespace herald::storage {
namespace {

Status WrongState(const Job& job, JobState expected) {
  return Status::InvalidArgument("job " + job.id + " is " + std::string(JobStateName(job.state)) +
                                 ", not " + std::string(JobStateName(expected)));
}

}  // namespace

std::vector<JobTransitions::TransitionRequest> JobTransitions::CompletionRequests(
    std::vector<Completion> completions, std::int64_t now_ms, JobFate fate) {
  std::vector<TransitionRequest> requests;
  requests.reserve(completions.size());
  for (Completion& done : completions) {
    requests.push_back(
        TransitionRequest{std::move(done.id), JobState::kActive,
                          [now_ms, value = std::move(done.return_value)](Job& job) mutable {
                            CompleteJob(&job, now_ms, std::move(value));
                          },
                          fate});
  }
  return requests;
}

Result<Job> JobTransitions::Complete(std::string_view id, std::string return_value,
                                     std::int64_t now_ms) {
  std::vector<Completion> one;
  one.push_back(Completion{std::string(id), std::move(return_value)});
  return std::move(CompleteMany(std::move(one), now_ms).front());
}

JobFate JobTransitions::CompletedFate() const {
  // With a retention of 0 a completed job is not kept at all.
  return u_.retention->keeps_completed() ? JobFate::kKept : JobFate::kRemoved;
}

std::vector<Result<Job>> JobTransitions::CompleteMany(std::vector<Completion> completions,
                                                      std::int64_t now_ms) {
  return TransitionMany(CompletionRequests(std::move(completions), now_ms, CompletedFate()));
}

CompleteAndTakeResult JobTransitions::CompleteAndTake(Completion done, std::string_view next_queue,
                                                      std::int64_t now_ms,
                                                      std::string_view worker) {
  CompleteAndTakeResult out{Status::Internal("not completed"), std::nullopt};
  std::vector<Completion> one;
  one.push_back(std::move(done));
  auto qs = u_.registry->Require(next_queue);
  if (!qs.ok()) {
    out.completed = std::move(CompleteMany(std::move(one), now_ms).front());
    return out;
  }
  TakeAlong take{*qs, now_ms, worker, {}, {}, {}};
  out.completed = std::move(
      TransitionMany(CompletionRequests(std::move(one), now_ms, CompletedFate()), &take).front());
  if (!take.taken.empty()) out.next = std::move(take.taken.front());
  return out;
}

Result<Job> JobTransitions::FailRetry(std::string_view id, std::string error, std::int64_t due_ms,
                                      std::int64_t now_ms) {
  return Transition(
      id, JobState::kActive,
      [&](Job& job) { RetryJobLater(&job, std::move(error), due_ms, now_ms); }, JobFate::kKept);
}

Result<Job> JobTransitions::FailFinal(std::string_view id, std::string error, std::int64_t now_ms,
                                      AttemptOutcome outcome) {
  return Transition(
      id, JobState::kActive, [&](Job& job) { FailJob(&job, std::move(error), now_ms, outcome); },
      JobFate::kKept);
}

Result<Job> JobTransitions::Requeue(std::string_view id, std::string reason, std::int64_t now_ms) {
  return Transition(
      id, JobState::kActive, [&](Job& job) { RequeueJob(&job, std::move(reason), now_ms); },
      JobFate::kKept);
}

Result<Job> JobTransitions::Retry(std::string_view id) {
  return Transition(
      id, JobState::kFailed, [](Job& job) { RetryFailedJob(&job); }, JobFate::kKept);
}

Result<Job> JobTransitions::Promote(std::string_view id) {
  return Transition(
      id, JobState::kDelayed, [](Job& job) { job.state = JobState::kWaiting; }, JobFate::kKept);
}

Status JobTransitions::Delete(std::string_view id) {
  Result<Job> r = Transition(
      id, std::nullopt, [](Job&) {}, JobFate::kRemoved);
  return r.ok() ? Status::Ok() : r.status();
}

Result<Job> JobTransitions::Transition(std::string_view id, std::optional<JobState> from,
                                       const std::function<void(Job&)>& edit, JobFate fate) {
  std::vector<TransitionRequest> one;
  one.push_back(TransitionRequest{std::string(id), from, edit, fate});
  return std::move(TransitionMany(std::move(one)).front());
}

std::vector<Result<Job>> JobTransitions::TransitionMany(std::vector<TransitionRequest> requests,
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
  IdLocks::Guard guard = u_.id_locks->LockMany(std::move(ids));

  std::vector<Planned> planned = PlanRequests(&requests, &results);
  if (planned.empty()) return results;
  if (take_along != nullptr) PlanTakeAlong(take_along);
  // Completed jobs beyond the retention, per queue that completes jobs in this batch.
  std::vector<Completing> completing;
  for (const Planned& p : planned) {
    if (p.change.fate == JobFate::kRemoved || p.change.job.state != JobState::kCompleted) continue;
    auto it = std::find_if(completing.begin(), completing.end(),
                           [&](const Completing& c) { return c.qs == p.qs; });
    if (it == completing.end()) {
      completing.push_back(Completing{p.qs, 1, {}});
    } else {
      ++it->jobs;
    }
  }
  Status s = WriteAll(planned, take_along, &completing);
  Finish(s, &planned, take_along, &completing, &results);

  std::vector<QueueState*> ran_out;
  for (const Completing& c : completing) {
    if (c.prune.ran_out) ran_out.push_back(c.qs);
  }
  completing.clear();  // releases the victims' ids
  if (take_along != nullptr) take_along->guards.clear();
  guard = IdLocks::Guard();
  // A batch's own jobs can't be pruned in its batch: with a retention smaller than the batch,
  // trim now rather than leave more than the retention (plus slack) until the next complete.
  if (s.ok()) {
    for (QueueState* qs : ran_out) u_.retention->TrimIfOver(qs);
  }
  return results;
}

std::vector<JobTransitions::Planned> JobTransitions::PlanRequests(
    std::vector<TransitionRequest>* requests, std::vector<Result<Job>>* results) const {
  std::vector<Planned> planned;
  planned.reserve(requests->size());
  std::unordered_map<std::string_view, std::size_t> seen;  // id -> request index
  for (std::size_t i = 0; i < requests->size(); ++i) {
    TransitionRequest& r = (*requests)[i];
    if (!seen.emplace(r.id, i).second) {
      (*results)[i] = Status::InvalidArgument("job " + r.id + " given twice");
      continue;
    }
    Result<Job> read = u_.reader->Read(r.id);
    if (!read.ok()) {
      (*results)[i] = read.status();
      continue;
    }
    Job job = std::move(*read);
    if (r.from && job.state != *r.from) {
      (*results)[i] = WrongState(job, *r.from);
      continue;
    }
    QueueState* qs = u_.registry->Find(job.queue);
    if (qs == nullptr) {
      (*results)[i] =
          Status::Corruption("job " + job.id + " names unknown queue " + Quote(job.queue));
      continue;
    }
    Change c;
    c.from = job.state;
    c.old_key = keys::IndexKeyOf(job);
    r.edit(job);
    c.fate = r.fate;
    if (r.fate == JobFate::kKept) c.new_key = keys::IndexKeyOf(job);
    c.job = std::move(job);
    planned.push_back(Planned{i, qs, std::move(c)});
  }
  return planned;
}

void JobTransitions::PlanTakeAlong(TakeAlong* take_along) const {
  // Its ids are only tried, since this thread already holds the transitions' ids.
  auto claimed = u_.taker->ClaimWaiting(take_along->qs, 1);
  if (claimed.ok()) take_along->plan.claimed = std::move(*claimed);
  std::vector<bool> held;
  for (const auto& e : take_along->plan.claimed) {
    std::optional<IdLocks::Guard> g = u_.id_locks->TryLock(e.id);
    held.push_back(g.has_value());
    if (g) take_along->guards.push_back(std::move(*g));
  }
  u_.taker->PlanTakes(take_along->qs, held, take_along->now_ms, take_along->worker,
                      &take_along->plan);
}

Status JobTransitions::WriteAll(const std::vector<Planned>& planned, const TakeAlong* take_along,
                                std::vector<Completing>* completing) const {
  rocksdb::ColumnFamilyHandle* jobs_cf = u_.database->jobs();
  std::size_t taking = take_along != nullptr ? take_along->plan.changes.size() : 0;
  std::size_t batch_bytes = kBatchHeaderBytes + kBatchBytesPerJob * taking;
  for (const Planned& p : planned) batch_bytes += p.change.job.payload.size() + kBatchBytesPerJob;
  rocksdb::WriteBatch batch(batch_bytes);
  if (take_along != nullptr) {
    for (const Change& c : take_along->plan.changes) {
      AddToBatch(&batch, take_along->qs->cf(), jobs_cf, c);
    }
  }
  for (const Planned& p : planned) AddToBatch(&batch, p.qs->cf(), jobs_cf, p.change);
  for (Completing& c : *completing) u_.retention->PlanPrune(c.qs, c.jobs, &batch, &c.prune);
  return u_.database->Write(&batch, planned.size() == 1
                                        ? "update job " + planned.front().change.job.id
                                        : "update " + std::to_string(planned.size()) + " jobs");
}

void JobTransitions::Finish(const Status& written, std::vector<Planned>* planned,
                            TakeAlong* take_along, std::vector<Completing>* completing,
                            std::vector<Result<Job>>* results) {
  for (Completing& c : *completing) {
    MutexLock lock(&c.qs->mu());
    u_.retention->FinishPrune(c.qs, &c.prune, written);
  }
  if (take_along != nullptr) {
    u_.taker->FinishTakes(take_along->qs, &take_along->plan, written, &take_along->taken);
  }
  for (Planned& p : *planned) {
    if (!written.ok()) {
      (*results)[p.index] = written;
      continue;
    }
    Change& c = p.change;
    if (c.from == JobState::kActive) u_.active->Erase(c.job.id);
    {
      MutexLock lock(&p.qs->mu());
      p.qs->Apply(c);
      if (c.from == JobState::kDelayed || c.job.state == JobState::kDelayed) {
        u_.scanner->KeepDelayedHeadLoaded(p.qs);
      }
    }
    (*results)[p.index] = std::move(c.job);
  }
}

}  // namespace herald::storage
