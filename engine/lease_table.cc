#include "engine/lease_table.h"

#include <limits>

namespace herald::engine {

std::int64_t LeaseTable::Add(const std::string& id, QueueState* queue, std::int64_t now_ms,
                             std::int64_t length_ms) {
  const std::int64_t until = now_ms + length_ms;
  auto [it, inserted] = leases_.try_emplace(id);
  if (!inserted && !it->second.claimed) deadlines_.erase({it->second.until_ms, id});
  it->second = Lease{queue, until, length_ms, next_serial_++, false};
  deadlines_.emplace(until, id);
  return until;
}

LeaseClaim LeaseTable::ClaimAt(Leases::iterator it) {
  Lease& lease = it->second;
  deadlines_.erase({lease.until_ms, it->first});
  lease.claimed = true;
  return LeaseClaim{lease.queue, lease.serial, lease.until_ms};
}

std::optional<LeaseClaim> LeaseTable::Claim(std::string_view id) {
  auto it = leases_.find(id);
  if (it == leases_.end() || it->second.claimed) return std::nullopt;
  return ClaimAt(it);
}

std::vector<std::pair<std::string, LeaseClaim>> LeaseTable::TakeExpired(std::int64_t now_ms) {
  std::vector<std::pair<std::string, LeaseClaim>> expired;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now_ms) {
    auto it = leases_.find(deadlines_.begin()->second);
    expired.emplace_back(it->first, ClaimAt(it));
  }
  return expired;
}

LeaseTable::Leases::iterator LeaseTable::FindClaimed(std::string_view id, const LeaseClaim& claim) {
  auto it = leases_.find(id);
  if (it == leases_.end() || it->second.serial != claim.serial) return leases_.end();
  return it;
}

bool LeaseTable::Settle(std::string_view id, const LeaseClaim& claim) {
  auto it = FindClaimed(id, claim);
  if (it == leases_.end()) return false;
  leases_.erase(it);
  return true;
}

bool LeaseTable::Restore(std::string_view id, const LeaseClaim& claim, std::int64_t until_ms) {
  auto it = FindClaimed(id, claim);
  if (it == leases_.end()) return false;
  it->second.claimed = false;
  it->second.until_ms = until_ms;
  deadlines_.emplace(until_ms, it->first);
  return true;
}

QueueState* LeaseTable::Remove(std::string_view id) {
  auto it = leases_.find(id);
  if (it == leases_.end()) return nullptr;
  QueueState* holder = nullptr;
  if (!it->second.claimed) {
    deadlines_.erase({it->second.until_ms, it->first});
    holder = it->second.queue;
  }
  leases_.erase(it);
  return holder;
}

std::optional<LeaseTerm> LeaseTable::Extend(std::string_view id, std::int64_t now_ms,
                                            std::int64_t length_ms) {
  auto it = leases_.find(id);
  if (it == leases_.end() || it->second.claimed) return std::nullopt;
  Lease& lease = it->second;
  deadlines_.erase({lease.until_ms, it->first});
  if (length_ms != 0) lease.length_ms = length_ms;
  lease.until_ms = now_ms + lease.length_ms;
  deadlines_.emplace(lease.until_ms, it->first);
  return LeaseTerm{lease.until_ms, lease.length_ms};
}

std::int64_t LeaseTable::NextDeadlineMs() const {
  return deadlines_.empty() ? std::numeric_limits<std::int64_t>::max() : deadlines_.begin()->first;
}

}  // namespace herald::engine
