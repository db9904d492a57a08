#include "storage/index_scanner.h"

#include <spdlog/logger.h>

#include "storage/bounded_iterator.h"
#include "storage/keys.h"
#include "storage/scoped_snapshot.h"

namespace herald::storage {

Status IndexScanner::Refill(QueueState* qs, IndexHead* head, JobState state) const {
  // One snapshot for the index and the records, so each record read matches its entry.
  ScopedSnapshot snapshot(database_->db());
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.get();
  BoundedIterator it(database_->db(), qs->cf(), head->lower(), keys::IndexEnd(state), ro);
  std::vector<IndexHead::Entry> entries;
  entries.reserve(kRefillBatch);
  std::string last_scanned;
  for (it->Seek(it.lower()); it->Valid() && entries.size() < kRefillBatch; it->Next()) {
    // A lease: that job is active, not waiting (keys.h); the head moves past it.
    if (state == JobState::kWaiting && keys::DecodeLease(it->value().ToStringView())) {
      last_scanned = it->key().ToString();
      continue;
    }
    entries.push_back({it->key().ToString(), it->value().ToString(), nullptr});
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "scan " + qs->name()));
  bool reached_end = !it->Valid();
  if (state == JobState::kWaiting && !entries.empty()) ReadRecords(snapshot.get(), &entries);
  head->AppendScanned(std::move(entries), reached_end, last_scanned);
  return Status::Ok();
}

void IndexScanner::ReadRecords(const rocksdb::Snapshot* snapshot,
                               std::vector<IndexHead::Entry>* entries) const {
  // Takes of these jobs come next: read their records in one batched lookup (consecutive
  // ids share blocks) instead of one Get each.
  std::vector<rocksdb::Slice> ids;
  ids.reserve(entries->size());
  for (const auto& e : *entries) ids.emplace_back(e.id);
  std::vector<rocksdb::PinnableSlice> values(entries->size());
  std::vector<rocksdb::Status> statuses(entries->size());
  rocksdb::ReadOptions get_options;
  get_options.snapshot = snapshot;
  database_->db()->MultiGet(get_options, database_->jobs(), ids.size(), ids.data(), values.data(),
                            statuses.data());
  for (std::size_t i = 0; i < entries->size(); ++i) {
    if (!statuses[i].ok() || values[i].size() > QueueState::kMaxKeptPayload + 512) continue;
    Result<Job> job = DecodeJob(std::string_view(values[i].data(), values[i].size()));
    IndexHead::Entry& entry = (*entries)[i];
    // Anything odd is left for Take to read and report.
    if (!job.ok() || job->state != JobState::kWaiting || keys::IndexKeyOf(*job) != entry.key) {
      continue;
    }
    entry.record = std::make_shared<const Job>(std::move(*job));
  }
}

void IndexScanner::LoadDelayedHead(QueueState* qs) const {
  Status s = Refill(qs, &qs->delayed(), JobState::kDelayed);
  if (!s.ok()) log_->error("store: queue {}: reading delayed jobs: {}", qs->name(), s.ToString());
}

Result<std::vector<IndexHead::Entry>> IndexScanner::Scan(const QueueState* qs,
                                                         std::string_view start,
                                                         std::string_view end,
                                                         std::size_t max) const {
  BoundedIterator it(database_->db(), qs->cf(), std::string(start), std::string(end));
  std::vector<IndexHead::Entry> out;
  for (it->Seek(it.lower()); it->Valid() && out.size() < max; it->Next()) {
    if (keys::DecodeLease(it->value().ToStringView())) continue;  // an active job
    out.push_back({it->key().ToString(), it->value().ToString(), nullptr});
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "scan " + qs->name()));
  return out;
}

}  // namespace herald::storage
