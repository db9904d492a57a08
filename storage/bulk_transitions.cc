#include "storage/bulk_transitions.h"

#include <spdlog/logger.h>

#include <algorithm>

#include "storage/bounded_iterator.h"
#include "storage/keys.h"

namespace herald::storage {

Result<std::uint64_t> BulkTransitions::ApplyToEntries(QueueState* qs, JobState from,
                                                      const std::vector<IndexHead::Entry>& entries,
                                                      EntryOrigin origin,
                                                      const std::function<bool(Job&)>& edit,
                                                      JobFate fate, std::vector<Job>* changed) {
  if (entries.empty()) return std::uint64_t{0};
  std::vector<std::string> ids;
  ids.reserve(entries.size());
  for (const auto& e : entries) ids.push_back(e.id);
  IdLocks::Guard guard = id_locks_->LockMany(std::move(ids));

  rocksdb::WriteBatch batch;
  std::vector<Change> changes;
  for (const auto& e : entries) {
    Result<Job> job = reader_->Read(e.id);
    if (!job.ok()) {
      if (!job.status().IsNotFound()) {
        log_->error("store: queue {}: skipping {}", qs->name(), job.status().ToString());
      }
      continue;
    }
    if (job->state != from || keys::IndexKeyOf(*job) != e.key) continue;  // moved meanwhile
    if (!edit(*job)) continue;
    Change c;
    c.from = from;
    c.old_key = e.key;
    c.fate = fate;
    if (fate == JobFate::kKept) c.new_key = keys::IndexKeyOf(*job);
    c.job = std::move(*job);
    AddToBatch(&batch, qs->cf(), database_->jobs(), c);
    changes.push_back(std::move(c));
  }
  Status s = changes.empty() ? Status::Ok() : database_->Write(&batch, "update " + qs->name());
  MutexLock lock(&qs->mu());
  if (!s.ok()) {
    IndexHead* head = qs->HeadOf(from);
    if (origin == EntryOrigin::kPoppedFromHead && head != nullptr) {
      for (const auto& e : entries) head->Insert(e.key, e.id);
    }
    return s;
  }
  for (const auto& c : changes) qs->Apply(c);
  scanner_->KeepDelayedHeadLoaded(qs);
  if (changed != nullptr) {
    for (auto& c : changes) changed->push_back(std::move(c.job));
  }
  return static_cast<std::uint64_t>(changes.size());
}

Result<std::uint64_t> BulkTransitions::RetryAllFailed(std::string_view queue,
                                                      std::vector<Job>* retried) {
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, registry_->Require(queue));
  // Stop at the last failed job present now, so a stream of new failures can't keep this going.
  std::string start(keys::IndexPrefix(JobState::kFailed));
  std::string end;
  {
    BoundedIterator it(database_->db(), qs->cf(), start, keys::IndexEnd(JobState::kFailed));
    it->SeekToLast();
    HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "scan " + qs->name()));
    if (!it->Valid()) return std::uint64_t{0};
    end = keys::Successor(it->key().ToStringView());
  }
  auto retry = [](Job& job) {
    RetryFailedJob(&job);
    return true;
  };
  std::uint64_t total = 0;
  while (true) {
    HERALD_ASSIGN_OR_RETURN(auto entries, scanner_->Scan(qs, start, end, kBulkChunk));
    if (entries.empty()) break;
    start = keys::Successor(entries.back().key);
    HERALD_ASSIGN_OR_RETURN(std::uint64_t n,
                            ApplyToEntries(qs, JobState::kFailed, entries, EntryOrigin::kScanned,
                                           retry, JobFate::kKept, retried));
    total += n;
  }
  return total;
}

Result<std::vector<IndexHead::Entry>> BulkTransitions::PopDue(QueueState* qs, std::int64_t now_ms,
                                                              std::uint64_t max) const {
  std::vector<IndexHead::Entry> entries;
  MutexLock lock(&qs->mu());
  IndexHead& delayed = qs->delayed();
  while (entries.size() < max) {
    if (!delayed.HasAhead()) {
      if (qs->counts().delayed == 0 || delayed.complete()) break;
      HERALD_RETURN_IF_ERROR(scanner_->Refill(qs, &delayed, JobState::kDelayed));
      if (!delayed.HasAhead()) break;
    }
    if (keys::TimeOfIndexKey(delayed.Front().key).value_or(0) > now_ms) break;
    entries.push_back(delayed.PopFront());
  }
  return entries;
}

Result<std::uint64_t> BulkTransitions::PromoteDue(std::string_view queue, std::int64_t now_ms,
                                                  std::uint64_t limit, std::vector<Job>* promoted) {
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, registry_->Require(queue));
  std::uint64_t total = 0;
  std::uint64_t claimed_total = 0;
  while (claimed_total < limit) {
    HERALD_ASSIGN_OR_RETURN(
        std::vector<IndexHead::Entry> entries,
        PopDue(qs, now_ms, std::min<std::uint64_t>(kBulkChunk, limit - claimed_total)));
    if (entries.empty()) break;
    claimed_total += entries.size();
    HERALD_ASSIGN_OR_RETURN(std::uint64_t n,
                            ApplyToEntries(
                                qs, JobState::kDelayed, entries, EntryOrigin::kPoppedFromHead,
                                [](Job& job) {
                                  job.state = JobState::kWaiting;
                                  return true;
                                },
                                JobFate::kKept, promoted));
    total += n;
  }
  return total;
}

Result<std::uint64_t> BulkTransitions::Clean(std::string_view queue, JobState state,
                                             std::int64_t older_than_ms, std::uint64_t limit,
                                             std::vector<Job>* cleaned) {
  if (state == JobState::kActive) {
    return Status::InvalidArgument("active jobs can't be cleaned (they are being worked on)");
  }
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, registry_->Require(queue));
  std::string start;
  {
    MutexLock lock(&qs->mu());
    IndexHead* head = qs->HeadOf(state);
    start =
        head != nullptr ? std::string(head->ScanStart()) : std::string(keys::IndexPrefix(state));
  }
  // Time-ordered indexes stop at the cut-off; waiting is ordered by priority, so every entry's
  // record is checked.
  // A job at exactly the cut-off is old enough (age 0 cleans the jobs of this millisecond too).
  std::string end = state == JobState::kWaiting ? keys::IndexEnd(state)
                                                : keys::TimeIndexBound(state, older_than_ms + 1);
  std::uint64_t removed = 0;
  while (removed < limit) {
    std::size_t want =
        state == JobState::kWaiting
            ? kBulkChunk
            : static_cast<std::size_t>(std::min<std::uint64_t>(kBulkChunk, limit - removed));
    HERALD_ASSIGN_OR_RETURN(auto entries, scanner_->Scan(qs, start, end, want));
    if (entries.empty()) break;
    start = keys::Successor(entries.back().key);
    std::uint64_t budget = limit - removed;
    std::uint64_t planned = 0;
    auto edit = [&](Job& job) {
      if (state == JobState::kWaiting && job.created_ms > older_than_ms) return false;
      if (planned >= budget) return false;
      ++planned;
      return true;
    };
    HERALD_ASSIGN_OR_RETURN(std::uint64_t n,
                            ApplyToEntries(qs, state, entries, EntryOrigin::kScanned, edit,
                                           JobFate::kRemoved, cleaned));
    removed += n;
  }
  return removed;
}

}  // namespace herald::storage
