#include "common/background_runner.h"

#include <algorithm>
#include <utility>

namespace herald {

BackgroundRunner::BackgroundRunner(std::size_t capacity, std::size_t threads, std::string what)
    : capacity_(capacity), what_(std::move(what)) {
  for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i) {
    threads_.emplace_back([this](std::stop_token stop) { Run(stop); });
  }
}

BackgroundRunner::~BackgroundRunner() {
  std::deque<std::function<void()>> dropped;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    dropped.swap(tasks_);
  }
  cv_.notify_all();
  for (std::jthread& thread : threads_) thread.request_stop();
  threads_.clear();  // joins
}

Status BackgroundRunner::Post(std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    if (stopping_) return Status::ShuttingDown("the server is stopping");
    if (tasks_.size() >= capacity_) {
      return Status::Busy("too many " + what_ + " at once (" + std::to_string(capacity_) +
                          " waiting); try again later");
    }
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return Status::Ok();
}

void BackgroundRunner::Run(std::stop_token stop) {
  while (true) {
    std::function<void()> task;
    {
      MutexLock lock(&mu_);
      cv_.wait(mu_, [&]() REQUIRES(mu_) { return stopping_ || !tasks_.empty(); });
      if (stopping_ || stop.stop_requested()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace herald
