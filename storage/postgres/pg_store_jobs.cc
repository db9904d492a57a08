#include "storage/postgres/postgres_store_impl.h"

namespace herald::storage::postgres {

void PostgresStore::RunChangeGroup(const std::vector<JobChange*>& group) {
  std::vector<Asked> asked;  // transitions that go to the database
  std::vector<std::string> ids;
  {
    std::unordered_set<std::string_view> seen;
    for (JobChange* change : group) {
      change->results.clear();
      for (std::size_t i = 0; i < change->transitions.size(); ++i) {
        const std::string& id = change->transitions[i].id;
        if (!seen.insert(id).second) {
          change->results.emplace_back(Status::InvalidArgument("job " + id + " given twice"));
          continue;
        }
        change->results.emplace_back(Status::Internal("transition not planned"));
        asked.push_back(Asked{change, i});
        ids.push_back(id);
      }
    }
  }
  std::unordered_set<const JobChange*> wrote;  // changes with a transition written
  bool unknown = false;
  Status s = InTransaction(
      [&](PgConnection& c) {
        wrote.clear();
        for (JobChange* change : group) change->taken = std::vector<Job>();
        HERALD_RETURN_IF_ERROR(TransitionRows(c, asked, ids, &wrote));
        HERALD_RETURN_IF_ERROR(TakeRows(c, group, wrote));
        return Status::Ok();
      },
      &unknown);
  NoteWrite(s);
  if (s.ok()) return;
  for (const Asked& a : asked) {
    Result<Job>& r = a.change->results[a.index];
    if (r.ok() || r.status().code() == Status::Code::kInternal) r = s;
  }
  for (JobChange* change : group) {
    if (unknown && change->taken.ok()) NoteUnconfirmedTakes(*change->taken);
    if (change->take) change->taken = s;
  }
}

Status PostgresStore::TransitionRows(PgConnection& c, const std::vector<Asked>& asked,
                                     const std::vector<std::string>& ids,
                                     std::unordered_set<const JobChange*>* wrote) {
  if (asked.empty()) return Status::Ok();
  // Row locks in id order, so that two groups of the same jobs never deadlock.
  HERALD_ASSIGN_OR_RETURN(PgResult rows,
                          c.Exec("SELECT id, record, lease_node FROM herald_jobs WHERE id = "
                                 "ANY($1::bytea[]) ORDER BY id FOR UPDATE",
                                 PgParams().BytesArray(ids)));
  HERALD_ASSIGN_OR_RETURN(std::vector<Job> found, JobsOf(rows));
  std::unordered_map<std::string_view, Job*> by_id;
  std::unordered_map<std::string_view, std::string_view> holder;  // active job -> its node
  for (std::size_t k = 0; k < found.size(); ++k) {
    by_id.emplace(found[k].id, &found[k]);
    holder.emplace(found[k].id, rows.Bytes(static_cast<int>(k), 2));
  }
  std::vector<const Job*> kept;
  std::vector<std::string> removed;
  std::map<std::string, std::int64_t> completing;
  for (const Asked& a : asked) {
    const JobTransition& t = a.change->transitions[a.index];
    Result<Job>& result = a.change->results[a.index];
    auto it = by_id.find(t.id);
    if (it == by_id.end()) {
      result = Status::NotFound("job " + t.id + " not found");
      continue;
    }
    Job& job = *it->second;
    if (t.from && job.state != *t.from) {
      result = WrongState(job, *t.from);
      continue;
    }
    if (t.from == JobState::kActive && holder[job.id] != pg_options_.node) {
      result = Status::InvalidArgument("job " + job.id + " is held by node " +
                                       std::string(holder[job.id]) + ", not by this one (" +
                                       pg_options_.node + ")");
      continue;
    }
    t.edit(job);
    if (t.remove) {
      removed.push_back(job.id);
    } else {
      kept.push_back(&job);
      if (job.state == JobState::kCompleted) ++completing[job.queue];
    }
    wrote->insert(a.change);
    result = job;
  }
  HERALD_RETURN_IF_ERROR(UpdateJobs(&c, kept, pg_options_.node));
  HERALD_RETURN_IF_ERROR(DeleteJobs(&c, removed));
  for (const auto& [queue, n] : completing) HERALD_RETURN_IF_ERROR(PruneCompleted(c, queue, n));
  return Status::Ok();
}

Status PostgresStore::TakeRows(PgConnection& c, const std::vector<JobChange*>& group,
                               const std::unordered_set<const JobChange*>& wrote) {
  // The takes of one queue are one statement; the jobs go to the changes in group order.
  std::vector<std::string_view> queues;
  std::map<std::string_view, std::vector<JobChange*>> takers;
  for (JobChange* change : group) {
    if (!change->take || change->take->max == 0) continue;
    if (change->take_when == TakeWhen::kAfterAWrite && wrote.count(change) == 0) continue;
    std::vector<JobChange*>& of_queue = takers[change->take->queue];
    if (of_queue.empty()) queues.push_back(change->take->queue);
    of_queue.push_back(change);
  }
  for (std::string_view queue : queues) {
    const std::vector<JobChange*>& of_queue = takers[queue];
    std::size_t wanted = 0;
    for (const JobChange* change : of_queue) wanted += change->take->max;
    HERALD_ASSIGN_OR_RETURN(
        PgResult rows,
        c.Exec("SELECT id, record FROM herald_jobs WHERE queue = $1 AND state = 1 ORDER BY "
               "priority, seq LIMIT $2 FOR UPDATE SKIP LOCKED",
               PgParams().Text(queue).Int64(static_cast<std::int64_t>(wanted))));
    HERALD_ASSIGN_OR_RETURN(std::vector<Job> jobs, JobsOf(rows));
    std::vector<const Job*> taken;
    std::size_t next = 0;
    for (JobChange* change : of_queue) {
      std::vector<Job>& mine = *change->taken;
      for (std::size_t n = 0; n < change->take->max && next < jobs.size(); ++n, ++next) {
        TakeJob(&jobs[next], change->take->now_ms, change->take->worker);
        mine.push_back(jobs[next]);
      }
      for (const Job& job : mine) taken.push_back(&job);
    }
    HERALD_RETURN_IF_ERROR(UpdateJobs(&c, taken, pg_options_.node));
  }
  return Status::Ok();
}

Status PostgresStore::PruneCompleted(PgConnection& c, const std::string& queue,
                                     std::int64_t completed) {
  {
    MutexLock lock(&prune_mu_);
    std::int64_t& since = since_prune_[queue];
    since += completed;
    // Deletes go in groups (as the embedded store's): at most `slack` beyond the retention.
    if (completed > 0 && since <= prune_slack_) return Status::Ok();
    since = 0;
  }
  c.Defer(
      "DELETE FROM herald_jobs WHERE id IN (SELECT id FROM herald_jobs WHERE queue = $1 AND "
      "state = 4 ORDER BY finished_ms DESC, seq DESC OFFSET $2 FOR UPDATE SKIP LOCKED)",
      PgParams().Text(queue).Int64(pg_options_.completed_retention));
  return Status::Ok();
}

Result<std::uint64_t> PostgresStore::RetryAllFailed(std::string_view queue, std::int64_t /*now_ms*/,
                                                    std::vector<Job>* retried) {
  HERALD_RETURN_IF_ERROR(RequireQueue(queue));
  // Stop at the last failed job present now, so a stream of new failures can't keep this going.
  HERALD_ASSIGN_OR_RETURN(
      PgResult last,
      Query("SELECT finished_ms, seq FROM herald_jobs WHERE queue = $1 AND state = 5 ORDER BY "
            "finished_ms DESC, seq DESC LIMIT 1",
            PgParams().Text(queue)));
  if (last.rows() == 0) return std::uint64_t{0};
  const std::int64_t last_finished = last.Int64(0, 0);
  const std::int64_t last_seq = last.Int64(0, 1);
  std::uint64_t total = 0;
  while (true) {
    std::vector<Job> jobs;
    Status s = InTransaction([&](PgConnection& c) {
      HERALD_ASSIGN_OR_RETURN(
          PgResult rows,
          c.Exec("SELECT id, record FROM herald_jobs WHERE queue = $1 AND state = 5 AND "
                 "(finished_ms, seq) <= ($2, $3) ORDER BY finished_ms, seq LIMIT $4 FOR UPDATE "
                 "SKIP LOCKED",
                 PgParams()
                     .Text(queue)
                     .Int64(last_finished)
                     .Int64(last_seq)
                     .Int64(static_cast<std::int64_t>(kChunk))));
      HERALD_ASSIGN_OR_RETURN(jobs, JobsOf(rows));
      for (Job& job : jobs) RetryFailedJob(&job);
      return UpdateJobs(&c, PointersTo(jobs), pg_options_.node);
    });
    NoteWrite(s);
    HERALD_RETURN_IF_ERROR(s);
    total += jobs.size();
    if (retried != nullptr) std::move(jobs.begin(), jobs.end(), std::back_inserter(*retried));
    if (jobs.size() < kChunk) break;
  }
  return total;
}

Result<std::uint64_t> PostgresStore::PromoteDue(std::string_view queue, std::int64_t now_ms,
                                                std::uint64_t limit, std::vector<Job>* promoted) {
  HERALD_RETURN_IF_ERROR(RequireQueue(queue));
  std::uint64_t total = 0;
  while (total < limit) {
    const std::uint64_t want = std::min<std::uint64_t>(kChunk, limit - total);
    std::vector<Job> jobs;
    Status s = InTransaction([&](PgConnection& c) {
      HERALD_ASSIGN_OR_RETURN(
          PgResult rows,
          c.Exec("SELECT id, record FROM herald_jobs WHERE queue = $1 AND state = 3 AND due_ms "
                 "<= $2 ORDER BY due_ms, seq LIMIT $3 FOR UPDATE SKIP LOCKED",
                 PgParams().Text(queue).Int64(now_ms).Int64(static_cast<std::int64_t>(want))));
      HERALD_ASSIGN_OR_RETURN(jobs, JobsOf(rows));
      for (Job& job : jobs) job.state = JobState::kWaiting;
      return UpdateJobs(&c, PointersTo(jobs), pg_options_.node);
    });
    NoteWrite(s);
    HERALD_RETURN_IF_ERROR(s);
    total += jobs.size();
    const bool short_chunk = jobs.size() < want;
    if (promoted != nullptr) std::move(jobs.begin(), jobs.end(), std::back_inserter(*promoted));
    if (short_chunk) break;
  }
  return total;
}

Result<std::uint64_t> PostgresStore::Clean(std::string_view queue, JobState state,
                                           std::int64_t older_than_ms, std::uint64_t limit,
                                           std::vector<Job>* cleaned) {
  if (state == JobState::kActive) {
    return Status::InvalidArgument("active jobs can't be cleaned (they are being worked on)");
  }
  HERALD_RETURN_IF_ERROR(RequireQueue(queue));
  // The time each state is aged by: created (waiting), due (delayed), finished (the others).
  const std::string column = state == JobState::kWaiting   ? "created_ms"
                             : state == JobState::kDelayed ? "due_ms"
                                                           : "finished_ms";
  const std::string sql =
      "SELECT id, record FROM herald_jobs WHERE queue = $1 AND state = $2 AND " + column +
      " <= $3 ORDER BY " + column + ", seq LIMIT $4 FOR UPDATE SKIP LOCKED";
  std::uint64_t removed = 0;
  while (removed < limit) {
    const std::uint64_t want = std::min<std::uint64_t>(kChunk, limit - removed);
    std::vector<Job> jobs;
    Status s = InTransaction([&](PgConnection& c) {
      HERALD_ASSIGN_OR_RETURN(PgResult rows,
                              c.Exec(sql, PgParams()
                                              .Text(queue)
                                              .Int16(static_cast<std::int16_t>(state))
                                              .Int64(older_than_ms)
                                              .Int64(static_cast<std::int64_t>(want))));
      HERALD_ASSIGN_OR_RETURN(jobs, JobsOf(rows));
      std::vector<std::string> ids;
      for (const Job& job : jobs) ids.push_back(job.id);
      return DeleteJobs(&c, ids);
    });
    NoteWrite(s);
    HERALD_RETURN_IF_ERROR(s);
    removed += jobs.size();
    const bool short_chunk = jobs.size() < want;
    if (cleaned != nullptr) std::move(jobs.begin(), jobs.end(), std::back_inserter(*cleaned));
    if (short_chunk) break;
  }
  return removed;
}

}  // namespace herald::storage::postgres
