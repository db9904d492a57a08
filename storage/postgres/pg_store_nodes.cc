#include "storage/postgres/postgres_store_impl.h"

namespace herald::storage::postgres {

void PostgresStore::Deliver(std::string_view payload) {
  // "<node>\n<queue>\n<due_ms>" (pg_job_rows.h); a node's own writes are known to it.
  const std::size_t a = payload.find('\n');
  const std::size_t b = a == std::string_view::npos ? a : payload.find('\n', a + 1);
  if (b == std::string_view::npos) return;
  if (payload.substr(0, a) == pg_options_.node) return;
  const std::string_view queue = payload.substr(a + 1, b - a - 1);
  const std::int64_t due = std::strtoll(std::string(payload.substr(b + 1)).c_str(), nullptr, 10);
  {
    MutexLock lock(&queues_mu_);
    queues_.emplace(queue);
  }
  MutexLock lock(&listener_mu_);
  if (listener_) listener_(queue, due);
}

void PostgresStore::SweepStoppedNodes(std::int64_t now_ms) {
  Result<PgResult> stopped = Query(
      "SELECT n.name FROM herald_nodes AS n WHERE n.name <> $1 AND n.heartbeat_ms < $2 AND "
      "EXISTS (SELECT 1 FROM herald_jobs AS j WHERE j.state = 2 AND j.lease_node = n.name)",
      PgParams().Text(pg_options_.node).Int64(now_ms - pg_options_.node_timeout_ms));
  if (!stopped.ok()) return;
  for (int r = 0; r < stopped->rows(); ++r) {
    const std::string node(stopped->Bytes(r, 0));
    Result<std::uint64_t> put_back =
        PutBackJobsOf(node, "stalled: worker lost (node " + node + " stopped)", now_ms);
    if (put_back.ok() && *put_back > 0) {
      log_->warn("store: node {} stopped with {} active jobs; put back", node, *put_back);
    } else if (!put_back.ok()) {
      log_->error("store: {}", put_back.status().ToString());
    }
  }
}

void PostgresStore::NoteUnconfirmedTakes(const std::vector<Job>& jobs) {
  if (!jobs.empty()) {
    log_->warn(
        "store: the commit of a take of {} jobs went unanswered; they are put back once "
        "the database answers, if it happened",
        jobs.size());
  }
  MutexLock lock(&unconfirmed_mu_);
  for (const Job& job : jobs) unconfirmed_[job.id] = job.processed_ms;
}

void PostgresStore::PutBackUnconfirmedTakes(std::int64_t now_ms) {
  std::map<std::string, std::int64_t> takes;
  {
    MutexLock lock(&unconfirmed_mu_);
    takes.swap(unconfirmed_);
  }
  if (takes.empty()) return;
  std::vector<std::string> ids;
  for (const auto& [id, at] : takes) ids.push_back(id);
  std::vector<Job> put_back;
  Status s = InTransaction([&](PgConnection& c) {
    put_back.clear();
    HERALD_ASSIGN_OR_RETURN(
        PgResult rows,
        c.Exec("SELECT id, record FROM herald_jobs WHERE id = ANY($1::bytea[]) AND state = 2 AND "
               "lease_node = $2 ORDER BY id FOR UPDATE",
               PgParams().BytesArray(ids).Text(pg_options_.node)));
    HERALD_ASSIGN_OR_RETURN(std::vector<Job> jobs, JobsOf(rows));
    for (Job& job : jobs) {
      // Active from that very take (no other take of this node can have happened since: the
      // job stayed active), so nobody holds it.
      if (job.processed_ms != takes[job.id]) continue;
      PutBackStalled(&job, now_ms,
                     "stalled: its take was not confirmed (database connection lost)");
      put_back.push_back(std::move(job));
    }
    return UpdateJobs(&c, PointersTo(put_back), pg_options_.node);
  });
  NoteWrite(s);
  if (!s.ok()) {
    MutexLock lock(&unconfirmed_mu_);
    unconfirmed_.insert(takes.begin(), takes.end());  // again at the next heartbeat
    return;
  }
  if (!put_back.empty()) {
    log_->warn("store: {} jobs taken by a commit that went unanswered were put back",
               put_back.size());
  }
}

Result<std::uint64_t> PostgresStore::PutBackJobsOf(const std::string& node, std::string_view reason,
                                                   std::int64_t now_ms) {
  std::uint64_t total = 0;
  while (true) {
    std::size_t n = 0;
    Status s = InTransaction([&](PgConnection& c) {
      HERALD_ASSIGN_OR_RETURN(
          PgResult rows,
          c.Exec("SELECT id, record FROM herald_jobs WHERE state = 2 AND lease_node = $1 LIMIT "
                 "$2 FOR UPDATE SKIP LOCKED",
                 PgParams().Text(node).Int64(static_cast<std::int64_t>(kChunk))));
      HERALD_ASSIGN_OR_RETURN(std::vector<Job> jobs, JobsOf(rows));
      for (Job& job : jobs) PutBackStalled(&job, now_ms, reason);
      n = jobs.size();
      return UpdateJobs(&c, PointersTo(jobs), pg_options_.node);
    });
    NoteWrite(s);
    HERALD_RETURN_IF_ERROR(s.WithPrefix("put back the active jobs of node " + node));
    total += n;
    if (n < kChunk) break;
  }
  return total;
}

Status PostgresStore::Recover(std::int64_t now_ms) {
  HERALD_ASSIGN_OR_RETURN(recovered_active_,
                          PutBackJobsOf(pg_options_.node, kStalledAtRestart, now_ms));
  if (recovered_active_ > 0) {
    log_->warn("store: {} jobs were active when node {} stopped; put back", recovered_active_,
               pg_options_.node);
  }
  return Status::Ok();
}

void PostgresStore::MarkStopped() {
  Status s = Write("UPDATE herald_nodes SET heartbeat_ms = 0 WHERE name = $1",
                   PgParams().Text(pg_options_.node));
  if (!s.ok())
    log_->warn("store: could not mark node {} stopped: {}", pg_options_.node, s.ToString());
}

Status PostgresStore::TrimCompleted() {
  HERALD_ASSIGN_OR_RETURN(std::vector<std::string> queues, ReadQueues());
  for (const std::string& queue : queues) {
    HERALD_RETURN_IF_ERROR(
        InTransaction([&](PgConnection& c) { return PruneCompleted(c, queue, 0); }));
  }
  return Status::Ok();
}

}  // namespace herald::storage::postgres
