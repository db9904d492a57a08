#include "storage/sequence_allocator.h"

#include "storage/keys.h"

namespace herald::storage {

Status SequenceAllocator::Load() {
  std::string value;
  rocksdb::Status s =
      database_->db()->Get(rocksdb::ReadOptions(), database_->meta(), keys::kSeqLimitKey, &value);
  std::uint64_t start = 1;
  if (!s.IsNotFound()) {
    HERALD_RETURN_IF_ERROR(FromRocks(s, "read sequence limit"));
    HERALD_ASSIGN_OR_RETURN(start, keys::DecodeSeqLimit(value));
  }
  // Every number below the persisted limit may have been used before the restart; the first
  // allocation reserves a new block.
  next_.store(start);
  limit_.store(start);
  return Status::Ok();
}

Status SequenceAllocator::RaiseLimit(std::uint64_t end) {
  MutexLock lock(&raise_mu_);
  if (end <= limit_.load(std::memory_order_acquire)) return Status::Ok();
  std::uint64_t raised = std::max(end, next_.load()) + kBlock;
  // Synced even in the no/everysec modes: a number handed out must never be handed out
  // again, whatever else a machine crash loses.
  HERALD_RETURN_IF_ERROR(database_->PutSynced(database_->meta(), keys::kSeqLimitKey,
                                              keys::EncodeSeqLimit(raised),
                                              "reserve sequence numbers"));
  limit_.store(raised, std::memory_order_release);
  return Status::Ok();
}

}  // namespace herald::storage
