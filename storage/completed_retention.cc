#include "storage/completed_retention.h"

#include <spdlog/logger.h>

#include <algorithm>

namespace herald::storage {

std::int64_t CompletedRetention::Slack() const {
  return std::min(static_cast<std::int64_t>(retention_) / 16, kMaxPruneSlack);
}

void CompletedRetention::PlanPrune(QueueState* qs, std::uint64_t completing,
                                   rocksdb::WriteBatch* batch, Prune* prune) {
  {
    MutexLock lock(&qs->mu());
    IndexHead& completed = qs->completed();
    // Counting the jobs being completed now.
    std::int64_t excess =
        static_cast<std::int64_t>(qs->counts().completed) + static_cast<std::int64_t>(completing) -
        static_cast<std::int64_t>(qs->prune_claimed()) - static_cast<std::int64_t>(retention_);
    if (excess <= Slack()) return;
    excess = std::min(excess, kMaxPrunePerComplete * static_cast<std::int64_t>(completing));
    while (static_cast<std::int64_t>(prune->claimed.size()) < excess) {
      if (!completed.HasAhead()) {
        if (completed.complete()) {
          prune->ran_out = true;
          break;
        }
        Status s = scanner_->Refill(qs, &completed, JobState::kCompleted);
        if (!s.ok()) {
          log_->error("store: queue {}: reading completed jobs: {}", qs->name(), s.ToString());
          break;
        }
        if (!completed.HasAhead()) {
          prune->ran_out = true;
          break;
        }
      }
      prune->claimed.push_back(completed.Claim());
    }
    qs->set_prune_claimed(qs->prune_claimed() + prune->claimed.size());
  }
  // Only try: this thread already holds the completing jobs' ids. A victim whose claim is
  // still valid once its id is held is a completed job at that key (every other change of it
  // erases the key from the head first), so it is deleted without reading its record.
  std::vector<std::optional<IdLocks::Guard>> held;
  held.reserve(prune->claimed.size());
  for (const auto& victim : prune->claimed) held.push_back(id_locks_->TryLock(victim.id));
  MutexLock lock(&qs->mu());
  for (std::size_t i = 0; i < prune->claimed.size(); ++i) {
    const IndexHead::Entry& victim = prune->claimed[i];
    bool still_there = qs->completed().EndClaim(victim);
    if (!held[i]) {
      if (still_there) prune->give_back.push_back(victim);
      continue;
    }
    if (!still_there) continue;
    batch->Delete(qs->cf(), victim.key);
    batch->Delete(database_->jobs(), victim.id);
    prune->deleted.push_back(victim);
    prune->guards.push_back(std::move(*held[i]));
  }
  if (!prune->deleted.empty()) {
    batch->Merge(qs->cf(), keys::CountKey(JobState::kCompleted),
                 keys::EncodeCount(-static_cast<std::int64_t>(prune->deleted.size())));
  }
}

void CompletedRetention::FinishPrune(QueueState* qs, Prune* prune, const Status& written) {
  IndexHead& completed = qs->completed();
  qs->set_prune_claimed(qs->prune_claimed() -
                        std::min<std::uint64_t>(qs->prune_claimed(), prune->claimed.size()));
  if (!written.ok()) {
    // Claims are over: the victims that were to go are ahead again.
    for (auto& e : prune->deleted) completed.Insert(std::move(e.key), std::move(e.id));
  } else {
    QueueCounts& counts = qs->counts();
    counts.completed -= std::min<std::uint64_t>(counts.completed, prune->deleted.size());
  }
  for (auto& e : prune->give_back) completed.Insert(std::move(e.key), std::move(e.id));
}

Status CompletedRetention::Trim(QueueState* qs) {
  while (true) {
    std::vector<IndexHead::Entry> victims;
    {
      MutexLock lock(&qs->mu());
      IndexHead& completed = qs->completed();
      if (qs->counts().completed <= retention_) return Status::Ok();
      std::uint64_t excess = qs->counts().completed - retention_;
      while (victims.size() < std::min<std::uint64_t>(excess, kBulkChunk)) {
        if (!completed.HasAhead()) {
          if (completed.complete()) break;
          HERALD_RETURN_IF_ERROR(scanner_->Refill(qs, &completed, JobState::kCompleted));
          if (!completed.HasAhead()) break;
        }
        victims.push_back(completed.PopFront());
      }
    }
    if (victims.empty()) return Status::Ok();
    HERALD_ASSIGN_OR_RETURN(std::uint64_t n,
                            bulk_->ApplyToEntries(
                                qs, JobState::kCompleted, victims, EntryOrigin::kPoppedFromHead,
                                [](Job&) { return true; }, JobFate::kRemoved));
    if (n == 0) return Status::Ok();
  }
}

void CompletedRetention::TrimIfOver(QueueState* qs) {
  bool over;
  {
    MutexLock lock(&qs->mu());
    over = static_cast<std::int64_t>(qs->counts().completed) >
           static_cast<std::int64_t>(retention_) + Slack();
  }
  if (!over) return;
  Status trimmed = Trim(qs);
  if (!trimmed.ok()) {
    log_->error("store: queue {}: completed retention: {}", qs->name(), trimmed.ToString());
  }
}

}  // namespace herald::storage
