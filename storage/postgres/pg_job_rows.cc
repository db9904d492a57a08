#include "storage/postgres/pg_job_rows.h"

#include <algorithm>
#include <cstdint>
#include <map>

namespace herald::storage::postgres {
namespace {

// The columns of `jobs` as arrays, in the order of kRowColumns below.
struct JobArrays {
  std::vector<std::string> ids, queues, leases, records;
  std::vector<std::int16_t> states;
  std::vector<std::int64_t> priorities, seqs, dues, finished, created;
};

JobArrays ArraysOf(const std::vector<const Job*>& jobs, std::string_view node) {
  JobArrays a;
  for (const Job* job : jobs) {
    a.ids.push_back(job->id);
    a.queues.push_back(job->queue);
    a.states.push_back(static_cast<std::int16_t>(job->state));
    a.priorities.push_back(job->priority);
    a.seqs.push_back(static_cast<std::int64_t>(job->seq));
    a.dues.push_back(job->due_ms);
    a.finished.push_back(job->finished_ms);
    a.created.push_back(job->created_ms);
    a.leases.push_back(job->state == JobState::kActive ? std::string(node) : std::string());
    a.records.push_back(EncodeJob(*job));
  }
  return a;
}

}  // namespace

Result<std::vector<Job>> JobsOf(const PgResult& rows) {
  std::vector<Job> jobs;
  jobs.reserve(static_cast<std::size_t>(rows.rows()));
  for (int r = 0; r < rows.rows(); ++r) {
    std::string_view id = rows.Bytes(r, 0);
    Result<Job> job = DecodeJob(rows.Bytes(r, 1));
    if (!job.ok()) return job.status().WithPrefix("job " + std::string(id));
    if (job->id != id) {
      return Status::Corruption("job " + std::string(id) + ": its record names job " + job->id);
    }
    jobs.push_back(std::move(*job));
  }
  return jobs;
}

Result<std::vector<std::string>> InsertJobs(PgConnection* conn, const std::vector<const Job*>& jobs,
                                            std::string_view node) {
  if (jobs.empty()) return std::vector<std::string>();
  JobArrays a = ArraysOf(jobs, node);
  HERALD_ASSIGN_OR_RETURN(
      PgResult inserted,
      conn->Exec("INSERT INTO herald_jobs (id, queue, state, priority, seq, due_ms, finished_ms, "
                 "created_ms, lease_node, record) SELECT * FROM unnest($1::bytea[], $2::text[], "
                 "$3::int2[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[], "
                 "$9::text[], $10::bytea[]) ON CONFLICT (id) DO NOTHING RETURNING id",
                 PgParams()
                     .BytesArray(a.ids)
                     .TextArray(a.queues)
                     .Int16Array(a.states)
                     .Int64Array(a.priorities)
                     .Int64Array(a.seqs)
                     .Int64Array(a.dues)
                     .Int64Array(a.finished)
                     .Int64Array(a.created)
                     .TextArray(a.leases)
                     .BytesArray(a.records)));
  std::vector<std::string> ids;
  for (int r = 0; r < inserted.rows(); ++r) ids.emplace_back(inserted.Bytes(r, 0));
  HERALD_RETURN_IF_ERROR(NotifyWork(conn, jobs, node));
  return ids;
}

Status UpdateJobs(PgConnection* conn, const std::vector<const Job*>& jobs, std::string_view node) {
  if (jobs.empty()) return Status::Ok();
  JobArrays a = ArraysOf(jobs, node);
  conn->Defer(
      "UPDATE herald_jobs AS j SET state = u.state, priority = u.priority, due_ms = "
      "u.due_ms, finished_ms = u.finished_ms, lease_node = u.lease_node, record = "
      "u.record FROM unnest($1::bytea[], $2::int2[], $3::int8[], $4::int8[], $5::int8[], "
      "$6::text[], $7::bytea[]) AS u(id, state, priority, due_ms, finished_ms, "
      "lease_node, record) WHERE j.id = u.id",
      PgParams()
          .BytesArray(a.ids)
          .Int16Array(a.states)
          .Int64Array(a.priorities)
          .Int64Array(a.dues)
          .Int64Array(a.finished)
          .TextArray(a.leases)
          .BytesArray(a.records));
  return NotifyWork(conn, jobs, node);
}

Status NotifyWork(PgConnection* conn, const std::vector<const Job*>& jobs, std::string_view node) {
  std::map<std::string_view, std::int64_t> due;  // queue -> 0 (waiting) or the earliest due
  for (const Job* job : jobs) {
    if (job->state != JobState::kWaiting && job->state != JobState::kDelayed) continue;
    const std::int64_t at = job->state == JobState::kWaiting ? 0 : job->due_ms;
    auto [it, added] = due.emplace(job->queue, at);
    if (!added) it->second = std::min(it->second, at);
  }
  if (due.empty()) return Status::Ok();
  std::vector<std::string> payloads;
  for (const auto& [queue, at] : due) {
    payloads.push_back(std::string(node) + "\n" + std::string(queue) + "\n" + std::to_string(at));
  }
  conn->Defer("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p",
              PgParams().Text(kWorkChannel).TextArray(payloads));
  return Status::Ok();
}

Status DeleteJobs(PgConnection* conn, const std::vector<std::string>& ids) {
  if (ids.empty()) return Status::Ok();
  conn->Defer("DELETE FROM herald_jobs WHERE id = ANY($1::bytea[])", PgParams().BytesArray(ids));
  return Status::Ok();
}

}  // namespace herald::storage::postgres
