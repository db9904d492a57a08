#include "engine/queue_admission.h"

#include <algorithm>
#include <iterator>
#include <limits>

namespace herald::engine {

QueueAdmission::QueueAdmission(const QueuePolicy& policy)
    : concurrency_(policy.concurrency),
      rate_max_(policy.rate_max),
      rate_duration_ms_(policy.rate_duration_ms) {}

QueueAdmission::Verdict QueueAdmission::Reserve(std::int64_t now_ms) {
  if (paused_) return Verdict::kRefused;
  if (concurrency_ > 0 && active_ >= concurrency_) return Verdict::kRefused;
  if (rate_max_ > 0) {
    while (!starts_.empty() && starts_.front() + rate_duration_ms_ <= now_ms) starts_.pop_front();
    if (starts_.size() >= rate_max_) return Verdict::kRateLimited;
    starts_.push_back(now_ms);
  }
  ++active_;
  return Verdict::kReserved;
}

void QueueAdmission::Unreserve(std::int64_t now_ms) {
  Release();
  if (rate_max_ > 0 && !starts_.empty()) {
    // Give back the start this reservation took (the newest at `now_ms`).
    auto it = std::find(starts_.rbegin(), starts_.rend(), now_ms);
    if (it != starts_.rend()) starts_.erase(std::next(it).base());
  }
}

void QueueAdmission::Release() {
  if (active_ > 0) --active_;
}

void QueueAdmission::Readmit() { ++active_; }

std::int64_t QueueAdmission::RoomAtMs() const {
  if (rate_max_ == 0 || starts_.size() < rate_max_) return std::numeric_limits<std::int64_t>::max();
  return starts_.front() + rate_duration_ms_;
}

}  // namespace herald::engine
