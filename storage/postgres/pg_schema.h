// Internal to storage/postgres. The tables of the PostgreSQL store and their migrations.
//
//   herald_migrations (version int PRIMARY KEY, applied_ms int8): one row per migration applied.
//   herald_queues (name text PRIMARY KEY, paused bool): the queue registry and pause flags.
//   herald_job_seq: the store-wide add sequence (Job::seq). A generated id is
//     seq * clusters + position (herald_cluster), so that the clusters of a map never make the
//     same one; with one cluster, the seq itself.
//   herald_jobs: one row per job. id bytea (a caller's id may hold any byte but a leading
//     NUL), queue, state int2 (JobState's numbers), and the columns its state's index orders
//     by: priority and seq (waiting: take order), due_ms (delayed), finished_ms (completed and
//     failed, newest first), seq (active). lease_node: the node that holds an active job's
//     lease ('' otherwise). record: the whole job, as the embedded store encodes it
//     (storage/keys.h), which the columns repeat for indexing; it is what reads return.
//   herald_records (tbl int2, key bytea, value bytea): the record tables (RecordTable's order).
//   herald_nodes (name text PRIMARY KEY, heartbeat_ms int8, started_ms int8): the nodes using
//     the store, each writing its heartbeat.
//   herald_cluster (one row: name text, position int4, clusters int4): which cluster of a map
//     of several this database is (PostgresStoreOptions::cluster_*), written at the first open
//     and checked at every other.
//
// A migration is applied once, in a transaction of its own, under an advisory lock, so that
// several nodes starting at once apply each exactly once. A database whose schema is newer
// than this build knows is refused: it was made by a newer Herald.
//
// Thread safety: functions on a connection the caller holds.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "storage/postgres/pg_connection.h"

namespace herald::storage::postgres {

inline constexpr int kSchemaVersion = 2;

// Brings the database's tables to kSchemaVersion. IOError from the server; InvalidArgument
// naming both versions when the database's is newer.
Status MigrateSchema(PgConnection* conn, std::int64_t now_ms);

// A database's place in a map of clusters (herald_cluster).
struct ClusterPlace {
  std::string name;
  std::int32_t position = 0;  // 0-based
  std::int32_t clusters = 1;
};

// Records `place` in a database that has none yet, or checks that it is the one recorded.
// InvalidArgument naming both when they differ, or when a database that holds jobs made
// without a map is given a place in one of several clusters; IOError from the server.
Status ClaimClusterPlace(PgConnection* conn, const ClusterPlace& place);

}  // namespace herald::storage::postgres
