#include "handlers/fault_injection.h"

#include <cstdio>
#include <string>

namespace herald::handlers {

FaultInjector::FaultInjector(std::unique_ptr<engine::Handler> inner, FaultInjection faults)
    : inner_(std::move(inner)), faults_(faults), rng_(faults.seed) {}

engine::HandlerOutcome FaultInjector::Run(const engine::HandlerJob& job) {
  if (job.attempts_made <= faults_.fail_first) {
    return engine::HandlerOutcome::Failure("injected fault: attempt " +
                                           std::to_string(job.attempts_made) + " of the first " +
                                           std::to_string(faults_.fail_first) + " fails");
  }
  if (faults_.fail_rate > 0.0) {
    double draw = 0.0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      draw = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    }
    if (draw < faults_.fail_rate) {
      char rate[32];
      std::snprintf(rate, sizeof(rate), "%g", faults_.fail_rate);
      return engine::HandlerOutcome::Failure(std::string("injected fault: random failure (rate ") +
                                             rate + ")");
    }
  }
  return inner_->Run(job);
}

}  // namespace herald::handlers
