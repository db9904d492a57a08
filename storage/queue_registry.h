// Internal to storage/ (names rocksdb types). QueueRegistry: the queues of the store. A queue
// is a row in the meta column family's registry (keys.h) plus its own column family; creating
// one writes the column family first and the row second, so a crash in between leaves a column
// family without a row, which Load() drops at the next open. Each queue's in-memory state
// (QueueState) lives here from open (or creation) until the store closes; so does its pause
// flag, a row in the queue's column family.
//
// Thread safety: thread-safe; Load runs at open, before other calls. `database` is borrowed
// and must outlive it; the QueueState pointers handed out live as long as the registry.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/database.h"
#include "storage/queue_state.h"

namespace spdlog {
class logger;
}

namespace herald::storage {

class QueueRegistry {
 public:
  QueueRegistry(Database* database, std::shared_ptr<spdlog::logger> log)
      : database_(database), log_(std::move(log)) {}
  QueueRegistry(const QueueRegistry&) = delete;
  QueueRegistry& operator=(const QueueRegistry&) = delete;

  // Reads the registry: drops the queue column families found at open that have no row,
  // recreates the missing column family of a registered queue, and makes the state of each
  // queue (empty: recovery fills it in). Returns the queues, in name order.
  Result<std::vector<QueueState*>> Load() EXCLUDES(mu_);

  // Creates the queue on first use; OK if it exists. InvalidArgument for a name that is empty,
  // longer than 64 bytes or has bytes outside [A-Za-z0-9_.:-].
  Status Ensure(std::string_view queue) EXCLUDES(mu_, ensure_mu_);
  // The queue's state; null when there is no such queue.
  QueueState* Find(std::string_view queue) const EXCLUDES(mu_);
  // As Find; NotFound "unknown queue 'name'" when there is none.
  Result<QueueState*> Require(std::string_view queue) const EXCLUDES(mu_);
  std::vector<std::string> Names() const EXCLUDES(mu_);  // sorted

  // As the Store methods of the same names (store.h).
  Result<QueueCounts> Counts(std::string_view queue) const EXCLUDES(mu_);
  Status SetPaused(std::string_view queue, bool paused) EXCLUDES(mu_);
  bool IsPaused(std::string_view queue) const EXCLUDES(mu_);
  std::optional<std::int64_t> NextDue(std::string_view queue) const EXCLUDES(mu_);

 private:
  Result<std::vector<std::string>> ReadRows() const;

  Database* const database_;
  const std::shared_ptr<spdlog::logger> log_;
  Mutex ensure_mu_;  // one Ensure at a time: check, create, register
  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<QueueState>, std::less<>> queues_ GUARDED_BY(mu_);
};

}  // namespace herald::storage
