// Clock: where the engine reads the time. Wall-clock milliseconds since the epoch, because due
// times and timestamps are persisted. Tests inject FakeClock (tests/support) and drive the
// scheduler by hand instead of sleeping.
//
// Thread safety: implementations are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace herald {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t NowMs() = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t NowMs() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace herald
