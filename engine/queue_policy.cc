#include "engine/queue_policy.h"

#include <algorithm>

namespace herald::engine {

std::vector<QueuePolicy> DefaultQueuePolicies() {
  QueuePolicy emails;
  emails.name = "emails";
  emails.max_attempts = 5;
  emails.backoff_type = storage::BackoffType::kExponential;
  emails.backoff_ms = 2000;
  QueuePolicy notifications;
  notifications.name = "notifications";
  notifications.max_attempts = 3;
  notifications.backoff_type = storage::BackoffType::kExponential;
  notifications.backoff_ms = 1000;
  QueuePolicy tickets;
  tickets.name = "tickets";
  tickets.max_attempts = 3;
  tickets.backoff_type = storage::BackoffType::kFixed;
  tickets.backoff_ms = 5000;
  return {emails, notifications, tickets};
}

std::int64_t BackoffDelayMs(storage::BackoffType type, std::int64_t base_ms,
                            std::uint32_t attempts_made) {
  constexpr std::int64_t kCap = 24LL * 3600 * 1000;
  if (base_ms <= 0) return 0;
  if (type == storage::BackoffType::kFixed) return std::min(base_ms, kCap);
  // base * 2^(attempts_made - 1), without overflow.
  std::int64_t delay = base_ms;
  for (std::uint32_t i = 1; i < attempts_made && delay < kCap; ++i) delay *= 2;
  return std::min(delay, kCap);
}

Status ValidateQueueName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("queue name must not be empty");
  if (name.size() > 64) {
    return Status::InvalidArgument("queue name longer than 64 bytes");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("invalid queue name '" + std::string(name) +
                                     "': use letters, digits and _ . : -");
    }
  }
  return Status::Ok();
}

Status ValidateLeaseMs(std::int64_t lease_ms) {
  if (lease_ms < kMinLeaseMs || lease_ms > kMaxLeaseMs) {
    return Status::InvalidArgument("lease must be between 1000 ms and 86400000 ms, got " +
                                   std::to_string(lease_ms));
  }
  return Status::Ok();
}

}  // namespace herald::engine
