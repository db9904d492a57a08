#include "storage/postgres/pg_node_watch.h"

#include <spdlog/logger.h>

#include <chrono>

#include "storage/postgres/pg_connection.h"
#include "storage/postgres/pg_job_rows.h"
#include "storage/wall_clock.h"

namespace herald::storage::postgres {

NodeWatch::NodeWatch(std::string conninfo, std::int64_t heartbeat_ms, std::int64_t node_timeout_ms,
                     Hooks hooks, std::shared_ptr<spdlog::logger> log)
    : conninfo_(std::move(conninfo)),
      heartbeat_ms_(heartbeat_ms),
      node_timeout_ms_(node_timeout_ms),
      hooks_(std::move(hooks)),
      log_(std::move(log)),
      listener_([this](std::stop_token stop) { Listen(stop); }),
      keeper_([this](std::stop_token stop) { Keep(stop); }) {}

NodeWatch::~NodeWatch() {
  listener_.request_stop();
  keeper_.request_stop();
  if (listener_.joinable()) listener_.join();
  if (keeper_.joinable()) keeper_.join();
}

bool NodeWatch::Pause(const std::stop_token& stop, std::int64_t ms) {
  std::unique_lock<std::mutex> lock(pause_mu_);
  return !pause_.wait_for(lock, stop, std::chrono::milliseconds(ms), [] { return false; }) &&
         !stop.stop_requested();
}

void NodeWatch::Listen(std::stop_token stop) {
  bool missed = false;
  while (!stop.stop_requested()) {
    Result<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(conninfo_);
    Status listening =
        conn.ok() ? (*conn)->Run("LISTEN " + std::string(kWorkChannel)) : conn.status();
    if (!listening.ok()) {
      missed = true;
      log_->debug("store: not listening for other nodes' work: {}", listening.ToString());
      if (!Pause(stop, 1000)) return;
      continue;
    }
    if (missed) hooks_.missed();
    missed = false;
    // Short waits, so that a stop is seen soon.
    while (!stop.stop_requested() && (*conn)->WaitForNotifications(250, hooks_.notified).ok()) {
    }
    missed = true;
  }
}

void NodeWatch::Keep(std::stop_token stop) {
  std::int64_t beating_since = WallClockMs();  // 0 while the heartbeats fail
  while (Pause(stop, heartbeat_ms_)) {
    const std::int64_t now_ms = WallClockMs();
    if (!hooks_.beat(now_ms).ok()) {
      beating_since = 0;
      continue;
    }
    if (beating_since == 0) beating_since = now_ms;
    if (now_ms - beating_since >= node_timeout_ms_) hooks_.sweep(now_ms);
  }
}

}  // namespace herald::storage::postgres
