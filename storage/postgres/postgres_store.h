// The PostgreSQL backend of Store (storage/store.h): queues, jobs and records in tables of one
// PostgreSQL database (the schema: storage/postgres/pg_schema.h), shared by every Herald node
// that opens it, with the semantics of the embedded store, which the store contract tests
// (tests/storage/store_contract_test.cc) hold both backends to.
//
//   * Durability: every call that changes something returns after its transaction committed.
//     With synchronous_commit on (PostgreSQL's default) that is after the commit record is on
//     disk, and with Patroni's synchronous mode on a standby too. A write whose commit could
//     not be confirmed (the connection was lost during the commit) is an error: the caller
//     never hears "done" for it, though it may have happened. fsync_mode() is kAlways.
//   * Adds are grouped: the adds of every caller ready at the same moment (AddAsync from the
//     servers' event loops, Add/AddMany from other threads) go into one transaction, so that
//     they share one commit, as the embedded store's adds share one WAL sync.
//   * Takes use SELECT ... FOR UPDATE SKIP LOCKED, so that several nodes take from one queue
//     without handing a job out twice or waiting on each other. An active job's row names the
//     node that took it (lease_node).
//   * Open() recovers the jobs this node (options.node) held when it stopped, as the embedded
//     store recovers a restart: waiting again, or failed with their attempts used up, the
//     attempt ended stalled. A node that stops for good has its jobs put back by another: each
//     node writes a heartbeat, and sweeps the jobs of nodes whose heartbeat is too old. A store
//     closed cleanly sets its heartbeat to 0, so that the jobs it still holds (leases of remote
//     workers) come back at another node's next sweep.
//   * An active job can be ended (completed, failed, retried, put back) only by the node that
//     holds it: a node that lost it to a sweep hears "held by node X".
//   * Several nodes: writes that make jobs waiting or delayed NOTIFY the others, whose
//     SetWorkListener listener hears of them (blocked GETJOBs wake on every node).
//   * Lists and strings (KvStore) are not kept in PostgreSQL: kv() and ClearKv() answer
//     NotSupported, and so do Checkpoint() and VerifyChecksums() (PostgreSQL has its own
//     backups and checks).
//   * Failover: connections go through a pool that drops a broken connection and makes a new
//     one from the connection string, which with several hosts and
//     target_session_attrs=read-write finds the new primary. Calls during the outage answer
//     IOError; WriteHealth() says so until a write succeeds again.
//
// Thread safety: thread-safe, as Store.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/store.h"

namespace spdlog {
class logger;
}

namespace herald::storage {

struct PostgresStoreOptions {
  // libpq connection string: "host=127.0.0.1 port=5432 dbname=herald user=herald", or several
  // hosts with target_session_attrs=read-write. Required.
  std::string conninfo;
  // This node's name: the active jobs it takes carry it, and Open() puts back the ones a
  // node of this name left active. Two live nodes must not share one. Default: "herald".
  std::string node = "herald";
  // Connections to the database (each call holds one while it runs). The engine makes up to 8
  // job-command calls at once off its I/O threads (Broker::kStoreCallThreads); the others
  // serve reads, adds and heartbeats meanwhile. Default: 16.
  std::uint32_t connections = 16;
  // As StoreOptions::completed_retention. Default: 1000.
  std::uint32_t completed_retention = 1000;
  // Each node writes a heartbeat this often; one whose heartbeat is older than node_timeout_ms
  // is taken for stopped, and a live node puts back the jobs it held (as a restart does). A
  // node sweeps only once it has been connected itself for node_timeout_ms, so that after an
  // outage of the database (a failover) the others have time to write theirs first.
  // Defaults: 1000 and 15000.
  std::int64_t heartbeat_ms = 1000;
  std::int64_t node_timeout_ms = 15000;
  // This database's place in a map of several clusters (OpenPostgresClusters): its name and
  // position (0-based) among `clusters`. Generated ids are n * clusters + position, so no two
  // clusters of the map make the same id and an id tells its cluster. Recorded in the database
  // at the first open; an open that names another place is refused (two entries of a map
  // pointing at one database, or a map changed after it held jobs). Defaults: "main", 0, 1.
  std::string cluster_name = "main";
  std::uint32_t cluster_position = 0;
  std::uint32_t clusters = 1;
  // Logger for open, recovery and errors; not null. Default: spdlog's default logger.
  std::shared_ptr<spdlog::logger> logger = spdlog::default_logger();
};

// Clusters in one map, at most.
inline constexpr std::uint32_t kMaxPostgresClusters = 64;

// Connects, applies the schema's migrations, checks the database's place in a cluster map,
// recovers this node's jobs. IOError when the database cannot be reached; InvalidArgument for
// a missing conninfo or node, a schema made by a newer Herald, or a database that is another
// place of a cluster map.
Result<std::unique_ptr<Store>> OpenPostgresStore(PostgresStoreOptions options);

// Several PostgreSQL clusters (each its own primary, e.g. its own Patroni cluster), each
// keeping some of the queues, behind one Store:
//   * A queue lives on one cluster: the one `queues` names for it, otherwise cluster
//     QueueNameHash(queue) % clusters (ClusterOfQueue). Calls about a queue (adds, takes,
//     counts, lists, pause, bulk changes) go to its cluster; a GETJOB over queues of several
//     clusters is the engine's takes of each queue, woken by the notices of every cluster.
//   * Calls by job id go to the cluster the id names (a generated id is n * clusters +
//     position: id % clusters), then to the others in map order while the answer is
//     NotFound; a caller's id is looked for in map order. A caller's id is unique within a
//     cluster: the same id added to queues of two clusters makes two jobs, and calls by that
//     id reach the first cluster's, so ids given by clients should differ across queues (the
//     engine's event ids do). Import keeps that: it adds nothing when any cluster has the id.
//   * Records (preferences, inbox, deliveries, tickets) live on the first cluster.
//   * Every node of a map must use the same map (clusters in the same order, the same
//     queues): each database records its name and position at the first open and refuses
//     another; a queue found on a cluster the map no longer puts it on is refused at open
//     when it holds jobs (they would be left behind).
//   * A write on one cluster is atomic and durable as on a single one; CompleteMany over
//     several clusters is one transaction per cluster. WriteHealth() is the first cluster's
//     error that has one (no primary there: its queues cannot be served).
struct PostgresCluster {
  std::string name;      // 1..64 bytes of [A-Za-z0-9_.-], unique in the map
  std::string conninfo;  // as PostgresStoreOptions::conninfo
};

struct PostgresClustersOptions {
  // The map, in order (a cluster's position is its place here). 1..kMaxPostgresClusters.
  std::vector<PostgresCluster> clusters;
  // Queue name -> cluster name, for queues not placed by hash.
  std::map<std::string, std::string, std::less<>> queues;
  // What every cluster's store gets: node, connections, retention, heartbeats, logger (its
  // conninfo and cluster_* come from `clusters`).
  PostgresStoreOptions each;
};

// FNV-1a (64 bits) of the queue's name: the hash that places a queue the map does not name.
std::uint64_t QueueNameHash(std::string_view queue);
// The position of the cluster that keeps `queue` under `options`.
std::size_t ClusterOfQueue(const PostgresClustersOptions& options, std::string_view queue);
// Checks a map: clusters there, names valid and unique, conninfos given, every queue of
// `queues` naming one of them. InvalidArgument naming the problem.
Status ValidateClusterMap(const PostgresClustersOptions& options);

// Opens every cluster's store (in map order) and the store over them; with one cluster, that
// cluster's store itself. The first cluster's error, prefixed with its name, otherwise.
Result<std::unique_ptr<Store>> OpenPostgresClusters(PostgresClustersOptions options);

}  // namespace herald::storage
