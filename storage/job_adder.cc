#include "storage/job_adder.h"

#include <string>
#include <unordered_map>

#include "storage/job_rules.h"
#include "storage/keys.h"

namespace herald::storage {

Result<AddResult> JobAdder::Import(std::string_view queue, Job job) {
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, registry_->Require(queue));
  HERALD_RETURN_IF_ERROR(ValidateImportedJob(job));
  IdLocks::Guard guard = id_locks_->LockMany({job.id});
  Result<Job> existing = reader_->Read(job.id);
  if (existing.ok()) return AddResult{job.id, false, existing->state};
  if (!existing.status().IsNotFound()) return existing.status();
  // A generated id of the other store: ours continue above it.
  if (IsGeneratedId(job.id) && job.id.size() <= 19) {
    HERALD_RETURN_IF_ERROR(sequence_->SkipPast(std::stoull(job.id)));
  }
  HERALD_ASSIGN_OR_RETURN(std::uint64_t seq, sequence_->Allocate(1));
  Change c;
  c.job = std::move(job);
  c.job.seq = seq;
  c.job.queue = qs->name();
  c.job.custom_id = !IsGeneratedId(c.job.id);
  if (c.job.state == JobState::kActive) {
    // Its lease belonged to the other store: waiting, as a restart makes it.
    c.job.state = JobState::kWaiting;
  }
  c.new_key = keys::IndexKeyOf(c.job);
  rocksdb::WriteBatch batch(kBatchHeaderBytes + kBatchBytesPerJob + c.job.payload.size());
  AddToBatch(&batch, qs->cf(), database_->jobs(), c);
  HERALD_RETURN_IF_ERROR(database_->Write(&batch, "import into " + qs->name()));
  {
    MutexLock lock(&qs->mu());
    qs->Apply(c);
    scanner_->KeepDelayedHeadLoaded(qs);
  }
  return AddResult{c.job.id, true, c.job.state};
}

Result<AddResult> JobAdder::Add(std::string_view queue, NewJob job, std::int64_t now_ms) {
  std::vector<NewJob> jobs;
  jobs.push_back(std::move(job));
  HERALD_ASSIGN_OR_RETURN(std::vector<AddResult> results, AddMany(queue, std::move(jobs), now_ms));
  return std::move(results.front());
}

Result<std::vector<AddResult>> JobAdder::AddMany(std::string_view queue, std::vector<NewJob> jobs,
                                                 std::int64_t now_ms) {
  HERALD_ASSIGN_OR_RETURN(std::unique_ptr<PlannedAdd> plan,
                          PlanAdd(queue, std::move(jobs), now_ms));
  if (plan->changes.empty()) return std::move(plan->results);
  Status written = database_->Write(&plan->batch, "add to " + plan->qs->name());
  return FinishAdd(plan.get(), std::move(written));
}

void JobAdder::AddAsync(std::string_view queue, NewJob job, std::int64_t now_ms,
                        std::function<void(Result<AddResult>)> done) {
  std::vector<NewJob> jobs;
  jobs.push_back(std::move(job));
  WalSyncer* wal_syncer = database_->wal_syncer();
  if (wal_syncer == nullptr) {  // nothing to wait for but the write itself
    auto added = AddMany(queue, std::move(jobs), now_ms);
    if (!added.ok()) return done(added.status());
    return done(std::move(added->front()));
  }
  auto planned = PlanAdd(queue, std::move(jobs), now_ms);
  if (!planned.ok()) return done(planned.status());
  std::shared_ptr<PlannedAdd> plan = std::move(*planned);
  if (plan->changes.empty()) return done(std::move(plan->results.front()));
  wal_syncer->CommitAsync(std::move(plan->batch), [this, plan, done = std::move(done)](Status s) {
    auto added = FinishAdd(plan.get(), s.WithPrefix("add to " + plan->qs->name()));
    // The ids are free before `done` runs: it may add the same id again (IdLocks don't nest).
    plan->guard = IdLocks::Guard();
    plan->generated_guard = IdLocks::Guard();
    if (!added.ok()) return done(added.status());
    done(std::move(added->front()));
  });
}

Result<std::vector<AddResult>> JobAdder::FinishAdd(PlannedAdd* plan, Status written) {
  HERALD_RETURN_IF_ERROR(written);
  QueueState* qs = plan->qs;
  MutexLock lock(&qs->mu());
  for (const auto& c : plan->changes) qs->Apply(c);
  scanner_->KeepDelayedHeadLoaded(qs);
  return std::move(plan->results);
}

Result<std::unique_ptr<JobAdder::PlannedAdd>> JobAdder::PlanAdd(std::string_view queue,
                                                                std::vector<NewJob> jobs,
                                                                std::int64_t now_ms) {
  auto plan = std::make_unique<PlannedAdd>();
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, registry_->Require(queue));
  plan->qs = qs;
  for (const auto& job : jobs) HERALD_RETURN_IF_ERROR(ValidateNewJob(job));
  std::vector<AddResult>& results = plan->results;
  results.resize(jobs.size());
  if (jobs.empty()) return plan;

  // Custom ids: held for the whole add, so two adds of one id can't both create it.
  std::vector<std::string> custom;
  for (const auto& job : jobs) {
    if (!job.id.empty()) custom.push_back(job.id);
  }
  if (!custom.empty()) plan->guard = id_locks_->LockMany(custom);

  std::vector<bool> create(jobs.size(), true);
  std::unordered_map<std::string, JobState> known;  // ids existing or created by this call
  std::uint64_t n_new = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const std::string& id = jobs[i].id;
    if (!id.empty()) {
      auto seen = known.find(id);
      if (seen != known.end()) {
        results[i] = AddResult{id, false, seen->second};
        create[i] = false;
        continue;
      }
      Result<Job> existing = reader_->Read(id);
      if (existing.ok()) {
        results[i] = AddResult{id, false, existing->state};
        known.emplace(id, existing->state);
        create[i] = false;
        continue;
      }
      if (!existing.status().IsNotFound()) return existing.status();
      known.emplace(id, jobs[i].due_ms > now_ms ? JobState::kDelayed : JobState::kWaiting);
    }
    ++n_new;
  }
  if (n_new == 0) return plan;

  HERALD_ASSIGN_OR_RETURN(std::uint64_t seq, sequence_->Allocate(n_new));
  std::size_t batch_bytes = kBatchHeaderBytes;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (create[i])
      batch_bytes +=
          jobs[i].payload.size() + jobs[i].id.size() + jobs[i].name.size() + kBatchBytesPerJob;
  }
  rocksdb::WriteBatch& batch = plan->batch;
  batch = rocksdb::WriteBatch(batch_bytes);
  std::vector<Change>& changes = plan->changes;
  changes.reserve(static_cast<std::size_t>(n_new));
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (!create[i]) continue;
    NewJob& in = jobs[i];
    Change c;
    Job& job = c.job;
    job.seq = seq++;
    job.custom_id = !in.id.empty();
    job.id = job.custom_id ? std::move(in.id) : std::to_string(job.seq);
    job.queue = qs->name();
    job.payload = std::move(in.payload);
    job.name = std::move(in.name);
    job.priority = in.priority;
    job.max_attempts = in.max_attempts;
    job.backoff_type = in.backoff_type;
    job.backoff_ms = in.backoff_ms;
    job.created_ms = now_ms;
    if (in.due_ms > now_ms) {
      job.state = JobState::kDelayed;
      job.due_ms = in.due_ms;
    }
    c.new_key = keys::IndexKeyOf(job);
    AddToBatch(&batch, qs->cf(), database_->jobs(), c);
    results[i] = AddResult{job.id, true, job.state};
    changes.push_back(std::move(c));
  }
  std::vector<std::string> generated;
  for (const Change& c : changes) {
    if (!c.job.custom_id) generated.push_back(c.job.id);
  }
  // Nobody knows these ids before the write: the locks are free.
  if (!generated.empty()) plan->generated_guard = id_locks_->LockMany(std::move(generated));
  return plan;
}

}  // namespace herald::storage
