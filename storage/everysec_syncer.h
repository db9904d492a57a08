// Internal to storage/. EverysecSyncer: the background WAL sync of `everysec` mode, a thread
// that calls `sync` once per `interval` until the object goes away. A failing sync is logged
// once when it starts failing, not once per interval.
//
// Thread safety: the object is only made and destroyed; `sync` runs on its own thread.
// `sync` and what it uses must stay valid until the destructor returns (it stops and joins the
// thread). `log` is shared.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>

#include "common/status.h"

namespace spdlog {
class logger;
}

namespace herald::storage {

class EverysecSyncer {
 public:
  // Starts the thread. Default interval: one second (Redis's `appendfsync everysec`).
  EverysecSyncer(std::function<Status()> sync, std::shared_ptr<spdlog::logger> log,
                 std::chrono::milliseconds interval = std::chrono::seconds(1));
  ~EverysecSyncer();  // stops the thread at once (no last sync) and joins it
  EverysecSyncer(const EverysecSyncer&) = delete;
  EverysecSyncer& operator=(const EverysecSyncer&) = delete;

 private:
  void Run(std::stop_token stop);

  const std::function<Status()> sync_;
  const std::shared_ptr<spdlog::logger> log_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;  // only for the timed wait
  std::condition_variable_any cv_;
  std::jthread thread_;  // last: started once the rest is made
};

}  // namespace herald::storage
