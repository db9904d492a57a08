// LeaseTable: who holds each active job, until when — the broker's leases and their deadlines,
// in memory (after a restart the store makes every active job waiting again).
//
// A lease is claimed by whoever is about to end it with a store write (an ACKJOB, a NACK, the
// scheduler expiring it): a claimed lease is out of reach of everyone else (a second ACKJOB or
// WORKING finds no lease, the scheduler does not expire it again) but still there. Once the
// write succeeded the claimer settles it (gone); when the write failed the claimer restores it,
// so that the job, still active on disk, stays covered: a retried ACKJOB finds it, and its
// expiry puts the job back. Each lease has a serial, so that a claim settles or restores only
// the lease it claimed (not a newer lease of the same job, taken again meanwhile).
//
// Thread safety: not thread-safe. The Broker keeps it under its mutex, together with the
// queues' admission counts that a lease holds a slot of.
//
// Lifetime: the QueueState pointers are stored, never dereferenced; they must outlive their
// leases.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/job.h"

namespace herald::engine {

struct QueueState;

// A job handed to a worker, with its lease.
struct LeasedJob {
  storage::Job job;
  std::int64_t lease_until_ms = 0;
};

// A lease taken out of reach by Claim or TakeExpired, to settle or restore.
struct LeaseClaim {
  QueueState* queue = nullptr;
  std::uint64_t serial = 0;
  std::int64_t until_ms = 0;
};

// A lease's deadline and length after Extend.
struct LeaseTerm {
  std::int64_t until_ms = 0;
  std::int64_t length_ms = 0;
};

class LeaseTable {
 public:
  // Leases job `id` of `queue` until now_ms + length_ms (replacing a lease it had); returns the
  // deadline.
  std::int64_t Add(const std::string& id, QueueState* queue, std::int64_t now_ms,
                   std::int64_t length_ms);
  // Claims the lease of `id`; nullopt when it has none or it is claimed already.
  std::optional<LeaseClaim> Claim(std::string_view id);
  // Leases whose deadline is at or before `now_ms`, claimed, in deadline order.
  std::vector<std::pair<std::string, LeaseClaim>> TakeExpired(std::int64_t now_ms);
  // Removes a claimed lease for good (its write succeeded). False when it is gone already
  // (removed, or replaced by a newer lease of the job).
  bool Settle(std::string_view id, const LeaseClaim& claim);
  // Puts a claimed lease back, with the deadline `until_ms`. False when it is gone already.
  bool Restore(std::string_view id, const LeaseClaim& claim, std::int64_t until_ms);
  // Removes the lease of `id`, claimed or not (DELJOB). The queue whose slot it held; nullptr
  // when there was none or it was claimed (the claim freed its slot).
  QueueState* Remove(std::string_view id);
  // Extends an unclaimed lease to now_ms + length_ms (0 = its last length). nullopt when there
  // is none or it is claimed.
  std::optional<LeaseTerm> Extend(std::string_view id, std::int64_t now_ms, std::int64_t length_ms);

  // The earliest deadline of an unclaimed lease; INT64_MAX when none.
  std::int64_t NextDeadlineMs() const;
  std::size_t size() const { return leases_.size(); }

 private:
  struct Lease {
    QueueState* queue = nullptr;
    std::int64_t until_ms = 0;
    std::int64_t length_ms = 0;
    std::uint64_t serial = 0;
    bool claimed = false;
  };
  using Leases = std::map<std::string, Lease, std::less<>>;

  LeaseClaim ClaimAt(Leases::iterator it);
  // The lease of `id` that `claim` claimed; end() when gone.
  Leases::iterator FindClaimed(std::string_view id, const LeaseClaim& claim);

  Leases leases_;
  std::set<std::pair<std::int64_t, std::string>, std::less<>> deadlines_;  // unclaimed only
  std::uint64_t next_serial_ = 1;
};

}  // namespace herald::engine
