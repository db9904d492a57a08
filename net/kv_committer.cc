#include "net/kv_committer.h"

#include <boost/asio/post.hpp>

#include <utility>

namespace herald::net {

void KvCommitter::Enqueue(engine::KvWriteGroup* group, Done done) {
  bool post = false;
  {
    MutexLock lock(&mu_);
    group->MoveInto(&group_);
    waiting_.push_back(std::move(done));
    if (!scheduled_) scheduled_ = post = true;
  }
  groups_.fetch_add(1, std::memory_order_relaxed);
  // Posted behind the handlers already queued: the reads that are ready now join this commit.
  if (post) boost::asio::post(executor_, [this] { Run(); });
}

void KvCommitter::Run() {
  std::vector<Done> waiting;
  engine::KvWriteGroup group(kv_);
  {
    MutexLock lock(&mu_);
    scheduled_ = false;
    waiting.swap(waiting_);
    group_.MoveInto(&group);
  }
  // Outside the lock: groups handed over meanwhile go to the next commit, which the first of
  // them schedules.
  Status status;
  {
    engine::SyncDeferral deferral;  // written here; synced below, off this thread
    status = group.Commit();
  }
  commits_.fetch_add(1, std::memory_order_relaxed);
  if (status.ok() && durability_->replies_wait()) {
    const std::size_t waiters = waiting.size();
    durability_->AfterSync(
        [waiting = std::move(waiting)](Status synced) {
          for (const Done& done : waiting) done(synced);
        },
        waiters);
    return;
  }
  for (Done& done : waiting) done(status);
}

}  // namespace herald::net
