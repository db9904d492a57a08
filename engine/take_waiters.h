// TakeWaiters: the blocking takes (GETJOB with TIMEOUT, BLPOP-style) waiting for a job — FIFO
// per queue, each with its deadline, until a job is handed to it, it times out or its client
// cancels it. A waiter may wait on several queues; it is served once, by the first of them to
// have a job for it. The Broker pops a waiter, takes jobs for it without a lock, and calls it
// (or puts it back at the front when the jobs went to someone else).
//
// Thread safety: not thread-safe. The Broker keeps it under its mutex, so that registering a
// waiter and noticing new work exclude each other (no wake-up is lost).
//
// Lifetime: the QueueState pointers are stored as keys and handed back, never dereferenced.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/lease_table.h"

namespace herald::engine {

class TakeWaiters {
 public:
  using Id = std::uint64_t;
  using Callback = std::function<void(std::vector<LeasedJob>)>;

  struct Waiter {
    std::vector<QueueState*> queues;  // tried in order
    std::uint32_t count = 1;
    std::int64_t lease_ms = 0;     // 0 = each queue's policy
    std::int64_t deadline_ms = 0;  // 0 = none
    std::string worker;            // who runs the jobs (TakeRequest::worker)
    Callback callback;
  };

  // Registers `waiter` behind the waiters of each of its queues; returns its id (never 0).
  Id Add(std::shared_ptr<Waiter> waiter);
  // Removes and returns the first waiter of `queue` (with its id in *id); null when none.
  std::shared_ptr<Waiter> PopFirst(const QueueState* queue, Id* id);
  // Registers again a waiter just popped, in front of the others of each of its queues.
  void PutBack(Id id, std::shared_ptr<Waiter> waiter);
  // Removes a waiter; false when it is not registered (served, timed out, cancelled).
  bool Cancel(Id id);
  // Removes and returns the waiters whose deadline is at or before `now_ms`.
  std::vector<std::shared_ptr<Waiter>> TakeExpired(std::int64_t now_ms);
  // Removes and returns every waiter (shutdown).
  std::vector<std::shared_ptr<Waiter>> TakeAll();

  bool HasWaiters(const QueueState* queue) const;
  // The earliest deadline; INT64_MAX when none.
  std::int64_t NextDeadlineMs() const;
  std::size_t size() const { return waiters_.size(); }

 private:
  void Erase(std::map<Id, std::shared_ptr<Waiter>>::iterator it);

  std::map<Id, std::shared_ptr<Waiter>> waiters_;
  std::set<std::pair<std::int64_t, Id>> deadlines_;
  // Ids in arrival order per queue; ids no longer in waiters_ are skipped (and dropped).
  std::unordered_map<const QueueState*, std::deque<Id>> fifos_;
  Id next_id_ = 1;
};

}  // namespace herald::engine
