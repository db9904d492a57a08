#include "storage/everysec_syncer.h"

#include <spdlog/logger.h>

namespace herald::storage {

EverysecSyncer::EverysecSyncer(std::function<Status()> sync, std::shared_ptr<spdlog::logger> log,
                               std::chrono::milliseconds interval)
    : sync_(std::move(sync)),
      log_(std::move(log)),
      interval_(interval),
      thread_([this](std::stop_token stop) { Run(stop); }) {}

EverysecSyncer::~EverysecSyncer() {
  thread_.request_stop();
  thread_.join();
}

void EverysecSyncer::Run(std::stop_token stop) {
  bool failing = false;
  while (!stop.stop_requested()) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Woken early only by the stop request.
      cv_.wait_for(lock, stop, interval_, [] { return false; });
    }
    if (stop.stop_requested()) break;
    Status s = sync_();
    // Logged once per failure, not once per interval.
    if (!s.ok() && !failing) log_->error("store: background WAL sync: {}", s.ToString());
    failing = !s.ok();
  }
}

}  // namespace herald::storage
