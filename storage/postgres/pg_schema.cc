#include "storage/postgres/pg_schema.h"

#include <string>
#include <string_view>

namespace herald::storage::postgres {
namespace {

// Taken while migrating: pg_advisory_xact_lock's key for "herald schema".
constexpr std::int64_t kMigrationLock = 0x6865726c64736368;

// Migration n (1-based) brings the schema from version n - 1 to n. Never edit one that has
// shipped: add the next.
constexpr std::string_view kMigrations[] = {
    // 1: queues, jobs, records, nodes.
    R"sql(
CREATE TABLE herald_queues (
  name text COLLATE "C" PRIMARY KEY,
  paused boolean NOT NULL DEFAULT false
);
CREATE SEQUENCE herald_job_seq MINVALUE 1;
CREATE TABLE herald_jobs (
  id bytea PRIMARY KEY,
  queue text COLLATE "C" NOT NULL REFERENCES herald_queues (name),
  state smallint NOT NULL,
  priority bigint NOT NULL,
  seq bigint NOT NULL,
  due_ms bigint NOT NULL,
  finished_ms bigint NOT NULL,
  created_ms bigint NOT NULL,
  lease_node text NOT NULL DEFAULT '',
  record bytea NOT NULL
);
CREATE INDEX herald_jobs_waiting ON herald_jobs (queue, priority, seq) WHERE state = 1;
CREATE INDEX herald_jobs_active ON herald_jobs (queue, seq) WHERE state = 2;
CREATE INDEX herald_jobs_delayed ON herald_jobs (queue, due_ms, seq) WHERE state = 3;
CREATE INDEX herald_jobs_completed ON herald_jobs (queue, finished_ms, seq) WHERE state = 4;
CREATE INDEX herald_jobs_failed ON herald_jobs (queue, finished_ms, seq) WHERE state = 5;
CREATE INDEX herald_jobs_created ON herald_jobs (queue, state, created_ms);
CREATE INDEX herald_jobs_leases ON herald_jobs (lease_node) WHERE state = 2;
CREATE TABLE herald_records (
  tbl smallint NOT NULL,
  key bytea NOT NULL,
  value bytea NOT NULL,
  PRIMARY KEY (tbl, key)
);
CREATE TABLE herald_nodes (
  name text PRIMARY KEY,
  heartbeat_ms bigint NOT NULL,
  started_ms bigint NOT NULL
);
)sql",
    // 2: the database's place in a map of several clusters (PostgresStoreOptions::cluster_*).
    R"sql(
CREATE TABLE herald_cluster (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  name text NOT NULL,
  position integer NOT NULL,
  clusters integer NOT NULL
);
)sql",
};

static_assert(std::size(kMigrations) == kSchemaVersion);

}  // namespace

Status MigrateSchema(PgConnection* conn, std::int64_t now_ms) {
  HERALD_RETURN_IF_ERROR(conn->Run("BEGIN"));
  auto fail = [&](Status s) {
    if (!conn->broken()) (void)conn->Run("ROLLBACK");  // the first error is the one to report
    return s;
  };
  Result<PgResult> locked =
      conn->Exec("SELECT pg_advisory_xact_lock($1)", PgParams().Int64(kMigrationLock));
  if (!locked.ok()) return fail(locked.status());
  Status made = conn->Run(
      "CREATE TABLE IF NOT EXISTS herald_migrations (version integer PRIMARY KEY, applied_ms "
      "bigint NOT NULL)");
  if (!made.ok()) return fail(made);
  Result<PgResult> current =
      conn->Exec("SELECT coalesce(max(version), 0)::int4 FROM herald_migrations");
  if (!current.ok()) return fail(current.status());
  const int version = current->Int32(0, 0);
  if (version > kSchemaVersion) {
    return fail(Status::InvalidArgument("the database's Herald schema is version " +
                                        std::to_string(version) + ", newer than this build's " +
                                        std::to_string(kSchemaVersion) +
                                        " (made by a newer Herald)"));
  }
  for (int next = version + 1; next <= kSchemaVersion; ++next) {
    Status applied = conn->Run(kMigrations[next - 1]);
    if (!applied.ok()) return fail(applied.WithPrefix("schema migration " + std::to_string(next)));
    Result<PgResult> noted =
        conn->Exec("INSERT INTO herald_migrations (version, applied_ms) VALUES ($1, $2)",
                   PgParams().Int32(next).Int64(now_ms));
    if (!noted.ok()) return fail(noted.status());
  }
  return conn->Run("COMMIT");
}

Status ClaimClusterPlace(PgConnection* conn, const ClusterPlace& place) {
  auto describe = [](const std::string& name, std::int32_t position, std::int32_t clusters) {
    return "'" + name + "' (" + std::to_string(position + 1) + " of " + std::to_string(clusters) +
           ")";
  };
  HERALD_ASSIGN_OR_RETURN(PgResult rows,
                          conn->Exec("SELECT name, position, clusters FROM herald_cluster"));
  if (rows.rows() == 0) {
    if (place.clusters > 1) {
      // Its generated ids were made without the map: another cluster's could be the same.
      HERALD_ASSIGN_OR_RETURN(PgResult jobs,
                              conn->Exec("SELECT EXISTS (SELECT 1 FROM herald_jobs)"));
      if (jobs.Bool(0, 0)) {
        return Status::InvalidArgument(
            "the database of cluster " + describe(place.name, place.position, place.clusters) +
            " holds jobs of a Herald without a cluster map; start the map on empty databases "
            "and move the jobs with herald export and herald import");
      }
    }
    HERALD_RETURN_IF_ERROR(
        conn->Exec("INSERT INTO herald_cluster (name, position, clusters) "
                   "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                   PgParams().Text(place.name).Int32(place.position).Int32(place.clusters))
            .status());
    HERALD_ASSIGN_OR_RETURN(rows,
                            conn->Exec("SELECT name, position, clusters FROM herald_cluster"));
    if (rows.rows() != 1) return Status::Internal("postgres: herald_cluster has no row");
  }
  const std::string name(rows.Bytes(0, 0));
  const std::int32_t position = rows.Int32(0, 1);
  const std::int32_t clusters = rows.Int32(0, 2);
  if (name != place.name || position != place.position || clusters != place.clusters) {
    return Status::InvalidArgument("this database is cluster " +
                                   describe(name, position, clusters) +
                                   " of its cluster map, but the configuration names it " +
                                   describe(place.name, place.position, place.clusters) +
                                   ": two clusters of the map on one database, or a map changed "
                                   "after it held jobs");
  }
  return Status::Ok();
}

}  // namespace herald::storage::postgres
