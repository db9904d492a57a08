#include "engine/worker_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace herald::engine {

WorkerPool::WorkerPool(Work work, std::shared_ptr<spdlog::logger> logger)
    : work_(std::move(work)), logger_(std::move(logger)) {}

WorkerPool::~WorkerPool() { JoinAll(); }

void WorkerPool::JoinAll() {
  // Joined outside mu_: a returning thread takes it on its way out.
  std::vector<std::jthread> threads;
  {
    MutexLock lock(&mu_);
    for (Slot& slot : slots_) threads.push_back(std::move(slot.thread));
    for (std::jthread& thread : replaced_threads_) threads.push_back(std::move(thread));
    replaced_threads_.clear();
  }
  threads.clear();
}

void WorkerPool::Start(std::uint32_t threads, std::uint32_t queues) {
  MutexLock lock(&mu_);
  queues_ = std::max<std::uint32_t>(1, queues);
  slots_.resize(threads);
  for (std::uint32_t i = 0; i < threads; ++i) StartSlot(i);
}

void WorkerPool::StartSlot(std::uint32_t index) {
  Slot& slot = slots_[index];
  slot.serial = ++next_serial_;
  slot.job.clear();
  ++live_;
  slot.thread = std::jthread([this, index, serial = slot.serial](std::stop_token stop) {
    Loop(stop, index, serial);
    MutexLock lock(&mu_);
    --live_;
    idle_cv_.notify_all();
  });
}

bool WorkerPool::Replace(std::string_view id) {
  MutexLock lock(&mu_);
  if (stopping_.load() || id.empty()) return false;
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = slots_[i];
    if (slot.job != id) continue;
    logger_->warn(
        "worker {}: the handler of job {} is still running past its lease; a new thread takes "
        "over worker {} (the old one ends when the handler returns)",
        i, slot.job, i);
    replaced_threads_.push_back(std::move(slot.thread));
    ++replaced_;
    StartSlot(i);
    return true;
  }
  return false;
}

bool WorkerPool::SetJob(std::uint32_t index, std::uint64_t serial, std::string job) {
  MutexLock lock(&mu_);
  Slot& slot = slots_[index];
  if (slot.serial != serial) return false;
  slot.job = std::move(job);
  return true;
}

void WorkerPool::NotifyWork() {
  // Pairs with WaitForWork: either the sleeper sees the new generation, or this sees the
  // sleeper and locks, so that the notify cannot fall between its check and its wait.
  generation_.fetch_add(1);
  if (sleepers_.load() == 0) return;
  { MutexLock lock(&mu_); }
  work_cv_.notify_all();
}

void WorkerPool::WaitForWork(const std::stop_token& stop, std::uint64_t generation) {
  MutexLock lock(&mu_);
  sleepers_.fetch_add(1);
  work_cv_.wait(mu_, stop, [this, generation] {
    return stopping_.load() || generation_.load() != generation;
  });
  sleepers_.fetch_sub(1);
}

void WorkerPool::Loop(std::stop_token stop, std::uint32_t index, std::uint64_t serial) {
  std::uint32_t cursor = 0;
  {
    MutexLock lock(&mu_);
    cursor = index % queues_;
  }
  bool replaced = false;
  while (!replaced && !stop.stop_requested() && !stopping_.load()) {
    const std::uint64_t generation = generation_.load();
    auto job = work_.take(index, &cursor);
    if (!job.ok()) {
      logger_->error("worker {}: take failed: {}", index, job.status().message());
      MutexLock lock(&mu_);
      work_cv_.wait_for(mu_, stop, std::chrono::milliseconds(100),
                        [this] { return stopping_.load(); });
      continue;
    }
    if (!job->has_value()) {
      WaitForWork(stop, generation);
      continue;
    }
    {
      MutexLock lock(&mu_);
      ++running_;
    }
    // A job taken with the completion of the one before counts as running from then on, so
    // that Stop never sees no handler running while this worker is about to start one.
    std::optional<LeasedJob> next = std::move(*job);
    while (next) {
      if (!SetJob(index, serial, next->job.id)) {
        // Replaced while taking it along: the new thread serves this index; the job's lease
        // ends and it goes back.
        replaced = true;
        break;
      }
      next = work_.run(index, std::move(*next), stop, &cursor);
    }
    if (!replaced && !SetJob(index, serial, "")) replaced = true;
    {
      MutexLock lock(&mu_);
      --running_;
    }
    idle_cv_.notify_all();
  }
}

bool WorkerPool::Stop(std::chrono::milliseconds grace) {
  {
    MutexLock lock(&mu_);
    stopping_.store(true);
  }
  work_cv_.notify_all();
  {
    MutexLock lock(&mu_);
    const bool idle = idle_cv_.wait_until(mu_, std::chrono::steady_clock::now() + grace,
                                          [this]() REQUIRES(mu_) { return running_ == 0; });
    if (!idle) {
      logger_->warn("{} handler(s) still running after {} ms; asking them to stop", running_,
                    grace.count());
    }
  }
  {
    MutexLock lock(&mu_);
    for (Slot& slot : slots_) slot.thread.request_stop();
    for (std::jthread& thread : replaced_threads_) thread.request_stop();
  }
  work_cv_.notify_all();
  bool stopped_all = false;
  {
    MutexLock lock(&mu_);
    stopped_all = idle_cv_.wait_until(mu_, std::chrono::steady_clock::now() + grace,
                                      [this]() REQUIRES(mu_) { return live_ == 0; });
    if (!stopped_all) {
      logger_->error(
          "{} handler(s) ignored the stop request for {} ms; left running, their jobs stay "
          "active and are waiting again at the next start",
          running_, grace.count());
    }
  }
  if (stopped_all) JoinAll();  // every thread returned
  return stopped_all;
}

std::uint32_t WorkerPool::running() const {
  MutexLock lock(&mu_);
  return running_;
}

std::size_t WorkerPool::size() const {
  MutexLock lock(&mu_);
  return slots_.size();
}

std::uint64_t WorkerPool::replaced() const {
  MutexLock lock(&mu_);
  return replaced_;
}

}  // namespace herald::engine
