// Internal to storage/ and re-exported by the engine (engine/durability.h). SyncDeferral: while
// one is alive on a thread, the store's writes made on that thread in `always` mode reach the
// WAL without waiting for its sync (Database::Write, KvWritePipeline::WaitDurable): the caller
// takes over the waiting, for many writes at once, with Store::SyncAsync before it tells
// anybody the writes were made. This is how a RESP connection runs a whole pipeline of writes
// and sends their replies after one sync, as Redis does once per event-loop iteration.
//
// Writes under a deferral are visible to readers at once, before they are durable (as in Redis
// with `appendfsync always`); whoever replies must wait for Store::SyncAsync, or see
// Store::AllDurable().
//
//   {
//     storage::SyncDeferral deferral;
//     RunCommands();   // writes, no fsync
//   }
//   store.SyncAsync([](Status synced) { SendReplies(synced); });
//
// Thread safety: thread-local; a deferral belongs to the thread that made it. Nestable.
#pragma once

namespace herald::storage {

class SyncDeferral {
 public:
  SyncDeferral() noexcept { ++depth_; }
  ~SyncDeferral() { --depth_; }
  SyncDeferral(const SyncDeferral&) = delete;
  SyncDeferral& operator=(const SyncDeferral&) = delete;

  // Whether the calling thread is inside a deferral.
  static bool active() noexcept { return depth_ > 0; }

 private:
  static thread_local int depth_;
};

}  // namespace herald::storage
