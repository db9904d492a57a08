#include "net/http/queue_activity.h"

#include <algorithm>

namespace herald::net::http {

using engine::JobEventType;

void LatencyHistogram::Add(std::int64_t ms) {
  ms = std::max<std::int64_t>(ms, 0);
  auto it = std::lower_bound(kBoundsMs.begin(), kBoundsMs.end(), ms);
  ++buckets_[static_cast<std::size_t>(it - kBoundsMs.begin())];
  ++count_;
  sum_ms_ += ms;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ms_ += other.sum_ms_;
}

double LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  double rank = q * static_cast<double>(count_);
  double seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    double in_bucket = static_cast<double>(buckets_[i]);
    if (seen + in_bucket >= rank && in_bucket > 0) {
      double low = i == 0 ? 0 : static_cast<double>(kBoundsMs[i - 1]);
      // Above the last bound there is no upper edge: report the last bound.
      if (i == kBoundsMs.size()) return low;
      double high = static_cast<double>(kBoundsMs[i]);
      return low + (high - low) * ((rank - seen) / in_bucket);
    }
    seen += in_bucket;
  }
  return static_cast<double>(kBoundsMs.back());
}

MinuteActivity& QueueActivity::MinuteOf(PerQueue& queue, std::int64_t at_ms) {
  std::int64_t minute = at_ms / 60000;
  MinuteActivity& slot = queue.minutes[static_cast<std::size_t>(minute) % kMinutesKept];
  if (slot.minute != minute) {
    slot = MinuteActivity();
    slot.minute = minute;
  }
  return slot;
}

void QueueActivity::Record(const engine::JobEvent& event) {
  MutexLock lock(&mu_);
  auto it = queues_.find(event.queue);
  if (it == queues_.end()) it = queues_.emplace(event.queue, PerQueue{}).first;
  PerQueue& queue = it->second;
  QueueTotals& totals = queue.totals;
  switch (event.type) {
    case JobEventType::kAdded:
      ++totals.added;
      ++MinuteOf(queue, event.at_ms).added;
      break;
    case JobEventType::kActive: {
      MinuteActivity& minute = MinuteOf(queue, event.at_ms);
      if (event.attempts_made <= 1 && event.created_ms > 0) {
        // A delayed job waits on purpose until it is due: its wait counts from then, and how
        // late it started is its own figure.
        std::int64_t ready = std::max(event.created_ms, event.due_ms);
        totals.wait.Add(event.at_ms - ready);
        minute.wait.Add(event.at_ms - ready);
      }
      if (event.due_ms > 0) {
        totals.lateness.Add(event.at_ms - event.due_ms);
        minute.lateness.Add(event.at_ms - event.due_ms);
      }
      break;
    }
    case JobEventType::kCompleted:
      ++totals.completed;
      ++MinuteOf(queue, event.at_ms).completed;
      if (event.processed_ms > 0) totals.processing.Add(event.at_ms - event.processed_ms);
      break;
    case JobEventType::kFailed:
      ++totals.failed;
      ++MinuteOf(queue, event.at_ms).failed;
      if (event.processed_ms > 0) totals.processing.Add(event.at_ms - event.processed_ms);
      break;
    case JobEventType::kRetrying:
      ++totals.retried;
      if (event.processed_ms > 0) totals.processing.Add(event.at_ms - event.processed_ms);
      break;
    case JobEventType::kStalled:
      ++totals.stalled;
      break;
    default:
      break;
  }
}

std::map<std::string, QueueTotals> QueueActivity::Totals() const {
  MutexLock lock(&mu_);
  std::map<std::string, QueueTotals> out;
  for (const auto& [name, queue] : queues_) out.emplace(name, queue.totals);
  return out;
}

std::vector<MinuteActivity> QueueActivity::Minutes(std::string_view queue_name,
                                                   std::int64_t since_minute) const {
  MutexLock lock(&mu_);
  std::vector<MinuteActivity> out;
  auto it = queues_.find(queue_name);
  if (it == queues_.end()) return out;
  for (const MinuteActivity& minute : it->second.minutes) {
    if (minute.minute >= since_minute && minute.minute > 0) out.push_back(minute);
  }
  std::sort(out.begin(), out.end(),
            [](const MinuteActivity& a, const MinuteActivity& b) { return a.minute < b.minute; });
  return out;
}

MinuteActivity QueueActivity::LastMinute(std::string_view queue_name, std::int64_t now_ms) const {
  // The current minute and the one before, the older in proportion to how much of it falls in
  // the last 60 s.
  std::int64_t current = now_ms / 60000;
  MinuteActivity out;
  out.minute = current;
  MutexLock lock(&mu_);
  auto it = queues_.find(queue_name);
  if (it == queues_.end()) return out;
  double older_share = 1.0 - static_cast<double>(now_ms % 60000) / 60000.0;
  for (const MinuteActivity& minute : it->second.minutes) {
    if (minute.minute == current) {
      out.added += minute.added;
      out.completed += minute.completed;
      out.failed += minute.failed;
    } else if (minute.minute == current - 1) {
      out.added += static_cast<std::uint64_t>(static_cast<double>(minute.added) * older_share);
      out.completed +=
          static_cast<std::uint64_t>(static_cast<double>(minute.completed) * older_share);
      out.failed += static_cast<std::uint64_t>(static_cast<double>(minute.failed) * older_share);
    }
  }
  return out;
}

}  // namespace herald::net::http
