#include "storage/postgres/postgres_store.h"

#include "storage/postgres/postgres_store_impl.h"

namespace herald::storage::postgres {

Status PostgresStore::InTransaction(const std::function<Status(PgConnection&)>& body,
                                    bool* outcome_unknown) const {
  Status s;
  for (int attempt = 1; attempt <= kTransactionTries; ++attempt) {
    Result<PgPool::Lease> lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    PgConnection& c = **lease;
    c.Begin();  // sent with the body's first statement
    s = body(c);
    if (s.ok()) {
      s = c.Commit();  // with the statements the body held (PgConnection::Defer)
      // A COMMIT without an answer may or may not have happened: an error, never "done".
      if (!s.ok() && c.broken()) {
        if (outcome_unknown != nullptr) *outcome_unknown = true;
        return Status::IOError(
            "postgres: the connection was lost during a commit; its outcome is unknown (" +
            s.message() + ")");
      }
      if (s.ok() || !s.IsBusy()) return s;
      continue;
    }
    // A connection lost before COMMIT: nothing happened; the next try makes a new one.
    if (c.broken()) continue;
    c.Rollback();  // the body's error is the one to report
    if (!s.IsBusy()) return s;
  }
  return s;
}

Result<PgResult> PostgresStore::Query(std::string_view sql, const PgParams& params) const {
  HERALD_ASSIGN_OR_RETURN(PgPool::Lease lease, pool_.Acquire());
  return lease->Exec(sql, params);
}

Status PostgresStore::Start() {
  const std::int64_t now_ms = WallClockMs();
  {
    HERALD_ASSIGN_OR_RETURN(PgPool::Lease lease, pool_.Acquire());
    HERALD_RETURN_IF_ERROR(MigrateSchema(&*lease, now_ms));
    HERALD_RETURN_IF_ERROR(ClaimClusterPlace(
        &*lease, ClusterPlace{pg_options_.cluster_name,
                              static_cast<std::int32_t>(pg_options_.cluster_position),
                              static_cast<std::int32_t>(pg_options_.clusters)}));
    HERALD_ASSIGN_OR_RETURN(PgResult sync,
                            lease->Exec("SELECT current_setting('synchronous_commit')"));
    std::string mode(sync.rows() == 1 ? sync.Bytes(0, 0) : "");
    if (mode == "off" || mode == "local") {
      log_->warn(
          "store: synchronous_commit is {} on {}: a commit may be lost with the server (or "
          "its replicas) before it is on disk",
          mode, lease->server());
    }
    log_->info("store: postgres at {}, schema version {}", lease->server(), kSchemaVersion);
  }
  HERALD_RETURN_IF_ERROR(
      Write("INSERT INTO herald_nodes (name, heartbeat_ms, started_ms) VALUES ($1, $2, $2) ON "
            "CONFLICT (name) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms, started_ms = "
            "excluded.started_ms",
            PgParams().Text(pg_options_.node).Int64(now_ms)));
  HERALD_RETURN_IF_ERROR(ReadQueues().status());
  HERALD_RETURN_IF_ERROR(Recover(now_ms));
  HERALD_RETURN_IF_ERROR(TrimCompleted());
  batcher_ = std::make_unique<AddBatcher>(
      [this](std::vector<PendingAdd>* group) { RunAddGroup(group); }, kMaxPendingAdds);
  NodeWatch::Hooks hooks;
  hooks.notified = [this](std::string_view payload) { Deliver(payload); };
  hooks.missed = [this] {
    for (const std::string& queue : ListQueues()) Deliver("\n" + queue + "\n0");
  };
  hooks.beat = [this](std::int64_t beat_ms) {
    Status beat = Write("UPDATE herald_nodes SET heartbeat_ms = $2 WHERE name = $1",
                        PgParams().Text(pg_options_.node).Int64(beat_ms));
    if (beat.ok()) PutBackUnconfirmedTakes(beat_ms);
    return beat;
  };
  hooks.sweep = [this](std::int64_t sweep_ms) { SweepStoppedNodes(sweep_ms); };
  watch_ = std::make_unique<NodeWatch>(pg_options_.conninfo, pg_options_.heartbeat_ms,
                                       pg_options_.node_timeout_ms, std::move(hooks), log_);
  return Status::Ok();
}

std::optional<std::int64_t> PostgresStore::NextDue(std::string_view queue) const {
  Result<PgResult> rows =
      Query("SELECT min(due_ms)::int8 FROM herald_jobs WHERE queue = $1 AND state = 3",
            PgParams().Text(queue));
  if (!rows.ok()) {
    // The scheduler asks again; the outage shows in the calls that fail and in readiness.
    log_->debug("store: next due time of {}: {}", queue, rows.status().ToString());
    return std::nullopt;
  }
  if (rows->rows() == 0 || rows->IsNull(0, 0)) return std::nullopt;
  return rows->Int64(0, 0);
}

Result<QueueCounts> PostgresStore::Counts(std::string_view queue) const {
  HERALD_ASSIGN_OR_RETURN(PgResult paused, Query("SELECT paused FROM herald_queues WHERE name = $1",
                                                 PgParams().Text(queue)));
  if (paused.rows() == 0) return UnknownQueue(queue);
  QueueCounts counts;
  counts.paused = paused.Bool(0, 0);
  HERALD_ASSIGN_OR_RETURN(PgResult rows,
                          Query("SELECT state, count(*)::int8 FROM herald_jobs WHERE queue = $1 "
                                "GROUP BY state",
                                PgParams().Text(queue)));
  for (int r = 0; r < rows.rows(); ++r) {
    const auto n = static_cast<std::uint64_t>(rows.Int64(r, 1));
    switch (static_cast<JobState>(rows.Int16(r, 0))) {
      case JobState::kWaiting:
        counts.waiting = n;
        break;
      case JobState::kActive:
        counts.active = n;
        break;
      case JobState::kDelayed:
        counts.delayed = n;
        break;
      case JobState::kCompleted:
        counts.completed = n;
        break;
      case JobState::kFailed:
        counts.failed = n;
        break;
    }
  }
  return counts;
}

Result<JobPage> PostgresStore::List(std::string_view queue, JobState state, std::string_view cursor,
                                    std::uint32_t count) const {
  HERALD_RETURN_IF_ERROR(RequireQueue(queue));
  count = std::clamp<std::uint32_t>(count, 1, 10000);
  const StateOrder order = OrderOf(state);
  // The cursor is the next job's place: its first ordering column (if any) and seq, as be64s.
  const std::size_t cursor_bytes = order.first.empty() ? 8 : 16;
  std::optional<std::pair<std::int64_t, std::int64_t>> from;
  if (!cursor.empty()) {
    std::optional<std::string> raw = keys::FromHex(cursor);
    if (!raw || raw->size() != cursor_bytes) return Status::InvalidArgument("invalid cursor");
    const auto first =
        static_cast<std::int64_t>(order.first.empty() ? 0 : keys::LoadBe64(raw->data()));
    const auto seq = static_cast<std::int64_t>(keys::LoadBe64(raw->data() + cursor_bytes - 8));
    from.emplace(first, seq);
  }
  const std::string first = order.first.empty() ? "0::int8" : std::string(order.first);
  std::string sql =
      "SELECT id, record, " + first + ", seq FROM herald_jobs WHERE queue = $1 AND state = $2";
  PgParams params;
  params.Text(queue).Int16(static_cast<std::int16_t>(state));
  if (from) {
    sql += " AND (" + first + ", seq) " + (order.newest_first ? "<=" : ">=") + " ($3, $4)";
    params.Int64(from->first).Int64(from->second);
  }
  const std::string dir = order.newest_first ? " DESC" : "";
  sql += " ORDER BY " + first + dir + ", seq" + dir + " LIMIT " + std::to_string(count + 1);
  HERALD_ASSIGN_OR_RETURN(PgResult rows, Query(sql, params));
  HERALD_ASSIGN_OR_RETURN(std::vector<Job> jobs, JobsOf(rows));
  JobPage page;
  if (jobs.size() > count) {
    const int next = static_cast<int>(count);
    std::string raw;
    if (!order.first.empty()) keys::PutBe64(&raw, static_cast<std::uint64_t>(rows.Int64(next, 2)));
    keys::PutBe64(&raw, static_cast<std::uint64_t>(rows.Int64(next, 3)));
    page.next_cursor = keys::ToHex(raw);
    jobs.resize(count);
  }
  page.jobs = std::move(jobs);
  return page;
}

}  // namespace herald::storage::postgres

namespace herald::storage {

Result<std::unique_ptr<Store>> OpenPostgresStore(PostgresStoreOptions options) {
  if (options.conninfo.empty()) {
    return Status::InvalidArgument("the postgres store backend needs a connection string");
  }
  if (options.node.empty()) return Status::InvalidArgument("the store's node name is empty");
  if (options.cluster_name.empty() || options.clusters < 1 ||
      options.clusters > kMaxPostgresClusters || options.cluster_position >= options.clusters) {
    return Status::InvalidArgument(
        "a cluster needs a name and a position below the number of "
        "clusters (1 to " +
        std::to_string(kMaxPostgresClusters) + ")");
  }
  if (options.logger == nullptr) {
    return Status::InvalidArgument("PostgresStoreOptions::logger is null");
  }
  std::shared_ptr<spdlog::logger> log = options.logger;
  auto store = std::make_unique<postgres::PostgresStore>(std::move(options), std::move(log));
  HERALD_RETURN_IF_ERROR(store->Start());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace herald::storage
