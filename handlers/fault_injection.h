// FaultInjector: a Handler that fails some attempts on purpose before they reach the handler it
// wraps, to show retries and backoff live (the product brief's timeline: fail, wait 2 s, 4 s,
// 8 s, ... succeed) and to test them. Configured per queue:
//
//   [handlers.faults.emails]  fail_first = 2     # attempts 1 and 2 of every job fail
//                             fail_rate = 0.25   # then a quarter of the others fail
//                             seed = 7           # for fail_rate's random numbers
//
// fail_first counts the job's own attempts (HandlerJob::attempts_made, which survives
// restarts), so "fail twice, then succeed" holds per job whatever else runs. An injected
// failure is a plain failed attempt ("injected fault: ..."), retried per the queue's backoff;
// nothing is sent or recorded for it.
//
// Thread safety: thread-safe (the random generator is behind a mutex). Owns the wrapped
// handler.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <random>

#include "engine/handler.h"

namespace herald::handlers {

struct FaultInjection {
  // Attempts 1..fail_first of every job fail. Default: 0.
  std::uint32_t fail_first = 0;
  // Probability in [0, 1] that any later attempt fails. Default: 0.
  double fail_rate = 0.0;
  // Seed of the generator behind fail_rate. Default: 1.
  std::uint64_t seed = 1;

  bool enabled() const { return fail_first > 0 || fail_rate > 0.0; }
};

class FaultInjector final : public engine::Handler {
 public:
  FaultInjector(std::unique_ptr<engine::Handler> inner, FaultInjection faults);

  engine::HandlerOutcome Run(const engine::HandlerJob& job) override;

  const FaultInjection& faults() const { return faults_; }

 private:
  std::unique_ptr<engine::Handler> inner_;
  FaultInjection faults_;
  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
};

}  // namespace herald::handlers
