#include "storage/queue_recovery.h"

#include <spdlog/logger.h>

#include <algorithm>
#include <string_view>

#include "storage/bounded_iterator.h"
#include "storage/keys.h"

namespace herald::storage {
namespace {

constexpr std::string_view kStalledError = "stalled: worker lost (process restarted)";

}  // namespace

Status QueueRecovery::Recover(QueueState* qs, std::int64_t now_ms) {
  HERALD_ASSIGN_OR_RETURN(std::vector<StalledEntry> active, Count(qs));
  HERALD_RETURN_IF_ERROR(PutBack(qs, active, now_ms));
  HERALD_RETURN_IF_ERROR(retention_->Trim(qs));
  MutexLock lock(&qs->mu());
  scanner_->KeepDelayedHeadLoaded(qs);
  // The first jobs to take are read now (with the blocks of the index and records they sit
  // in), so that the first GETJOB after a start does not wait for cold reads.
  if (qs->counts().waiting > 0 && !qs->waiting().HasAhead()) {
    HERALD_RETURN_IF_ERROR(scanner_->Refill(qs, &qs->waiting(), JobState::kWaiting));
  }
  return Status::Ok();
}

Result<std::vector<QueueRecovery::StalledEntry>> QueueRecovery::Count(QueueState* qs) const {
  HERALD_ASSIGN_OR_RETURN(std::optional<QueueCounts> kept, ReadCounters(qs));
  if (kept) {
    HERALD_ASSIGN_OR_RETURN(std::vector<StalledEntry> active, FindLeases(qs, kept->active));
    if (active.size() == kept->active) {
      MutexLock lock(&qs->mu());
      qs->counts() = *kept;
      return active;
    }
    log_->warn(
        "store: queue {}: its counters say {} active jobs, its index holds {}; counting "
        "it again",
        qs->name(), kept->active, active.size());
  }
  return CountAll(qs);
}

Result<std::optional<QueueCounts>> QueueRecovery::ReadCounters(QueueState* qs) const {
  rocksdb::DB* db = database_->db();
  std::string value;
  rocksdb::Status marker = db->Get(rocksdb::ReadOptions(), qs->cf(), keys::kCountedKey, &value);
  if (marker.IsNotFound()) return std::optional<QueueCounts>();
  HERALD_RETURN_IF_ERROR(FromRocks(marker, "read counters"));
  QueueCounts counts;
  for (JobState state : kJobStates) {
    rocksdb::Status got = db->Get(rocksdb::ReadOptions(), qs->cf(), keys::CountKey(state), &value);
    std::int64_t n = 0;
    if (got.ok()) {
      std::optional<std::int64_t> decoded = keys::DecodeCount(value);
      if (!decoded || *decoded < 0) return std::optional<QueueCounts>();  // count again
      n = *decoded;
    } else if (got.IsCorruption()) {
      return std::optional<QueueCounts>();  // a merge that failed: count again
    } else if (!got.IsNotFound()) {
      return FromRocks(got, "read counters");
    }
    CountOf(counts, state) = static_cast<std::uint64_t>(n);
  }
  rocksdb::Status paused = db->Get(rocksdb::ReadOptions(), qs->cf(), keys::kPausedKey, &value);
  if (paused.ok()) {
    HERALD_ASSIGN_OR_RETURN(counts.paused, keys::DecodeFlag(value));
  } else if (!paused.IsNotFound()) {
    return FromRocks(paused, "read pause flag");
  }
  return std::optional<QueueCounts>(counts);
}

Result<std::vector<QueueRecovery::StalledEntry>> QueueRecovery::FindLeases(
    QueueState* qs, std::uint64_t expected) const {
  // Leases sit where takes found their jobs, at the front of the waiting index, unless jobs of
  // a higher priority came after them: the scan stops at the last one expected.
  std::vector<StalledEntry> active;
  if (expected == 0) return active;
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  BoundedIterator it(database_->db(), qs->cf(), std::string(keys::IndexPrefix(JobState::kWaiting)),
                     keys::IndexEnd(JobState::kWaiting), ro);
  for (it->SeekToFirst(); it->Valid() && active.size() < expected; it->Next()) {
    if (auto lease = keys::DecodeLease(it->value().ToStringView())) {
      active.push_back(
          StalledEntry{it->key().ToString(), std::string(lease->id),
                       StalledEntry::LeaseInfo{lease->attempts_made, lease->processed_ms,
                                               std::string(lease->worker)}});
    }
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "scan leases"));
  return active;
}

Result<std::vector<QueueRecovery::StalledEntry>> QueueRecovery::CountAll(QueueState* qs) const {
  // One pass over the column family: counters, the pause flag, and the active entries.
  QueueCounts counts;
  std::vector<StalledEntry> active;
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(database_->db()->NewIterator(ro, qs->cf()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    if (k.size() < 2 || k[1] != '|') continue;
    switch (k[0]) {
      case 'w':
        if (auto lease = keys::DecodeLease(it->value().ToStringView())) {
          ++counts.active;
          active.push_back(
              StalledEntry{k.ToString(), std::string(lease->id),
                           StalledEntry::LeaseInfo{lease->attempts_made, lease->processed_ms,
                                                   std::string(lease->worker)}});
        } else {
          ++counts.waiting;
        }
        break;
      case 'd':
        ++counts.delayed;
        break;
      case 'c':
        ++counts.completed;
        break;
      case 'f':
        ++counts.failed;
        break;
      case 'a':
        ++counts.active;
        active.push_back(StalledEntry{k.ToString(), it->value().ToString(), std::nullopt});
        break;
      case 'm':
        if (k.ToStringView() == keys::kPausedKey) {
          auto paused = keys::DecodeFlag(it->value().ToStringView());
          if (!paused.ok()) return paused.status();
          counts.paused = *paused;
        }
        break;
      default:
        break;
    }
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "scan queue"));
  // From now on the counters are kept (each change merges its +1/-1 into them), and the next
  // open reads them instead of this pass.
  rocksdb::WriteBatch batch;
  for (JobState state : kJobStates) {
    batch.Put(qs->cf(), keys::CountKey(state),
              keys::EncodeCount(static_cast<std::int64_t>(CountOf(counts, state))));
  }
  batch.Put(qs->cf(), keys::kCountedKey, keys::EncodeFlag(true));
  HERALD_RETURN_IF_ERROR(database_->Write(&batch, "write counters of " + qs->name()));
  MutexLock lock(&qs->mu());
  qs->counts() = counts;
  return active;
}

Result<std::optional<Change>> QueueRecovery::PlanPutBack(const StalledEntry& e,
                                                         std::int64_t now_ms) const {
  Result<Job> read = reader_->ReadStored(e.id);
  if (!read.ok() && !read.status().IsNotFound()) return read.status();
  bool matches = false;
  if (read.ok()) {
    if (e.lease) {  // the record reads as waiting, at this key
      matches = read->state == JobState::kWaiting && keys::IndexKeyOf(*read) == e.key;
      read->attempts_made = e.lease->attempts_made;
      read->processed_ms = e.lease->processed_ms;
      // The attempt the lease began (only the lease has it: keys.h).
      StartAttempt(&*read, e.lease->processed_ms, e.lease->worker);
    } else {  // an older build's "a|" entry: the record reads as active
      matches = read->state == JobState::kActive && keys::ActiveKey(read->seq) == e.key;
    }
  }
  if (!matches) return std::optional<Change>();
  Change c;
  c.from = JobState::kActive;
  c.old_key = e.key;
  c.job = std::move(*read);
  PutBackStalled(&c.job, now_ms, kStalledError);
  c.new_key = keys::IndexKeyOf(c.job);
  return std::optional<Change>(std::move(c));
}

Status QueueRecovery::PutBack(QueueState* qs, const std::vector<StalledEntry>& active,
                              std::int64_t now_ms) {
  // An entry whose record is gone or doesn't match (a bug or a damaged disk) is dropped, so
  // that the counters stay true.
  std::uint64_t dropped = 0;
  for (std::size_t i = 0; i < active.size(); i += kBulkChunk) {
    rocksdb::WriteBatch batch;
    std::vector<Change> changes;
    std::uint64_t dropped_here = 0;
    for (std::size_t j = i; j < std::min(i + kBulkChunk, active.size()); ++j) {
      HERALD_ASSIGN_OR_RETURN(std::optional<Change> c, PlanPutBack(active[j], now_ms));
      if (!c) {
        batch.Delete(qs->cf(), active[j].key);
        batch.Merge(qs->cf(), keys::CountKey(JobState::kActive), keys::EncodeCount(-1));
        ++dropped_here;
        continue;
      }
      AddToBatch(&batch, qs->cf(), database_->jobs(), *c);
      changes.push_back(std::move(*c));
    }
    HERALD_RETURN_IF_ERROR(database_->Write(&batch, "recover active jobs of " + qs->name()));
    MutexLock lock(&qs->mu());
    for (const Change& c : changes) qs->Apply(c);
    QueueCounts& counts = qs->counts();
    counts.active -= std::min(counts.active, dropped_here);
    recovered_active_ += changes.size();
    dropped += dropped_here;
  }
  if (dropped > 0) {
    log_->warn("store: queue {}: dropped {} active entries without a matching job record",
               qs->name(), dropped);
  }
  if (!active.empty()) {
    log_->warn("store: queue {}: {} jobs were active when the store closed; put back", qs->name(),
               active.size() - dropped);
  }
  return database_->SyncWal().WithPrefix("sync recovery");
}

}  // namespace herald::storage
