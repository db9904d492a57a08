// Integer rules of Redis's string and list commands: how INCRBY reads the integer a string
// holds (Redis's string2ll) and how LRANGE clamps its indexes. Plain integers and strings only
// (no storage types), so that they can join the other integer parsers in a common layer.
//
// Thread safety: pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace herald::storage {

// Redis's string2ll: an optional '-', then digits without leading zeros ("0" alone is fine),
// at most 20 characters, within int64. False (and `*out` untouched) for anything else, such
// as "+1", "-0", " 1" or "01".
bool ParseRedisInt(std::string_view s, std::int64_t* out);

// Redis's LRANGE index rules for a list of `len` elements: negative indexes count from the
// end, then `*start` is clamped to 0 and `*stop` to len - 1. False when the range is empty
// (then `*start` and `*stop` are meaningless).
bool NormaliseRange(std::int64_t len, std::int64_t* start, std::int64_t* stop);

}  // namespace herald::storage
