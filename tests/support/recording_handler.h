// RecordingHandler: an engine::Handler for tests that records every call and answers from a
// script (fail the first N attempts, throw, sleep, block until released).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "engine/handler.h"

namespace herald::testing {

class RecordingHandler : public engine::Handler {
 public:
  struct Call {
    std::string id;
    std::string queue;
    std::string payload;
    std::uint32_t attempts_made;
  };

  // Decides the outcome of each call; default: success with return value "ok".
  std::function<engine::HandlerOutcome(const engine::HandlerJob&)> script;

  engine::HandlerOutcome Run(const engine::HandlerJob& job) override {
    int now_running = ++running_;
    int seen = max_running_.load();
    while (now_running > seen && !max_running_.compare_exchange_weak(seen, now_running)) {
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back({std::string(job.id), std::string(job.queue), std::string(job.payload),
                        job.attempts_made});
    }
    cv_.notify_all();
    struct Leave {
      std::atomic<int>* running;
      ~Leave() { --*running; }
    } leave{&running_};
    if (script) return script(job);
    return engine::HandlerOutcome::Success("ok");
  }

  std::vector<Call> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  size_t call_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_.size();
  }
  // Waits until at least `n` calls were made.
  bool WaitForCalls(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return calls_.size() >= n; });
  }
  int running() const { return running_.load(); }
  int max_running() const { return max_running_.load(); }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Call> calls_;
  std::atomic<int> running_{0};
  std::atomic<int> max_running_{0};
};

}  // namespace herald::testing
