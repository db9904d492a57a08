#include "storage/wal_syncer.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/rocks_status.h"

namespace herald::storage {
namespace {

// A group's first caller: kQueued until it leads the writing of its group, kLead while its
// group is written and waits for a sync, kRunSync when it is to run the next sync, kDone.
enum : std::uint32_t { kQueued = 0, kLead = 1, kRunSync = 2, kDone = 3 };

constexpr std::size_t kMaxJoinedBytes = 1 << 20;  // batches joined into one write
constexpr std::size_t kSyncsPerRunner = 4;        // syncs one caller runs in a row, at most

// Waits until `queue` (guarded by `mu`) has entries or `stop` is requested, then moves them
// all to `out` (cleared first). False when stopped with nothing left.
template <typename T>
bool TakeAll(Mutex* mu, std::condition_variable_any* cv, std::vector<T>* queue, std::vector<T>* out,
             const std::stop_token& stop) {
  out->clear();
  MutexLock lock(mu);
  cv->wait(*mu, [&] { return !queue->empty() || stop.stop_requested(); });
  if (queue->empty()) return false;
  out->swap(*queue);
  return true;
}

}  // namespace

struct WalSyncer::Waiter {
  explicit Waiter(rocksdb::WriteBatch* b) : batch(b) {}
  rocksdb::WriteBatch* batch;                 // null: written already (SyncWritten)
  Status status;                              // set before its group is done
  std::atomic<std::uint32_t> state{kQueued};  // waited on by the first of a group only
};

struct WalSyncer::Group {
  std::vector<Waiter*> members;        // complete once taken by its first; [0] is that first
  std::atomic<std::uint32_t> done{0};  // 1 once every member's status is set; waited on
};

Status WalSyncer::Commit(rocksdb::WriteBatch* batch) {
  Waiter me(batch);
  std::shared_ptr<Group> group;  // kept by every member: the first may be gone when they look
  bool lead = false;
  bool first = false;
  {
    MutexLock lock(&queue_mu_);
    if (!forming_) forming_ = std::make_shared<Group>();
    group = forming_;
    first = group->members.empty();
    group->members.push_back(&me);
    if (!writing_) {  // then nobody waits to lead `forming_`: this caller is its first
      writing_ = true;
      lead = true;
    }
  }
  if (!first) {
    // Woken with the whole group at once: one wake-up call instead of one per caller, which
    // on a VM each cost the waker a reschedule.
    while (group->done.load(std::memory_order_acquire) == 0) group->done.wait(0);
    return me.status;
  }
  // The first caller of a group writes it once the group before is written.
  while (!lead && me.state.load(std::memory_order_acquire) == kQueued) {
    me.state.wait(kQueued);
  }
  {
    MutexLock lock(&queue_mu_);
    forming_.reset();  // `group`: nobody joins it any more
  }
  const bool any_written = WriteGroup(group->members);
  // The next group is written while this one waits for its sync.
  {
    MutexLock lock(&queue_mu_);
    if (forming_) {
      Waiter* next = forming_->members.front();
      next->state.store(kLead, std::memory_order_release);
      next->state.notify_one();
    } else {
      writing_ = false;
    }
  }
  if (!any_written) {  // every member has its write's error
    Finish(group.get(), &me);
    return std::move(me.status);
  }
  return AwaitSync(std::move(group), &me);
}

Status WalSyncer::SyncWritten() {
  Waiter me(nullptr);
  auto group = std::make_shared<Group>();
  group->members.push_back(&me);
  return AwaitSync(std::move(group), &me);
}

Status WalSyncer::AwaitSync(std::shared_ptr<Group> group, Waiter* first) {
  first->state.store(kLead, std::memory_order_relaxed);
  bool run = false;
  {
    MutexLock lock(&sync_mu_);
    unsynced_.push_back(std::move(group));
    if (!syncing_) syncing_ = run = true;
  }
  if (!run) {
    std::uint32_t state = first->state.load(std::memory_order_acquire);
    while (state == kLead) {
      first->state.wait(kLead);
      state = first->state.load(std::memory_order_acquire);
    }
    if (state == kDone) return std::move(first->status);
  }
  RunSync(first);
  return std::move(first->status);
}

void WalSyncer::RunSync(Waiter* runner) {
  for (std::size_t round = 1;; ++round) {
    // Every group in `unsynced_` was written before this sync starts; the runner's own is
    // among those of the first round (it queued it, or was handed the sync as the first of
    // the oldest one). So were the writes the SyncAsync callers saw return.
    std::vector<std::shared_ptr<Group>> groups;
    std::vector<std::function<void(Status)>> callbacks;
    {
      MutexLock lock(&sync_mu_);
      if (runner == nullptr) GatherLocked();
      groups.swap(unsynced_);
      callbacks.swap(async_syncs_);
      last_async_waiters_ = async_waiters_;
      async_waiters_ = 0;
    }
    const auto started = std::chrono::steady_clock::now();
    // Written (sequence published) before the sync starts: covered by it.
    const rocksdb::SequenceNumber covered = db_->GetLatestSequenceNumber();
    syncs_.fetch_add(1, std::memory_order_relaxed);
    // After a failed WAL write RocksDB must not sync that WAL again (wal_watch.h).
    Status synced = wal_ != nullptr ? wal_->wal_error() : Status::Ok();
    if (synced.ok() && before_sync_) synced = before_sync_();
    if (synced.ok()) synced = FromRocks(db_->SyncWAL(), "sync WAL");
    if (synced.ok()) {
      rocksdb::SequenceNumber seen = synced_seq_.load(std::memory_order_relaxed);
      while (seen < covered &&
             !synced_seq_.compare_exchange_weak(seen, covered, std::memory_order_release)) {
      }
    }
    for (const auto& group : groups) {
      for (Waiter* w : group->members) {
        if (w->status.ok()) w->status = synced;
      }
    }
    // The groups written meanwhile get the next sync: this caller runs a few in a row (a
    // hand-over costs a wake-up between syncs), then the first of the oldest group does, or
    // the sync thread when only SyncAsync callers wait. The sync thread runs them all. This
    // sync's groups are woken after (which may preempt this thread).
    bool again = false;
    bool wake_thread = false;
    {
      MutexLock lock(&sync_mu_);
      last_sync_time_ = std::chrono::steady_clock::now() - started;
      if (unsynced_.empty() && async_syncs_.empty()) {
        syncing_ = false;
      } else if (runner == nullptr || round < kSyncsPerRunner) {
        again = true;
      } else if (!unsynced_.empty()) {
        Waiter* next = unsynced_.front()->members.front();
        next->state.store(kRunSync, std::memory_order_release);
        next->state.notify_one();
      } else {
        sync_thread_turn_ = wake_thread = true;
      }
    }
    if (wake_thread) sync_cv_.notify_one();
    for (const auto& group : groups) Finish(group.get(), runner);
    for (auto& done : callbacks) done(synced);
    if (!again) return;
  }
}

void WalSyncer::GatherLocked() {
  constexpr auto kMaxGather = std::chrono::microseconds(500);
  const std::size_t expected = last_async_waiters_;
  if (expected <= 1 || async_waiters_ >= expected) return;
  const auto wait = std::min<std::chrono::nanoseconds>(last_sync_time_ / 2, kMaxGather);
  sync_cv_.wait_for(sync_mu_, wait,
                    [this, expected]() REQUIRES(sync_mu_) { return async_waiters_ >= expected; });
}

void WalSyncer::SyncAsync(std::function<void(Status)> done, std::size_t waiters) {
  bool wake = false;
  {
    MutexLock lock(&sync_mu_);
    async_syncs_.push_back(std::move(done));
    async_waiters_ += waiters;
    if (!sync_thread_.joinable()) {
      sync_thread_ = std::jthread([this](std::stop_token stop) { SyncLoop(stop); });
    }
    if (!syncing_) syncing_ = sync_thread_turn_ = wake = true;
    // The sync thread may be gathering: this may be the caller it waits for.
    wake = wake || async_waiters_ >= last_async_waiters_;
  }
  if (wake) sync_cv_.notify_one();
}

void WalSyncer::SyncLoop(std::stop_token stop) {
  while (true) {
    {
      MutexLock lock(&sync_mu_);
      sync_cv_.wait(sync_mu_, stop, [this]() REQUIRES(sync_mu_) { return sync_thread_turn_; });
      if (!sync_thread_turn_) return;  // stopped
      sync_thread_turn_ = false;
    }
    RunSync(nullptr);
  }
}

void WalSyncer::Finish(Group* group, Waiter* caller) {
  // Once `done` is set the members may return; their Waiters are not touched after it (the
  // notify only uses the address).
  if (group->members.size() > 1) {
    group->done.store(1, std::memory_order_release);
    group->done.notify_all();
  }
  Waiter* first = group->members.front();
  if (first != caller) {
    first->state.store(kDone, std::memory_order_release);
    first->state.notify_one();
  }
}

WalSyncer::~WalSyncer() {
  bool async_started = false;
  {
    MutexLock lock(&async_mu_);
    async_started = async_writer_.joinable();
    if (async_started) async_writer_.request_stop();
  }
  if (async_started) {
    async_cv_.notify_all();
    async_writer_.join();  // everything queued is written and handed on
    {
      MutexLock lock(&written_mu_);
      async_completer_.request_stop();
    }
    written_cv_.notify_all();
    async_completer_.join();
  }
  {
    // A sync handed to the thread is still run (its wait sees the turn before the stop).
    MutexLock lock(&sync_mu_);
    sync_thread_.request_stop();
  }
  sync_cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
}

void WalSyncer::CommitAsync(rocksdb::WriteBatch batch, std::function<void(Status)> done) {
  {
    MutexLock lock(&async_mu_);
    async_queue_.push_back(AsyncWrite{std::move(batch), std::move(done)});
    if (!async_writer_.joinable()) {
      async_completer_ = std::jthread([this](std::stop_token stop) { CompleteLoop(stop); });
      async_writer_ = std::jthread([this](std::stop_token stop) { WriteLoop(stop); });
    }
  }
  async_cv_.notify_one();
}

void WalSyncer::WriteLoop(std::stop_token stop) {
  std::vector<AsyncWrite> writes;
  while (true) {
    if (!TakeAll(&async_mu_, &async_cv_, &async_queue_, &writes, stop)) return;
    // One write for all of them, as a group's first writes its group; their sync is the
    // completer's, so the next writes go out while it runs.
    std::deque<Waiter> waiters;  // not movable (atomics): a deque never moves them
    for (AsyncWrite& w : writes) waiters.emplace_back(&w.batch);
    std::vector<Waiter*> group;
    group.reserve(waiters.size());
    for (Waiter& w : waiters) group.push_back(&w);
    WriteGroup(group);
    {
      MutexLock lock(&written_mu_);
      for (std::size_t i = 0; i < writes.size(); ++i) {
        written_.push_back(Written{std::move(writes[i].done), std::move(waiters[i].status)});
      }
    }
    written_cv_.notify_one();
  }
}

void WalSyncer::CompleteLoop(std::stop_token stop) {
  std::vector<Written> batch;
  while (true) {
    if (!TakeAll(&written_mu_, &written_cv_, &written_, &batch, stop)) return;
    // One sync covers every write handed over so far (they were written before it starts).
    bool any_written = false;
    for (const Written& w : batch) any_written = any_written || w.status.ok();
    const Status synced = any_written ? SyncWritten() : Status::Ok();
    for (Written& w : batch) {
      if (w.status.ok()) w.status = synced;
      w.done(std::move(w.status));
    }
  }
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

}  // namespace herald::storage
