// RemoteWorker: `herald worker --connect host:port` — runs the notification handlers in this
// process against a broker elsewhere, over RESP: GETJOB (blocking, with a lease), the handler,
// then the next GETJOB with ACK id RESULT value (the handler's return value): the job is
// completed and the next one taken in one round trip and one write, as the broker's own worker
// threads do. A failed handler's job gets NACK (with PERMANENT when it failed for good, so the
// job is not retried). Stopping sends the last job's ACKJOB.
//
// Thread safety: Run() from one thread; it starts `threads` worker threads of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/handler.h"

namespace spdlog {
class logger;
}

namespace herald::tools {

struct RemoteWorkerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6380;
  std::string password;       // AUTH when set
  std::uint32_t threads = 5;  // connections, each running one job at a time
  // The lease asked for each job, and the handler's timeout: a run past it is a failed attempt
  // (the job is no longer this worker's). Default: 60 s.
  std::int64_t lease_ms = 60000;
  // How long one GETJOB waits before asking again (so that stop is noticed). Default: 1000.
  std::int64_t poll_ms = 1000;
};

class RemoteWorker {
 public:
  // `handlers`: queue name -> handler; the worker takes only from these queues.
  RemoteWorker(RemoteWorkerOptions options,
               std::map<std::string, std::shared_ptr<engine::Handler>> handlers,
               std::shared_ptr<spdlog::logger> logger);

  // Runs until `stop` is requested; then finishes the jobs in hand and returns.
  void Run(std::stop_token stop);

  std::uint64_t completed() const { return completed_.load(); }
  std::uint64_t failed() const { return failed_.load(); }

 private:
  void Loop(std::stop_token stop, std::uint32_t index);

  RemoteWorkerOptions options_;
  std::map<std::string, std::shared_ptr<engine::Handler>> handlers_;
  std::shared_ptr<spdlog::logger> logger_;
  std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::uint64_t> failed_{0};
};

// Parses "host:port" (port required). InvalidArgument names the problem.
Status ParseHostPort(const std::string& text, std::string* host, std::uint16_t* port);

}  // namespace herald::tools
