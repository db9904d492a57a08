// ServerState: what every connection and command handler of one RESP server shares — the
// broker, the command table, the configuration, counters (per command too), the client
// registry and the waiters of blocking list pops.
//
// Thread safety: thread-safe (atomics, or the mutex named by each field).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "engine/broker.h"
#include "engine/keyspace.h"
#include "net/audit_log.h"
#include "net/clock_timers.h"
#include "net/command_table.h"
#include "net/server_config.h"
#include "net/server_options.h"

namespace herald::net {

// What CLIENT LIST shows of one connection.
struct ClientInfo {
  std::uint64_t id = 0;
  std::string addr;
  std::int64_t created_ms = 0;
  std::atomic<std::int64_t> last_active_ms{0};
  std::atomic<int> protocol{2};
  std::atomic<int> db{0};  // selected with SELECT; 0 <= db < engine::kKvDatabases
  Mutex mu;
  std::string name GUARDED_BY(mu);
  std::string last_command GUARDED_BY(mu);  // "get", "config|set"; "" before the first
  // Set by the connection: makes it look at the idle timeout again (it changed). Callable from
  // any thread; does nothing once the connection is gone.
  std::function<void()> recheck_idle GUARDED_BY(mu);
};

// INFO commandstats counters of one command or subcommand (Redis 7's meaning): calls that ran,
// their time, calls refused before running (arity, authentication), calls that ran and
// answered an error. A cache line each, so that threads counting different commands do not
// contend.
struct alignas(64) CommandStats {
  std::atomic<std::uint64_t> calls{0};
  std::atomic<std::uint64_t> usec{0};
  std::atomic<std::uint64_t> rejected_calls{0};
  std::atomic<std::uint64_t> failed_calls{0};
};

// A client parked in BLPOP/BRPOP on `keys` of database `db`. `deliver` runs at most once, from
// any thread, with the key and the popped element; it returns false when the client is gone
// (the element must then be pushed back).
struct ListWaiter {
  int db = 0;
  std::vector<std::string> keys;
  engine::ListEnd end = engine::ListEnd::kLeft;  // where it pops
  std::function<bool(const std::string& key, const std::string& value)> deliver;
};

// The process's resident memory in bytes (INFO used_memory, /metrics).
std::uint64_t ResidentBytes();

class ServerState {
 public:
  // `table` must be frozen; `broker` and `table` must outlive the state. `logger` (not null)
  // is the audit log's.
  ServerState(engine::Broker* broker, const CommandTable* table, ServerOptions options,
              std::shared_ptr<spdlog::logger> logger)
      : broker_(broker),
        table_(table),
        config_(std::move(options)),
        command_stats_(std::make_unique<CommandStats[]>(table->slots())),
        audit_(&broker->records(), &broker->clock(), std::move(logger)),
        timers_(&broker->clock()) {
    start_ = std::chrono::steady_clock::now();
    // A store without lists and strings (PostgreSQL) has none: has_kv() is false.
    for (int db = 0; db < engine::kKvDatabases; ++db) {
      Result<engine::KvStore*> found = broker_->keyspace().database(db);
      kv_[static_cast<std::size_t>(db)] = found.ok() ? *found : nullptr;
    }
  }

  engine::Broker& broker() { return *broker_; }
  // Wall-clock milliseconds from the engine's injected clock (a fake one in tests).
  std::int64_t NowMs() { return broker_->clock().NowMs(); }
  // Deadlines on that clock: idle timeouts, blocking pops' timeouts. Attached to the I/O
  // threads by the RESP server while it runs.
  ClockTimers& timers() { return timers_; }
  // Whether the store keeps lists and strings (not the PostgreSQL one); the commands on them
  // are refused without (dispatch.cc), so that the ones below are only called with.
  bool has_kv() const { return kv_[0] != nullptr; }
  // Database 0's lists and strings, or nullptr without: for write groups, which touch the
  // store only once a write joined them.
  engine::KvStore* kv_or_null() { return kv_[0]; }
  // Lists and strings of database 0, and of database `db` (0 <= db < engine::kKvDatabases).
  engine::KvStore& kv() { return *kv_[0]; }
  engine::KvStore& kv(int db) { return *kv_[static_cast<std::size_t>(db)]; }
  const CommandTable& table() const { return *table_; }
  // Operator actions of RESP admin commands and of the HTTP API (audit_log.h).
  AuditLog& audit() { return audit_; }
  // Options as started and the live values of those CONFIG SET changes.
  const ServerConfig& config() const { return config_; }
  // CONFIG SET (see ServerConfig::Set); connections look at a changed idle timeout at once.
  Status SetConfig(std::span<const std::string> name_values);

  // Counters for INFO.
  std::atomic<std::uint64_t> connections_received{0};
  std::atomic<std::uint64_t> connected_clients{0};
  std::atomic<std::uint64_t> blocked_clients{0};
  std::atomic<std::uint64_t> commands_processed{0};
  std::atomic<std::uint64_t> rejected_connections{0};
  std::atomic<std::uint64_t> protocol_errors{0};
  std::atomic<std::uint64_t> net_input_bytes{0};
  std::atomic<std::uint64_t> net_output_bytes{0};
  std::uint16_t port = 0;  // the bound port, set once listening

  // The counters of a command's or subcommand's slot (CommandTable).
  CommandStats& command_stats(std::size_t slot) { return command_stats_[slot]; }
  const CommandStats& command_stats(std::size_t slot) const { return command_stats_[slot]; }
  // CONFIG RESETSTAT: zeroes the counters INFO shows as totals (not the gauges such as
  // connected_clients) and every command's counters.
  void ResetStats();

  double uptime_seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  // ---- Client registry (CLIENT LIST / ID) ----------------------------------------------------
  std::shared_ptr<ClientInfo> RegisterClient(std::string addr, std::int64_t now_ms);
  void UnregisterClient(std::uint64_t id);
  std::vector<std::shared_ptr<ClientInfo>> Clients() const;
  // Waits until no client is registered (every connection is gone), at most `limit`; false
  // when some are still there then.
  bool WaitForNoClients(std::chrono::milliseconds limit);

  // ---- Blocking list pops ------------------------------------------------------------------
  // Parks a waiter on its keys of its database (FIFO per key); returns an id for
  // CancelListWaiter.
  std::uint64_t AddListWaiter(std::shared_ptr<ListWaiter> waiter);
  void CancelListWaiter(std::uint64_t id);
  // After a push to `key` of database `db`: pops elements for the waiters on that key of that
  // database, in FIFO order, while both remain.
  void ServeListWaiters(int db, const std::string& key);

  // Asks the process to shut down (SHUTDOWN). Set by the composition root.
  std::function<void()> request_shutdown;

 private:
  engine::Broker* broker_;
  const CommandTable* table_;
  ServerConfig config_;
  std::unique_ptr<CommandStats[]> command_stats_;  // one per slot of the table
  AuditLog audit_;
  std::chrono::steady_clock::time_point start_;
  std::array<engine::KvStore*, engine::kKvDatabases> kv_{};  // owned by the store

  mutable Mutex clients_mu_;
  std::map<std::uint64_t, std::shared_ptr<ClientInfo>> clients_ GUARDED_BY(clients_mu_);
  std::uint64_t next_client_id_ GUARDED_BY(clients_mu_) = 1;
  std::condition_variable_any clients_gone_cv_;  // the last client unregistered

  Mutex lists_mu_;
  std::map<std::uint64_t, std::shared_ptr<ListWaiter>> list_waiters_ GUARDED_BY(lists_mu_);
  // (database, key) -> waiter ids in arrival order.
  std::map<std::pair<int, std::string>, std::deque<std::uint64_t>> list_waiters_by_key_
      GUARDED_BY(lists_mu_);
  std::uint64_t next_list_waiter_ GUARDED_BY(lists_mu_) = 1;
  // Serialises serving so that pops for waiters keep FIFO order across pushing threads.
  Mutex serve_mu_;

  // Last: destroyed first, with the callbacks it still holds, while everything else is here.
  ClockTimers timers_;
};

}  // namespace herald::net
