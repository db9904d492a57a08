// WallClockMs: the system clock in ms since the epoch, for the times the store stamps itself
// (a queue's creation, recovery); every job time comes from the caller's now_ms.
//
// Thread safety: a pure function of the clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace herald::storage {

inline std::int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace herald::storage
