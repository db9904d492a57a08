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
//     node writes a heartbeat, and sweeps the jobs of nodes whose heartbeat is too old.
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
#include <memory>
#include <string>

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
  // Connections to the database (each call holds one while it runs). Default: 8.
  std::uint32_t connections = 8;
  // As StoreOptions::completed_retention. Default: 1000.
  std::uint32_t completed_retention = 1000;
  // Each node writes a heartbeat this often; one whose heartbeat is older than node_timeout_ms
  // is taken for stopped, and a live node puts back the jobs it held (as a restart does). A
  // node sweeps only once it has been connected itself for node_timeout_ms, so that after an
  // outage of the database (a failover) the others have time to write theirs first.
  // Defaults: 1000 and 15000.
  std::int64_t heartbeat_ms = 1000;
  std::int64_t node_timeout_ms = 15000;
  // Logger for open, recovery and errors. Default: spdlog's default logger.
  std::shared_ptr<spdlog::logger> logger;
};

// Connects, applies the schema's migrations, recovers this node's jobs. IOError when the
// database cannot be reached; InvalidArgument for a missing conninfo or node, or a schema made
// by a newer Herald.
Result<std::unique_ptr<Store>> OpenPostgresStore(PostgresStoreOptions options);

}  // namespace herald::storage
