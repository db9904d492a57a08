// Startup: what main() settled before herald runs as a broker (Serve) or as a remote worker
// (RunWorker): the merged configuration, the engine's and the handlers' settings, the logger,
// and the shutdown and reload signals, blocked in every thread.
//
// Thread safety: plain values, built once at start and then only read.
#pragma once

#include <signal.h>

#include <memory>

#include "engine/engine_config.h"
#include "handlers/handler_config.h"
#include "tools/herald/config.h"

namespace spdlog {
class logger;
}

namespace herald::tools {

struct Startup {
  HeraldConfig config;
  engine::EngineConfig engine;
  handlers::HandlersConfig handlers;
  std::shared_ptr<spdlog::logger> logger;
  sigset_t signals{};  // SIGTERM, SIGINT and SIGHUP, blocked in every thread before any starts
};

// Waits for one of `signals` (blocked in every thread) and returns its number.
inline int WaitForSignal(const sigset_t& signals) {
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  return signal_number;
}

}  // namespace herald::tools
