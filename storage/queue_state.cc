#include "storage/queue_state.h"

#include <memory>

namespace herald::storage {

std::uint64_t& CountOf(QueueCounts& counts, JobState state) {
  switch (state) {
    case JobState::kWaiting:
      return counts.waiting;
    case JobState::kActive:
      return counts.active;
    case JobState::kDelayed:
      return counts.delayed;
    case JobState::kCompleted:
      return counts.completed;
    case JobState::kFailed:
      return counts.failed;
  }
  return counts.waiting;
}

IndexHead* QueueState::HeadOf(JobState state) {
  switch (state) {
    case JobState::kWaiting:
      return &waiting_;
    case JobState::kDelayed:
      return &delayed_;
    case JobState::kCompleted:
      return &completed_;
    default:
      return nullptr;
  }
}

void QueueState::Apply(const Change& c) {
  if (c.from) {
    std::uint64_t& n = CountOf(counts_, *c.from);
    if (n > 0) --n;
    if (IndexHead* head = HeadOf(*c.from)) head->Erase(c.old_key);
  }
  if (c.fate == JobFate::kKept) {
    ++CountOf(counts_, c.job.state);
    if (IndexHead* head = HeadOf(c.job.state)) {
      std::shared_ptr<const Job> record;
      // A retried job's history counts: up to kMaxAttemptHistory errors may come with it.
      if (c.job.state == JobState::kWaiting &&
          c.job.payload.size() + HistoryBytes(c.job) <= kMaxKeptPayload && head->Keeps(c.new_key)) {
        record = std::make_shared<const Job>(c.job);
      }
      head->Insert(c.new_key, c.job.id, std::move(record));
    }
  }
}

}  // namespace herald::storage
