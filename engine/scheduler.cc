#include "engine/scheduler.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace herald::engine {
namespace {

// The thread re-reads the clock at least this often, in case the wall clock jumps.
constexpr std::int64_t kMaxSleepMs = 5000;

}  // namespace

Scheduler::Scheduler(Clock* clock, Tick tick) : clock_(clock), tick_(std::move(tick)) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

void Scheduler::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  cv_.notify_all();
  thread_ = std::jthread();
}

void Scheduler::WakeAt(std::int64_t at_ms) {
  // Most requests (a lease taken, a job delayed) are later than the pass already planned.
  if (at_ms >= wake_ms_.load(std::memory_order_acquire)) return;
  MutexLock lock(&mu_);
  if (at_ms >= wake_ms_.load(std::memory_order_relaxed)) return;
  wake_ms_.store(at_ms, std::memory_order_release);
  kicked_ = true;
  cv_.notify_all();
}

void Scheduler::Loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    {
      MutexLock lock(&mu_);
      wake_ms_.store(kNever, std::memory_order_release);  // every request during the pass counts
    }
    std::int64_t next = tick_();
    MutexLock lock(&mu_);
    // What was asked for during the pass (it may have looked before the change was made).
    next = std::min(next, wake_ms_.load(std::memory_order_relaxed));
    kicked_ = false;
    const std::int64_t now = clock_->NowMs();
    const std::int64_t sleep_ms =
        std::clamp<std::int64_t>(next == kNever ? kMaxSleepMs : next - now, 0, kMaxSleepMs);
    if (sleep_ms == 0) continue;
    wake_ms_.store(next, std::memory_order_release);
    // Sleeps until the next due time (rounded up to the millisecond), an earlier request or stop.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(sleep_ms);
    cv_.wait_until(mu_, stop, deadline, [this]() REQUIRES(mu_) { return kicked_; });
  }
}

}  // namespace herald::engine
