#include "storage/kv_write.h"

#include <cassert>

namespace herald::storage {

Status WrongTypeError() {
  return Status::WrongType("Operation against a key holding the wrong kind of value");
}

KvWrite::KvWrite(KvWritePipeline* pipeline, int db, KvWriteGroup* group, std::string_view what,
                 Keys keys)
    : pipeline_(pipeline), db_(db), group_(group), what_(what) {
  // Before the mutex: creating a column family takes another lock, never taken under it.
  if (keys == Keys::kMayCreate) cf_status_ = pipeline_->EnsureCf(db_);
  pipeline_->mu()->Lock();
}

// Unlocks unless Commit() did.
KvWrite::~KvWrite() NO_THREAD_SAFETY_ANALYSIS {
  if (locked_) pipeline_->mu()->Unlock();
}

Result<keys::KvMeta> KvWrite::ReadMeta(std::string_view key) {
  AssertLocked();
  if (!cf_status_.ok()) return cf_status_;
  return pipeline_->ReadMetaLocked(db_, key);
}

Status KvWrite::AllowRangeDeletes() {
  AssertLocked();
  if (range_deletes_) return Status::Ok();
  // The pending writes come first in the WAL: they were made first.
  HERALD_RETURN_IF_ERROR(pipeline_->FlushLocked());
  range_deletes_.emplace();
  return Status::Ok();
}

bool KvWrite::NeedsRangeDelete(const keys::KvMeta& meta) {
  return meta.type == KvType::kList && meta.head_node != meta.tail_node;
}

void KvWrite::Put(std::string row, std::string_view value) {
  AssertLocked();
  pipeline_->Put(db_, std::move(row), value);
}

void KvWrite::Delete(std::string row) {
  AssertLocked();
  pipeline_->Delete(db_, std::move(row));
}

void KvWrite::DeletePrefix(int db, std::string_view prefix) {
  assert(range_deletes_);
  (void)range_deletes_->DeleteRange(pipeline_->Cf(db), prefix, keys::PrefixEnd(prefix));
}

Result<std::string*> KvWrite::RowForUpdate(std::string row) {
  AssertLocked();
  return pipeline_->RowForUpdate(db_, std::move(row));
}

void KvWrite::Grew(std::size_t bytes) {
  AssertLocked();
  pipeline_->AddPendingBytes(bytes);
}

Status KvWrite::RemoveValue(std::string_view key, const keys::KvMeta& meta) {
  if (meta.type != KvType::kList) return Status::Ok();
  if (!NeedsRangeDelete(meta)) {
    Delete(keys::KvNodeKey(key, meta.head_node));
    return Status::Ok();
  }
  HERALD_RETURN_IF_ERROR(AllowRangeDeletes());
  DeletePrefix(db_, keys::KvElementPrefix(key));
  return Status::Ok();
}

Status KvWrite::RemoveValues(const std::vector<std::pair<std::string_view, keys::KvMeta>>& old) {
  for (const auto& [key, meta] : old) {
    if (NeedsRangeDelete(meta)) {
      HERALD_RETURN_IF_ERROR(AllowRangeDeletes());  // before the first row of any of them
      break;
    }
  }
  for (const auto& [key, meta] : old) HERALD_RETURN_IF_ERROR(RemoveValue(key, meta));
  return Status::Ok();
}

std::uint64_t& KvWrite::KeyCount() {
  AssertLocked();
  return pipeline_->KeyCount(db_);
}

Status KvWrite::Commit() {
  AssertLocked();
  Result<std::uint64_t> ticket = !cf_status_.ok() ? Result<std::uint64_t>(cf_status_)
                                 : range_deletes_
                                     ? pipeline_->FinishAtOnce(&*range_deletes_, group_, what_)
                                     : pipeline_->Finish(group_, what_);
  locked_ = false;
  pipeline_->mu()->Unlock();
  if (!ticket.ok()) return ticket.status();
  if (group_ != nullptr) return Status::Ok();
  return pipeline_->WaitDurable(*ticket);
}

}  // namespace herald::storage
