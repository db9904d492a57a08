#include "storage/job_taker.h"

#include <spdlog/logger.h>

#include "storage/keys.h"

namespace herald::storage {

Result<std::vector<IndexHead::Entry>> JobTaker::ClaimWaiting(QueueState* qs,
                                                             std::size_t max) const {
  std::vector<IndexHead::Entry> claimed;
  MutexLock lock(&qs->mu());
  IndexHead& waiting = qs->waiting();
  while (claimed.size() < max && qs->counts().waiting > claimed.size()) {
    if (!waiting.HasAhead()) {
      // Complete and empty: every waiting job is claimed by a Take in flight.
      if (waiting.complete()) break;
      Status s = scanner_->Refill(qs, &waiting, JobState::kWaiting);
      if (!s.ok()) {
        if (claimed.empty()) return s;
        log_->error("store: queue {}: reading waiting jobs: {}", qs->name(), s.ToString());
        break;
      }
      if (!waiting.HasAhead()) break;
    }
    // Claimed: no other Take sees this entry again (it is below the head's lower bound and no
    // longer ahead).
    claimed.push_back(waiting.Claim());
  }
  return claimed;
}

void JobTaker::PlanTakes(QueueState* qs, const std::vector<bool>& held, std::int64_t now_ms,
                         std::string_view worker, PlannedTakes* plan) const {
  std::vector<bool> still_there(plan->claimed.size());
  {
    MutexLock lock(&qs->mu());
    for (std::size_t i = 0; i < plan->claimed.size(); ++i) {
      IndexHead::Entry& e = plan->claimed[i];
      still_there[i] = qs->waiting().EndClaim(e);
      // An id someone else holds: the entry stays waiting for a later Take.
      if (!held[i] && still_there[i]) {
        qs->waiting().Insert(std::move(e.key), std::move(e.id), std::move(e.record));
      }
    }
  }
  for (std::size_t i = 0; i < plan->claimed.size(); ++i) {
    if (!held[i] || !still_there[i]) continue;  // deleted or cleaned before we held its id
    const IndexHead::Entry& e = plan->claimed[i];
    Job job;
    if (e.record) {
      job = *e.record;
    } else {
      Result<Job> read = reader_->Read(e.id);
      if (!read.ok()) {
        if (read.status().IsNotFound()) continue;
        // A record that can't be read stays where it is, skipped until the next open.
        log_->error("store: queue {}: Take skips {}", qs->name(), read.status().ToString());
        plan->read_error = read.status();
        continue;
      }
      job = std::move(*read);
    }
    if (job.state != JobState::kWaiting || keys::IndexKeyOf(job) != e.key) continue;
    Change c;
    c.from = JobState::kWaiting;
    c.old_key = e.key;
    c.job = std::move(job);
    // The attempt is in memory only until the job leaves the active state: the lease holds its
    // start and worker (keys.h), and the write that ends it puts it into the record.
    TakeJob(&c.job, now_ms, worker);
    c.new_key = keys::IndexKeyOf(c.job);
    plan->changes.push_back(std::move(c));
    plan->sources.push_back(i);
  }
}

void JobTaker::FinishTakes(QueueState* qs, PlannedTakes* plan, const Status& written,
                           std::vector<Job>* taken) {
  {
    MutexLock lock(&qs->mu());
    if (!written.ok()) {
      for (std::size_t i : plan->sources) {
        IndexHead::Entry& e = plan->claimed[i];
        qs->waiting().Insert(std::move(e.key), std::move(e.id), std::move(e.record));
      }
      return;
    }
    for (const Change& c : plan->changes) qs->Apply(c);
  }
  for (Change& c : plan->changes) {
    active_->Put(std::make_shared<const Job>(c.job));
    taken->push_back(std::move(c.job));
  }
}

Result<std::optional<Job>> JobTaker::Take(std::string_view queue, std::int64_t now_ms,
                                          std::string_view worker) {
  HERALD_ASSIGN_OR_RETURN(std::vector<Job> taken, TakeMany(queue, 1, now_ms, worker));
  if (taken.empty()) return std::optional<Job>();
  return std::optional<Job>(std::move(taken.front()));
}

Result<std::vector<Job>> JobTaker::TakeMany(std::string_view queue, std::size_t max,
                                            std::int64_t now_ms, std::string_view worker) {
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, registry_->Require(queue));
  std::vector<Job> taken;
  while (taken.size() < max) {
    PlannedTakes plan;
    {
      auto claimed = ClaimWaiting(qs, max - taken.size());
      if (!claimed.ok()) {
        if (taken.empty()) return claimed.status();
        break;
      }
      plan.claimed = std::move(*claimed);
    }
    if (plan.claimed.empty()) break;
    std::vector<std::string> ids;
    ids.reserve(plan.claimed.size());
    for (const auto& e : plan.claimed) ids.push_back(e.id);
    IdLocks::Guard guard = id_locks_->LockMany(std::move(ids));
    PlanTakes(qs, std::vector<bool>(plan.claimed.size(), true), now_ms, worker, &plan);
    if (plan.changes.empty()) {
      if (!plan.read_error.ok() && taken.empty()) return plan.read_error;
      if (!plan.read_error.ok()) break;
      continue;  // every claim was voided: claim again
    }
    rocksdb::WriteBatch batch(kBatchHeaderBytes + kBatchBytesPerJob * plan.changes.size());
    for (const Change& c : plan.changes) AddToBatch(&batch, qs->cf(), database_->jobs(), c);
    Status s = database_->Write(&batch, "take from " + qs->name());
    FinishTakes(qs, &plan, s, &taken);
    if (!s.ok()) {
      if (taken.empty()) return s;
      log_->error("store: queue {}: take: {}", qs->name(), s.ToString());
      break;
    }
    if (!plan.read_error.ok()) break;
  }
  return taken;
}

}  // namespace herald::storage
