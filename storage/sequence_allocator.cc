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
  raiser_ = std::jthread([this](std::stop_token stop) { RaiseAheadLoop(std::move(stop)); });
  return Status::Ok();
}

SequenceAllocator::~SequenceAllocator() {
  if (!raiser_.joinable()) return;
  raiser_.request_stop();
  ahead_cv_.notify_all();
  raiser_.join();
}

void SequenceAllocator::RaiseAhead() {
  if (ahead_asked_.exchange(true)) return;
  {
    MutexLock lock(&ahead_mu_);
    ahead_wanted_ = true;
  }
  ahead_cv_.notify_one();
}

void SequenceAllocator::RaiseAheadLoop(std::stop_token stop) {
  while (true) {
    {
      MutexLock lock(&ahead_mu_);
      ahead_cv_.wait(ahead_mu_, stop, [this]() REQUIRES(ahead_mu_) { return ahead_wanted_; });
      if (stop.stop_requested()) return;
      ahead_wanted_ = false;
    }
    // A block past the limit in force. A failure is not reported here: the caller that runs
    // out of numbers raises it itself and gets the error.
    Status raised = RaiseLimit(limit_.load(std::memory_order_acquire) + 1);
    (void)raised;
    ahead_asked_.store(false);
  }
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
