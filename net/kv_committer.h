// KvCommitter: makes the list and string writes of many connections durable together. A
// connection whose batch of commands wrote lists or strings hands its write group over and
// holds its replies; the committer runs once the I/O threads have run the handlers already
// queued (the reads of other clients, which write too), then commits every group handed over
// so far with one WAL write (and, under `always`, one sync) and tells each connection.
// This is Redis's "write the AOF before sleeping, then send the replies", for many clients.
// In `always` mode the commit only writes (under a SyncDeferral: no I/O thread waits for an
// fsync), and the connections are told once a WAL sync covering it is done
// (engine::Durability::AfterSync), which the job writes of the same moment share.
//
// The groups may hold writes to any database of the store (a client that SELECTed another
// one between its writes): one commit through `kv`, whichever database it is, covers them all.
//
// Thread safety: thread-safe. `executor` is where the commit runs (the I/O threads' context);
// `kv` and `durability` must outlive the committer, and the committer must outlive every connection
// using it.
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "engine/durability.h"
#include "engine/keyspace.h"

namespace herald::net {

class KvCommitter {
 public:
  using Done = std::function<void(Status)>;

  KvCommitter(boost::asio::io_context::executor_type executor, engine::KvStore* kv,
              engine::Durability* durability)
      : executor_(executor), kv_(kv), durability_(durability), group_(kv) {}
  KvCommitter(const KvCommitter&) = delete;
  KvCommitter& operator=(const KvCommitter&) = delete;

  // Takes over the writes of `group` (left empty) and calls `done` with the outcome of their
  // commit (OK once durable), on an I/O thread. `done` must be quick: post to a strand.
  void Enqueue(engine::KvWriteGroup* group, Done done);

  // Commits made so far and the groups they covered, for INFO-style figures and tests.
  std::uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  std::uint64_t groups() const { return groups_.load(std::memory_order_relaxed); }

 private:
  void Run();

  boost::asio::io_context::executor_type executor_;
  engine::KvStore* kv_;
  engine::Durability* durability_;
  Mutex mu_;
  engine::KvWriteGroup group_ GUARDED_BY(mu_);
  std::vector<Done> waiting_ GUARDED_BY(mu_);
  bool scheduled_ GUARDED_BY(mu_) = false;
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> groups_{0};
};

}  // namespace herald::net
