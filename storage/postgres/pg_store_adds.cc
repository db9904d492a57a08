#include "storage/postgres/postgres_store_impl.h"

namespace herald::storage::postgres {

void PostgresStore::RunAddGroup(std::vector<PendingAdd>* group) {
  // A bad request fails alone, before the transaction that the others share.
  std::vector<std::size_t> live;
  for (std::size_t i = 0; i < group->size(); ++i) {
    PendingAdd& add = (*group)[i];
    Status valid = RequireQueue(add.queue);
    for (const NewJob& job : add.jobs) {
      if (!valid.ok()) break;
      valid = ValidateNewJob(job);
    }
    if (!valid.ok()) {
      add.done(std::move(valid));
      continue;
    }
    live.push_back(i);
  }
  if (live.empty()) return;
  std::vector<std::vector<AddResult>> results;
  Status s = InTransaction([&](PgConnection& c) { return InsertGroup(c, group, live, &results); });
  NoteWrite(s);
  for (std::size_t i : live) {
    PendingAdd& add = (*group)[i];
    if (!s.ok()) {
      add.done(s.WithPrefix("add to " + add.queue));
    } else {
      add.done(std::move(results[i]));
    }
  }
}

Status PostgresStore::InsertGroup(PgConnection& c, std::vector<PendingAdd>* group,
                                  const std::vector<std::size_t>& live,
                                  std::vector<std::vector<AddResult>>* results) {
  results->assign(group->size(), {});
  // The callers' ids that exist already, and their states.
  std::vector<std::string> custom;
  for (std::size_t i : live) {
    for (const NewJob& job : (*group)[i].jobs) {
      if (!job.id.empty()) custom.push_back(job.id);
    }
  }
  std::unordered_map<std::string, JobState> known;  // ids existing or created by this group
  if (!custom.empty()) {
    HERALD_ASSIGN_OR_RETURN(PgResult rows,
                            c.Exec("SELECT id, state FROM herald_jobs WHERE id = ANY($1::bytea[])",
                                   PgParams().BytesArray(custom)));
    for (int r = 0; r < rows.rows(); ++r) {
      known.emplace(std::string(rows.Bytes(r, 0)), static_cast<JobState>(rows.Int16(r, 1)));
    }
  }
  // Which jobs are new, in order; then their sequence numbers, in one round trip.
  struct Planned {
    std::size_t add, index;
  };
  std::vector<Planned> planned;
  for (std::size_t i : live) {
    PendingAdd& add = (*group)[i];
    std::vector<AddResult>& out = (*results)[i];
    out.resize(add.jobs.size());
    for (std::size_t j = 0; j < add.jobs.size(); ++j) {
      const NewJob& job = add.jobs[j];
      if (!job.id.empty()) {
        auto seen = known.find(job.id);
        if (seen != known.end()) {
          out[j] = AddResult{job.id, false, seen->second};
          continue;
        }
        known.emplace(job.id, job.due_ms > add.now_ms ? JobState::kDelayed : JobState::kWaiting);
      }
      planned.push_back(Planned{i, j});
    }
  }
  if (planned.empty()) return Status::Ok();
  HERALD_ASSIGN_OR_RETURN(PgResult seqs,
                          c.Exec("SELECT nextval('herald_job_seq') FROM generate_series(1, $1)",
                                 PgParams().Int64(static_cast<std::int64_t>(planned.size()))));
  std::vector<std::uint64_t> numbers;
  for (int r = 0; r < seqs.rows(); ++r)
    numbers.push_back(static_cast<std::uint64_t>(seqs.Int64(r, 0)));
  if (numbers.size() != planned.size()) return Status::Internal("postgres: short sequence");
  std::sort(numbers.begin(), numbers.end());
  std::vector<Job> jobs(planned.size());
  for (std::size_t k = 0; k < planned.size(); ++k) {
    PendingAdd& add = (*group)[planned[k].add];
    NewJob& in = add.jobs[planned[k].index];
    Job& job = jobs[k];
    job.seq = numbers[k];
    job.custom_id = !in.id.empty();
    job.id = job.custom_id ? in.id : GeneratedId(job.seq);
    job.queue = add.queue;
    job.payload = in.payload;
    job.name = in.name;
    job.priority = in.priority;
    job.max_attempts = in.max_attempts;
    job.backoff_type = in.backoff_type;
    job.backoff_ms = in.backoff_ms;
    job.created_ms = add.now_ms;
    if (in.due_ms > add.now_ms) {
      job.state = JobState::kDelayed;
      job.due_ms = in.due_ms;
    }
  }
  HERALD_ASSIGN_OR_RETURN(std::vector<std::string> inserted,
                          InsertJobs(&c, PointersTo(jobs), pg_options_.node));
  std::unordered_set<std::string> made(inserted.begin(), inserted.end());
  // A caller's id that another node inserted meanwhile: that job is the one reported.
  std::vector<std::string> raced;
  for (const Job& job : jobs) {
    if (made.count(job.id) == 0) raced.push_back(job.id);
  }
  std::unordered_map<std::string, JobState> raced_states;
  if (!raced.empty()) {
    HERALD_ASSIGN_OR_RETURN(PgResult rows,
                            c.Exec("SELECT id, state FROM herald_jobs WHERE id = ANY($1::bytea[])",
                                   PgParams().BytesArray(raced)));
    for (int r = 0; r < rows.rows(); ++r) {
      raced_states.emplace(std::string(rows.Bytes(r, 0)), static_cast<JobState>(rows.Int16(r, 1)));
    }
  }
  for (std::size_t k = 0; k < planned.size(); ++k) {
    const Job& job = jobs[k];
    AddResult& out = (*results)[planned[k].add][planned[k].index];
    if (made.count(job.id) > 0) {
      out = AddResult{job.id, true, job.state};
    } else {
      auto it = raced_states.find(job.id);
      out = AddResult{job.id, false, it != raced_states.end() ? it->second : job.state};
    }
  }
  return Status::Ok();
}

Status PostgresStore::ContinueIdsAbove(PgConnection& c, std::string_view id) {
  if (!IsGeneratedId(id) || id.size() > 18) return Status::Ok();
  const std::int64_t number = std::stoll(std::string(id));
  if (number <= 0) return Status::Ok();
  // Ids are seq * clusters + position >= seq: a seq above the id is enough.
  return c
      .Exec(
          "SELECT setval('herald_job_seq', greatest($1, (SELECT CASE WHEN is_called THEN "
          "last_value ELSE last_value - 1 END FROM herald_job_seq), 1))",
          PgParams().Int64(number))
      .status();
}

Result<AddResult> PostgresStore::Import(std::string_view queue, Job job) {
  HERALD_RETURN_IF_ERROR(RequireQueue(queue));
  HERALD_RETURN_IF_ERROR(ValidateImportedJob(job));
  AddResult result;
  Status s = InTransaction([&](PgConnection& c) {
    HERALD_ASSIGN_OR_RETURN(
        PgResult rows,
        c.Exec("SELECT state FROM herald_jobs WHERE id = $1 FOR UPDATE", PgParams().Bytes(job.id)));
    if (rows.rows() == 1) {
      result = AddResult{job.id, false, static_cast<JobState>(rows.Int16(0, 0))};
      return Status::Ok();
    }
    // A generated id of the other store: ours continue above it.
    HERALD_RETURN_IF_ERROR(ContinueIdsAbove(c, job.id));
    HERALD_ASSIGN_OR_RETURN(PgResult seq, c.Exec("SELECT nextval('herald_job_seq')"));
    Job copy = job;
    copy.seq = static_cast<std::uint64_t>(seq.Int64(0, 0));
    copy.queue = std::string(queue);
    copy.custom_id = !IsGeneratedId(copy.id);
    // Its lease belonged to the other store: waiting, as a restart makes it.
    if (copy.state == JobState::kActive) copy.state = JobState::kWaiting;
    HERALD_ASSIGN_OR_RETURN(std::vector<std::string> inserted,
                            InsertJobs(&c, {&copy}, pg_options_.node));
    result = AddResult{copy.id, !inserted.empty(), copy.state};
    return Status::Ok();
  });
  NoteWrite(s);
  HERALD_RETURN_IF_ERROR(s);
  return result;
}

}  // namespace herald::storage::postgres
