// `herald admin`: an operator's view of a running Herald over RESP, with readable tables by
// default and JSON with --json.
//
//   herald admin [--connect host:port] [--password P] [--json] stats
//   herald admin ... queues                      counts per queue and state, paused
//   herald admin ... jobs QUEUE STATE [--count N]
//   herald admin ... show ID
//   herald admin ... retry QUEUE [ID ...]        failed -> waiting (every failed job without ids)
//   herald admin ... retry QUEUE [--filter TEXT] [--type EVENT]   the failed jobs that match
//   herald admin ... pause QUEUE | resume QUEUE
//   herald admin ... clean QUEUE STATE [--older-than MS] [--limit N]
//
// Exit status: 0 done, 1 the server refused (its error is printed), 2 a usage error or no
// connection.
//
// Thread safety: runs on the calling thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace herald::tools {

struct AdminFlags {
  std::string connect = "127.0.0.1:6380";  // the server's host:port
  std::string password;                    // AUTH password; "" = none
  bool json = false;                       // JSON instead of tables
  std::string action;                      // stats, queues, jobs, show, retry, pause, ...
  std::vector<std::string> args;           // the action's arguments
  std::uint32_t count = 20;                // jobs: how many
  std::int64_t older_than_ms = 0;          // clean: only jobs older than this
  std::uint64_t limit = 1000;              // clean: at most this many
  std::string filter;                      // retry: text in the payload or the last error
  std::string type;                        // retry: the event type (the payload's eventType)
};

// Runs the action against the server; writes the result to `out`, errors to `err`.
int RunAdmin(const AdminFlags& flags, std::FILE* out, std::FILE* err);

// `herald reload [--connect host:port] [--password P]`: the server reads its config file again
// (RELOAD; see tools/herald/config_reload.h). Exit 1 when it refuses the file (the reason is
// printed), 2 without a connection.
int RunReload(const std::string& connect, const std::string& password, std::FILE* out,
              std::FILE* err);

}  // namespace herald::tools
