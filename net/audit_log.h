// AuditLog: every operator action — retry, delete, promote, pause, resume, clean, bulk —
// whether it came through the HTTP API or a RESP admin command, recorded durably with its time,
// the client, what it was done to and how many jobs it matched. GET /api/audit reads it newest
// first. Bounded: entries older than kKeepMs are removed as new ones come.
//
// Records live under the admin records ("audit|" + be64 ms + be64 sequence -> JSON).
//
// A failed audit write does not undo or fail the action (it is done by then): it is logged.
//
// Thread safety: thread-safe. `records` and `clock` must outlive the log.
#pragma once

#include <boost/json/object.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "engine/records.h"

namespace spdlog {
class logger;
}

namespace herald::net {

struct AuditEntry {
  std::int64_t at_ms = 0;
  std::string client;  // "http 127.0.0.1:5312", "resp 127.0.0.1:6001 (name)"
  std::string action;  // "retry", "bulk-retry", "pause", ...
  std::string target;  // a job id or a queue name
  std::uint64_t matched = 0;
  std::string detail;  // the filter of a bulk action, a clean's state, ...
};

// {at, client, action, target, matched, detail}: what the log keeps and GET /api/audit shows.
boost::json::object AuditJson(const AuditEntry& entry);

class AuditLog {
 public:
  static constexpr std::int64_t kKeepMs = 90LL * 24 * 3600 * 1000;  // 90 days

  AuditLog(engine::Records* records, Clock* clock, std::shared_ptr<spdlog::logger> logger);

  // Stamps `entry` with the time and writes it.
  void Record(AuditEntry entry);
  // Up to `limit` entries, newest first.
  Result<std::vector<AuditEntry>> Recent(std::uint32_t limit) const;

 private:
  engine::Records* records_;
  Clock* clock_;
  std::shared_ptr<spdlog::logger> logger_;
  std::atomic<std::uint64_t> sequence_;
  std::atomic<std::uint64_t> written_{0};  // since the start, for pruning now and then
};

}  // namespace herald::net
