// Durability: how a server that answers many writes at once makes its replies wait for them
// to be durable, as the engine hands it to the servers (net/ never includes storage/). In
// `always` mode a RESP connection runs a whole batch of commands under a SyncDeferral (their
// writes reach the WAL, unsynced), then asks AfterSync for one sync covering them and every
// other client's writes made meanwhile, and sends the batch's replies from its callback.
// In the other modes nothing waits: replies_wait() is false.
//
// Thread safety: thread-safe (as the store). `store` is borrowed and must outlive this object.
#pragma once

#include <functional>
#include <utility>

#include "common/status.h"
#include "storage/store.h"
#include "storage/sync_deferral.h"

namespace herald::engine {

using storage::SyncDeferral;

class Durability {
 public:
  explicit Durability(storage::Store* store) : store_(store) {}

  // Whether replies wait for the WAL sync (`always` mode).
  bool replies_wait() const { return store_->fsync_mode() == storage::FsyncMode::kAlways; }
  // Whether every write made so far is durable (nothing to wait for).
  bool AllDurable() const { return store_->AllDurable(); }
  // `done` gets the status of a sync covering every write made before this call (see
  // Store::SyncAsync): on a syncer thread, or at once when nothing waits. Must be quick.
  // `waiters`: the clients `done` answers.
  void AfterSync(std::function<void(Status)> done, std::size_t waiters = 1) {
    store_->SyncAsync(std::move(done), waiters);
  }
  // Blocks until every write made before this call is durable (for threads that may sleep).
  Status AwaitAll() const;
  // OK while the store's writes go through; otherwise the last write's error (see
  // Store::WriteHealth), for readiness checks.
  Status WriteHealth() const { return store_->WriteHealth(); }
  std::uint64_t write_failures() const { return store_->WriteFailures(); }

 private:
  storage::Store* store_;
};

}  // namespace herald::engine
