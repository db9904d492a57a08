// `herald`: the broker. Wires the engine, the handlers and the RESP server over an open store
// and runs until SIGTERM/SIGINT or SHUTDOWN; then stops the servers, drains the workers within
// the grace and lets main() close the store.
#pragma once

#include "herald/engine.h"
#include "tools/herald/startup.h"

namespace herald::tools {

// Runs the broker; returns the process's exit code. `store` is borrowed for the whole call.
// When a handler ignored its stop token and still runs at the end, the process exits from
// here without closing the store (as safe as kill -9: every acknowledged write is in the WAL).
int Serve(const Startup& startup, Engine* engine);

}  // namespace herald::tools
