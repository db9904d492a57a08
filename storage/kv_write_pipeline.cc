#include "storage/kv_write_pipeline.h"

#include <rocksdb/iterator.h>

#include <memory>

#include "storage/rocks_status.h"
#include "storage/sync_deferral.h"

namespace herald::storage {
namespace {

// The header of `key` from its row (kNone when there is none).
Result<keys::KvMeta> MetaOf(std::string_view key, const std::optional<std::string>& row) {
  if (!row) return keys::KvMeta{};
  auto meta = keys::DecodeKvMeta(*row);
  if (!meta.ok()) return meta.status().WithPrefix("key '" + std::string(key) + "'");
  return meta;
}

}  // namespace

KvWritePipeline::KvWritePipeline(rocksdb::DB* db,
                                 const std::array<rocksdb::ColumnFamilyHandle*, kKvDatabases>& cfs,
                                 WalSyncer* wal_syncer, CreateCf create_cf)
    : db_(db), wal_syncer_(wal_syncer), create_cf_(std::move(create_cf)) {
  for (std::size_t n = 0; n < cfs.size(); ++n) cfs_[n].store(cfs[n]);
}

KvWritePipeline::~KvWritePipeline() {
  MutexLock lock(&mu_);
  (void)FlushLocked();  // the store syncs the WAL after this
}

Status KvWritePipeline::EnsureCf(int db) {
  if (Cf(db) != nullptr) return Status::Ok();
  MutexLock lock(&create_mu_);
  if (Cf(db) != nullptr) return Status::Ok();
  if (!create_cf_) return Status::Internal("no column family for database " + std::to_string(db));
  HERALD_ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * cf, create_cf_(db));
  // Published before the write that needed it takes mu_: a flush of that write finds it.
  cfs_[static_cast<std::size_t>(db)].store(cf, std::memory_order_release);
  return Status::Ok();
}

// ---- Reads ----------------------------------------------------------------------------------

Result<std::optional<std::string>> KvWritePipeline::GetFromDb(int db,
                                                              const std::string& row) const {
  if (Cf(db) == nullptr) return std::optional<std::string>();  // never written
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Cf(db), row, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  HERALD_RETURN_IF_ERROR(FromRocks(s, "read kv key"));
  return std::optional<std::string>(std::string(value.data(), value.size()));
}

Result<std::optional<std::string>> KvWritePipeline::GetLocked(int db, const std::string& row) {
  if (auto found = Pending(db).find(row); found != Pending(db).end()) return found->second;
  return GetFromDb(db, row);
}

Result<keys::KvMeta> KvWritePipeline::ReadMetaLocked(int db, std::string_view key) {
  HERALD_ASSIGN_OR_RETURN(std::optional<std::string> row, GetLocked(db, keys::KvMetaKey(key)));
  return MetaOf(key, row);
}

Result<keys::KvMeta> KvWritePipeline::ReadMeta(int db, std::string_view key) {
  if (has_pending_.load(std::memory_order_acquire)) {
    MutexLock lock(&mu_);
    return ReadMetaLocked(db, key);
  }
  // Nothing pending: the database holds every write made so far (a write that becomes pending
  // meanwhile is not acknowledged yet, so reading around it is fine).
  HERALD_ASSIGN_OR_RETURN(std::optional<std::string> row, GetFromDb(db, keys::KvMetaKey(key)));
  return MetaOf(key, row);
}

Status KvWritePipeline::FlushForIteration() {
  if (!has_pending_.load(std::memory_order_acquire)) return Status::Ok();
  MutexLock lock(&mu_);
  return FlushLocked();
}

Status KvWritePipeline::CountKeysLocked(
    int db, std::vector<std::pair<std::string, keys::KvMeta>>* element_row_lists) {
  if (Cf(db) == nullptr) {
    KeyCount(db) = 0;
    return Status::Ok();
  }
  std::string end = keys::PrefixEnd(keys::kKvMetaPrefix);
  rocksdb::Slice lower(keys::kKvMetaPrefix.data(), keys::kKvMetaPrefix.size());
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Cf(db)));
  std::uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++n;
    if (element_row_lists == nullptr) continue;
    auto meta = keys::DecodeKvMeta(std::string_view(it->value().data(), it->value().size()));
    if (!meta.ok() || !meta->element_rows) continue;
    element_row_lists->emplace_back(it->key().ToString().substr(keys::kKvMetaPrefix.size()), *meta);
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "count kv keys"));
  KeyCount(db) = n;
  return Status::Ok();
}

void KvWritePipeline::RecountAllLocked() {
  for (int db = 0; db < kKvDatabases; ++db) (void)CountKeysLocked(db);
}

// ---- Rows -----------------------------------------------------------------------------------

void KvWritePipeline::Put(int db, std::string row, std::string_view value) {
  pending_bytes_ += row.size() + value.size();
  Pending(db).insert_or_assign(std::move(row), std::string(value));
}

void KvWritePipeline::Delete(int db, std::string row) {
  pending_bytes_ += row.size();
  Pending(db).insert_or_assign(std::move(row), std::nullopt);
}

Result<std::string*> KvWritePipeline::RowForUpdate(int db, std::string row) {
  auto found = Pending(db).find(row);
  if (found == Pending(db).end()) {
    HERALD_ASSIGN_OR_RETURN(std::optional<std::string> stored, GetFromDb(db, row));
    if (!stored) return static_cast<std::string*>(nullptr);
    pending_bytes_ += row.size() + stored->size();
    found = Pending(db).emplace(std::move(row), std::move(stored)).first;
  }
  if (!found->second) return static_cast<std::string*>(nullptr);
  return &*found->second;
}

// ---- Tickets and the WAL --------------------------------------------------------------------

Result<std::uint64_t> KvWritePipeline::Finish(KvWriteGroup* group, std::string_view what) {
  const std::uint64_t ticket = ++last_ticket_;
  has_pending_.store(true, std::memory_order_release);
  if (group == nullptr || pending_bytes_ > kMaxPendingBytes) {
    HERALD_RETURN_IF_ERROR(FlushLocked().WithPrefix(std::string(what)));
  }
  if (group != nullptr) group->Joined(ticket);
  return ticket;
}

Result<std::uint64_t> KvWritePipeline::FinishAtOnce(rocksdb::WriteBatch* range_deletes,
                                                    KvWriteGroup* group, std::string_view what) {
  const std::uint64_t ticket = ++last_ticket_;
  HERALD_RETURN_IF_ERROR(WritePendingLocked(range_deletes, what));
  if (group != nullptr) group->Joined(ticket);
  return ticket;
}

Status KvWritePipeline::FlushLocked() {
  if (written_ticket_ == last_ticket_) return Status::Ok();
  // Only the latest write of each row: a pipeline of pushes to one list rewrites its header
  // once per push, and a memtable insert is the dearest part of a write.
  std::size_t rows = 0;
  for (const PendingRows& pending : pending_) rows += pending.size();
  rocksdb::WriteBatch batch(pending_bytes_ + 32 * rows);
  return WritePendingLocked(&batch, "write kv");
}

Status KvWritePipeline::WritePendingLocked(rocksdb::WriteBatch* batch, std::string_view what) {
  const std::uint64_t from = written_ticket_ + 1;
  // Every database's rows go in the one batch: the WAL keeps the writes in ticket order.
  for (int db = 0; db < kKvDatabases; ++db) {
    rocksdb::ColumnFamilyHandle* cf = Cf(db);  // set before the database's first write
    for (const auto& [row, value] : Pending(db)) {
      if (value) {
        (void)batch->Put(cf, row, *value);
      } else {
        (void)batch->Delete(cf, row);
      }
    }
  }
  Status status = FromRocks(db_->Write(write_options_, batch), what);
  written_ticket_ = last_ticket_;
  for (PendingRows& pending : pending_) pending.clear();
  pending_bytes_ = 0;
  has_pending_.store(false, std::memory_order_release);
  if (!status.ok()) {
    RememberFailure(from, written_ticket_, status);
    RecountAllLocked();
  }
  return status;
}

void KvWritePipeline::RememberFailure(std::uint64_t from, std::uint64_t to, const Status& status) {
  failures_.push_back({from, to, status});
  while (failures_.size() > kMaxFailures) failures_.pop_front();
}

Status KvWritePipeline::WaitDurable(std::uint64_t ticket) {
  {
    MutexLock lock(&mu_);
    if (written_ticket_ < ticket) (void)FlushLocked();
    for (const Failure& failure : failures_) {
      if (ticket >= failure.from && ticket <= failure.to) return failure.status;
    }
  }
  // Under a deferral the caller waits for the sync itself (Store::SyncAsync).
  if (wal_syncer_ == nullptr || SyncDeferral::active()) return Status::Ok();
  return wal_syncer_->SyncWritten().WithPrefix("sync kv writes");
}

}  // namespace herald::storage
