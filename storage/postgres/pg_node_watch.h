// Internal to storage/postgres. NodeWatch: the two background threads a node of the PostgreSQL
// store runs beside its calls:
//   * the listener: a connection of its own that LISTENs on kWorkChannel (pg_job_rows.h) and
//     hands each notification's payload to `notified`; after any gap in listening (the server
//     away, a failover) it calls `missed`, since notifications sent meanwhile are lost;
//   * the keeper: every heartbeat_ms it calls `beat` (the node's heartbeat), and once the
//     heartbeats have gone through for node_timeout_ms in a row, `sweep` after each one (the
//     jobs of nodes that stopped), so that after an outage every node had time to beat first.
//
// Thread safety: the hooks are called on the watch's threads; the destructor stops and joins
// them (a hook running then finishes first).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/status.h"

namespace spdlog {
class logger;
}

namespace herald::storage::postgres {

class NodeWatch {
 public:
  struct Hooks {
    std::function<void(std::string_view payload)> notified;
    std::function<void()> missed;
    std::function<Status(std::int64_t now_ms)> beat;
    std::function<void(std::int64_t now_ms)> sweep;
  };

  NodeWatch(std::string conninfo, std::int64_t heartbeat_ms, std::int64_t node_timeout_ms,
            Hooks hooks, std::shared_ptr<spdlog::logger> log);
  ~NodeWatch();
  NodeWatch(const NodeWatch&) = delete;
  NodeWatch& operator=(const NodeWatch&) = delete;

 private:
  void Listen(std::stop_token stop);
  void Keep(std::stop_token stop);
  // Waits `ms`, or less when stopping; false once stopping.
  bool Pause(const std::stop_token& stop, std::int64_t ms);

  const std::string conninfo_;
  const std::int64_t heartbeat_ms_;
  const std::int64_t node_timeout_ms_;
  const Hooks hooks_;
  const std::shared_ptr<spdlog::logger> log_;
  std::mutex pause_mu_;  // only for the waits of Pause
  std::condition_variable_any pause_;
  // Last: they start once the rest exists.
  std::jthread listener_;
  std::jthread keeper_;
};

}  // namespace herald::storage::postgres
