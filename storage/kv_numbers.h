// Integer rules of Redis's list commands: how LRANGE clamps its indexes. (How a string's
// integer is read is common/redis_int.h.)
//
// Thread safety: pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace herald::storage {

// Redis's LRANGE index rules for a list of `len` elements: negative indexes count from the
// end, then `*start` is clamped to 0 and `*stop` to len - 1. False when the range is empty
// (then `*start` and `*stop` are meaningless).
bool NormaliseRange(std::int64_t len, std::int64_t* start, std::int64_t* stop);

}  // namespace herald::storage
