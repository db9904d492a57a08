#include "engine/handler_call.h"

#include <exception>
#include <string>

namespace herald::engine {

HandlerOutcome HandlerCall::Run(HandlerJob job) const {
  const auto started = std::chrono::steady_clock::now();
  job.deadline = started + timeout_;
  HandlerOutcome outcome;
  try {
    outcome = handler_->Run(job);
  } catch (const std::exception& e) {
    outcome = HandlerOutcome::Failure(std::string("handler threw: ") + e.what());
  } catch (...) {
    outcome = HandlerOutcome::Failure("handler threw a non-standard exception");
  }
  // Past its deadline the attempt failed, whatever the handler says: its lease may be gone.
  if (std::chrono::steady_clock::now() - started > timeout_) {
    outcome =
        HandlerOutcome::Failure("timed out after " + std::to_string(timeout_.count()) + " ms");
  }
  if (outcome.kind != HandlerOutcome::Kind::kSuccess && outcome.text.empty()) {
    outcome.text = "handler failed";
  }
  return outcome;
}

}  // namespace herald::engine
