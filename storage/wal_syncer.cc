#include "storage/wal_syncer.h"

#include <sched.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/rocks_status.h"

namespace herald::storage {
namespace {

enum : std::uint32_t { kQueued = 0, kLead = 1 };

constexpr std::size_t kMaxYields = 32;            // a leader's wait for its group to fill
constexpr std::size_t kMaxJoinedBytes = 1 << 20;  // batches joined into one write

}  // namespace

struct WalSyncer::Waiter {
  explicit Waiter(rocksdb::WriteBatch* b) : batch(b) {}
  rocksdb::WriteBatch* batch;
  Status status;                              // set before its group is done
  std::atomic<std::uint32_t> state{kQueued};  // waited on by the first of a group only
};

struct WalSyncer::Group {
  std::vector<Waiter*> members;        // complete once taken by its leader
  std::atomic<std::uint32_t> done{0};  // 1 once every member's status is set; waited on
};

Status WalSyncer::Commit(rocksdb::WriteBatch* batch) {
  Waiter me(batch);
  std::shared_ptr<Group> group;  // kept by every member: the leader may be gone when they look
  bool lead = false;
  bool first = false;
  {
    MutexLock lock(&queue_mu_);
    if (!forming_) forming_ = std::make_shared<Group>();
    group = forming_;
    first = group->members.empty();
    group->members.push_back(&me);
    queued_.store(group->members.size(), std::memory_order_relaxed);
    if (!writing_) {  // then nobody waits to lead `forming_`: this caller is its first
      writing_ = true;
      lead = true;
    }
  }
  if (!first) {
    // Woken with the whole group at once: one wake-up call instead of one per caller, which
    // on a VM each cost the leader a reschedule.
    while (group->done.load(std::memory_order_acquire) == 0) group->done.wait(0);
    return me.status;
  }
  // The first caller of a group leads it once the group before is written.
  while (!lead && me.state.load(std::memory_order_acquire) == kQueued) {
    me.state.wait(kQueued);
  }

  // Let the callers woken with a group before queue again first (they are runnable, and
  // behind this thread): yield while they keep coming, so they join this group instead of
  // making the next one. With more writers than cores that is what makes groups large.
  for (std::size_t seen = 0, i = 0; i < kMaxYields; ++i) {
    const std::size_t queued = queued_.load(std::memory_order_relaxed);
    if (i > 0 && queued == seen) break;
    seen = queued;
    sched_yield();
  }
  {
    MutexLock lock(&queue_mu_);
    forming_.reset();  // `group`: nobody joins it any more
    queued_.store(0, std::memory_order_relaxed);
  }
  const bool any_written = WriteGroup(group->members);
  // The next group is written while this one's sync runs.
  {
    MutexLock lock(&queue_mu_);
    if (forming_) {
      Waiter* next = forming_->members.front();  // the first of the next group
      next->state.store(kLead, std::memory_order_release);
      next->state.notify_one();
    } else {
      writing_ = false;
    }
  }
  // One sync at a time (else they queue inside RocksDB, each for a few batches): the groups
  // written while one runs share the next.
  const Status synced = any_written ? SyncWritten() : Status::Ok();
  for (Waiter* w : group->members) {
    if (w->status.ok()) w->status = synced;
  }
  Status mine = std::move(me.status);
  // Once `done` is set the members may return: their Waiters are not touched after it.
  group->done.store(1, std::memory_order_release);
  if (group->members.size() > 1) group->done.notify_all();
  return mine;
}

bool WalSyncer::WriteGroup(const std::vector<Waiter*>& group) {
  // One batch for the group: one WAL record, one write(2), one pass through the write path.
  // A WriteBatch's data is its WAL record: a 12-byte header (sequence number, fixed64; count of
  // records, fixed32, little-endian) then the records (rocksdb/db/write_batch.cc), so batches
  // join by concatenating their records and adding their counts.
  // Past kMaxJoinedBytes (large AddMany calls) copying would cost more than it saves.
  constexpr std::size_t kHeader = 12;
  std::size_t bytes = 0;
  std::uint32_t count = 0;
  for (const Waiter* w : group) {
    bytes += w->batch->GetDataSize();
    count += w->batch->Count();
  }
  if (group.size() > 1 && bytes <= kMaxJoinedBytes) {
    std::string rep;
    rep.reserve(bytes);
    rep.append(group.front()->batch->Data());
    for (std::size_t i = 1; i < group.size(); ++i) {
      rep.append(group[i]->batch->Data(), kHeader);
    }
    for (std::size_t i = 0; i < 4; ++i) rep[8 + i] = static_cast<char>((count >> (8 * i)) & 0xff);
    rocksdb::WriteBatch joined(std::move(rep));
    if (joined.Count() == count && db_->Write(write_options_, &joined).ok()) {
      for (Waiter* w : group) w->status = Status::Ok();
      return true;
    }
    // Written one by one, so that each caller gets the error of its own batch (one batch's
    // fault must not fail the others).
  }
  bool any_written = false;
  for (Waiter* w : group) {
    w->status = FromRocks(db_->Write(write_options_, w->batch), "write");
    any_written = any_written || w->status.ok();
  }
  return any_written;
}

Status WalSyncer::SyncWritten() {
  const std::uint64_t ticket = tickets_.fetch_add(1, std::memory_order_acq_rel) + 1;
  for (;;) {
    const std::uint32_t ended = syncs_ended_.load(std::memory_order_acquire);
    if (synced_.load(std::memory_order_acquire) >= ticket) return Status::Ok();
    if (failed_.load(std::memory_order_acquire) >= ticket) {
      MutexLock lock(&failure_mu_);
      return failure_;
    }
    bool idle = false;
    if (!syncing_.compare_exchange_strong(idle, true, std::memory_order_acq_rel)) {
      syncs_ended_.wait(ended);  // until the running sync ends (or at once if it has)
      continue;
    }
    // Every call that took a ticket up to `target` made its write before taking it.
    const std::uint64_t target = tickets_.load(std::memory_order_acquire);
    syncs_.fetch_add(1, std::memory_order_relaxed);
    Status status = FromRocks(db_->SyncWAL(), "sync WAL");
    if (status.ok()) {
      synced_.store(target, std::memory_order_release);
    } else {
      MutexLock lock(&failure_mu_);
      failure_ = status;
      failed_.store(target, std::memory_order_release);
    }
    syncing_.store(false, std::memory_order_release);
    syncs_ended_.fetch_add(1, std::memory_order_release);
    syncs_ended_.notify_all();
  }
}

}  // namespace herald::storage
