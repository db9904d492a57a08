// HandlerCall: one run of a Handler for one job, as the broker's worker threads and the remote
// worker (`herald worker --connect`) make it. The job's deadline is set to now + the timeout;
// an exception that escapes the handler, or a run past the timeout (whatever it returned), is a
// failed attempt with a message saying so, never a dead worker thread. A failure without text
// reads "handler failed".
//
// Thread safety: immutable; Run() may be called from several threads at once (the handler
// must be thread-safe, see Handler).
//
// Lifetime: `handler` must outlive the HandlerCall.
#pragma once

#include <chrono>

#include "engine/handler.h"

namespace herald::engine {

class HandlerCall {
 public:
  HandlerCall(Handler* handler, std::chrono::milliseconds timeout)
      : handler_(handler), timeout_(timeout) {}

  // Runs the handler for `job` (its `deadline` is overwritten) and returns its outcome, or the
  // failure that stands for an exception or a timeout. Never throws.
  HandlerOutcome Run(HandlerJob job) const;

 private:
  Handler* handler_;
  std::chrono::milliseconds timeout_;
};

}  // namespace herald::engine
