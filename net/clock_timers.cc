#include "net/clock_timers.h"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <vector>

namespace herald::net {

ClockTimers::~ClockTimers() { Detach(); }

void ClockTimers::Attach(boost::asio::io_context* io) {
  MutexLock lock(&mu_);
  waker_.emplace(io->get_executor());
  awaited_ms_ = std::numeric_limits<std::int64_t>::max();
  Arm();
}

void ClockTimers::Detach() {
  MutexLock lock(&mu_);
  if (!waker_) return;
  waker_->cancel();
  waker_.reset();
  awaited_ms_ = std::numeric_limits<std::int64_t>::max();
}

ClockTimers::Id ClockTimers::At(std::int64_t due_ms, boost::asio::any_io_executor executor,
                                std::function<void()> fire) {
  MutexLock lock(&mu_);
  const Id id = next_id_++;
  auto place = by_due_.emplace(due_ms, id);
  timers_.emplace(id, std::make_pair(Timer{due_ms, std::move(executor), std::move(fire)}, place));
  if (due_ms < awaited_ms_) Arm();
  return id;
}

bool ClockTimers::Cancel(Id id) {
  MutexLock lock(&mu_);
  auto found = timers_.find(id);
  if (found == timers_.end()) return false;
  by_due_.erase(found->second.second);
  timers_.erase(found);
  return true;
}

std::size_t ClockTimers::RunDue() {
  std::vector<Timer> due;
  {
    MutexLock lock(&mu_);
    const std::int64_t now = clock_->NowMs();
    while (!by_due_.empty() && by_due_.begin()->first <= now) {
      auto found = timers_.find(by_due_.begin()->second);
      due.push_back(std::move(found->second.first));
      timers_.erase(found);
      by_due_.erase(by_due_.begin());
    }
    Arm();
  }
  for (Timer& timer : due) boost::asio::post(timer.executor, std::move(timer.fire));
  return due.size();
}

std::size_t ClockTimers::pending() const {
  MutexLock lock(&mu_);
  return timers_.size();
}

void ClockTimers::Arm() {
  if (!waker_ || by_due_.empty()) return;
  const std::int64_t earliest = by_due_.begin()->first;
  if (earliest >= awaited_ms_) return;  // the waker wakes before it anyway
  awaited_ms_ = earliest;
  const std::uint64_t generation = ++generation_;
  const std::int64_t wait_ms = std::max<std::int64_t>(0, earliest - clock_->NowMs());
  waker_->expires_after(std::chrono::milliseconds(wait_ms));  // cancels the earlier wait
  waker_->async_wait([this, generation](boost::system::error_code ec) {
    if (ec == boost::asio::error::operation_aborted) return;  // replaced, or detached
    OnWake(generation);
  });
}

void ClockTimers::OnWake(std::uint64_t generation) {
  {
    MutexLock lock(&mu_);
    if (generation != generation_) return;  // a later wait took its place
    awaited_ms_ = std::numeric_limits<std::int64_t>::max();
  }
  RunDue();  // and waits for the next deadline
}

}  // namespace herald::net
