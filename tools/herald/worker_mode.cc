#include "tools/herald/worker_mode.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/clock.h"
#include "handlers/registry.h"
#include "tools/herald/remote_records.h"
#include "tools/herald/remote_worker.h"

namespace herald::tools {

int RunWorker(const Startup& startup, const WorkerFlags& flags) {
  RemoteWorkerOptions options;
  if (Status status = ParseHostPort(flags.connect, &options.host, &options.port); !status.ok()) {
    spdlog::critical("--connect: {}", status.message());
    return 2;
  }
  options.password = flags.password;
  options.threads = startup.config.workers;
  if (options.threads == 0) {
    spdlog::critical("a worker needs --workers of at least 1");
    return 2;
  }
  options.lease_ms = flags.lease_ms;

  // The handlers keep their records in the broker, where its INBOX, SENT and TICKETS and the
  // user API read them.
  RemoteRecords records({.host = options.host, .port = options.port, .password = options.password});
  SystemClock clock;
  auto built = handlers::BuildHandlers(startup.handlers, &records, &clock, startup.logger);
  if (!built.ok()) {
    spdlog::critical("handlers: {}", built.status().message());
    return 1;
  }
  std::map<std::string, std::shared_ptr<engine::Handler>> chosen;
  for (auto& [queue, handler] : *built) {
    bool wanted = flags.queues.empty() ||
                  std::find(flags.queues.begin(), flags.queues.end(), queue) != flags.queues.end();
    if (wanted) chosen.emplace(queue, std::move(handler));
  }
  if (chosen.empty()) {
    spdlog::critical("no handler for the queues asked for");
    return 2;
  }
  std::string names;
  for (const auto& [queue, handler] : chosen) names += (names.empty() ? "" : ", ") + queue;

  RemoteWorker worker(options, std::move(chosen), startup.logger);
  spdlog::info("herald worker: {} thread(s) on {} from {}", options.threads, names, flags.connect);
  spdlog::info("herald ready");
  std::stop_source stop;
  std::jthread runner([&] { worker.Run(stop.get_token()); });
  int signal_number = 0;
  while ((signal_number = WaitForSignal(startup.signals)) == SIGHUP) {
    spdlog::warn("SIGHUP: a worker reads its config only at start; restart it to change it");
  }
  spdlog::info("signal {} received, finishing the jobs in hand", signal_number);
  stop.request_stop();
  runner.join();
  spdlog::info("herald worker stopped: {} completed, {} failed attempts", worker.completed(),
               worker.failed());
  return 0;
}

}  // namespace herald::tools
