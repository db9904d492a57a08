// `herald worker`: the notification handlers run against a broker elsewhere, over RESP, until
// SIGTERM/SIGINT. The handlers keep their records (delivery log, inbox, tickets) in the local
// store.
#pragma once

#include "herald/engine.h"
#include "tools/herald/flags.h"
#include "tools/herald/startup.h"

namespace herald::tools {

// Runs the remote worker; returns the process's exit code (2 for a usage error). `store` is
// borrowed for the whole call.
int RunWorker(const Startup& startup, const WorkerFlags& flags, Engine* engine);

}  // namespace herald::tools
