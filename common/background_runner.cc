#include "common/background_runner.h"

namespace herald {

BackgroundRunner::BackgroundRunner(std::size_t capacity)
    : capacity_(capacity), thread_([this](std::stop_token stop) { Run(stop); }) {}

BackgroundRunner::~BackgroundRunner() {
  std::deque<std::function<void()>> dropped;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    dropped.swap(tasks_);
  }
  cv_.notify_all();
  thread_.request_stop();
  thread_.join();
}

Status BackgroundRunner::Post(std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    if (stopping_) return Status::ShuttingDown("the server is stopping");
    if (tasks_.size() >= capacity_) {
      return Status::Busy("too many long requests at once (" + std::to_string(capacity_) +
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
