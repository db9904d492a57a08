// QueuePolicy: how one queue treats its jobs — attempts, backoff between them, how many run at
// once, how fast they may start, how long a handler may run, how long a remote lease lasts.
//
// Thread safety: plain value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/job.h"

namespace herald::engine {

struct QueuePolicy {
  std::string name;
  // Attempts in all, the first included. Default: 1.
  std::uint32_t max_attempts = 1;
  // Default: fixed.
  storage::BackoffType backoff_type = storage::BackoffType::kFixed;
  // Base delay between attempts. Default: 0 (retry at once).
  std::int64_t backoff_ms = 0;
  // Jobs of this queue running at once, local and remote workers together; 0 = no limit.
  // A limit of 1 processes the queue in strict FIFO order. Default: 0.
  std::uint32_t concurrency = 0;
  // At most rate_max jobs start per rate_duration_ms (a mail relay's quota); 0 = no limit.
  std::uint32_t rate_max = 0;
  std::int64_t rate_duration_ms = 0;
  // A local handler running longer fails the attempt. Default: 30000.
  std::int64_t timeout_ms = 30000;
  // Lease of a job taken by GETJOB without LEASE. Default: 30000.
  std::int64_t lease_ms = 30000;
  // Retention of finished jobs (BullMQ's removeOnComplete / removeOnFail {count, age}): at
  // most keep_completed completed jobs and keep_failed failed ones (0 = no count limit; the
  // store keeps at most its completed_retention completed jobs whatever this says), none that
  // finished more than keep_*_age_ms ago (0 = no age limit). The scheduler removes the oldest
  // beyond, within about a second. Default: 0 (no limit).
  std::uint64_t keep_completed = 0;
  std::int64_t keep_completed_age_ms = 0;
  std::uint64_t keep_failed = 0;
  std::int64_t keep_failed_age_ms = 0;

  bool has_retention() const {
    return keep_completed > 0 || keep_completed_age_ms > 0 || keep_failed > 0 ||
           keep_failed_age_ms > 0;
  }
};

// The built-in policies from the product brief: emails 5 attempts exponential from 2000 ms;
// notifications 3 attempts exponential from 1000 ms; tickets 3 attempts fixed 5000 ms.
std::vector<QueuePolicy> DefaultQueuePolicies();

// Delay before the next attempt after `attempts_made` attempts (>= 1) have failed: fixed waits
// `base_ms` every time; exponential waits base, 2*base, 4*base, ... (capped at 24 h).
std::int64_t BackoffDelayMs(storage::BackoffType type, std::int64_t base_ms,
                            std::uint32_t attempts_made);

// A queue name is 1..64 bytes of [A-Za-z0-9_.:-]. InvalidArgument names the problem.
Status ValidateQueueName(std::string_view name);

// Leases are refused outside [1 s, 24 h], never clamped.
inline constexpr std::int64_t kMinLeaseMs = 1000;
inline constexpr std::int64_t kMaxLeaseMs = 24LL * 3600 * 1000;
Status ValidateLeaseMs(std::int64_t lease_ms);

}  // namespace herald::engine
