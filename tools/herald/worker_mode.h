// `herald worker`: the notification handlers run against a broker elsewhere, over RESP, until
// SIGTERM/SIGINT. The handlers keep their records (delivery log, inbox, tickets, preferences,
// device tokens) in the broker (RemoteRecords); the worker opens no store of its own.
#pragma once

#include "tools/herald/flags.h"
#include "tools/herald/startup.h"

namespace herald::tools {

// Runs the remote worker; returns the process's exit code (2 for a usage error).
int RunWorker(const Startup& startup, const WorkerFlags& flags);

}  // namespace herald::tools
