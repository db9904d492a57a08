// FakeClock: a Clock that moves only when a test says so.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/clock.h"

namespace herald::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  std::int64_t NowMs() override { return now_.load(); }
  void Advance(std::int64_t ms) { now_ += ms; }
  void Set(std::int64_t ms) { now_ = ms; }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace herald::testing
