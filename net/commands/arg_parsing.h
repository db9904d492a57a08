// Argument helpers shared by the command handlers: timeouts and cursors as Redis reads them,
// and case-insensitive keywords. Integers: ParseRedisInt (common/redis_int.h).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis_int.h"

namespace herald::net {

// A blocking command's timeout in seconds, read as Redis 7.2 reads it
// (getTimeoutFromObjectOrReply): a long double as strtold takes it (fractions, exponents, hex
// and "inf" included; no leading space, nothing after it), rounded up to whole milliseconds.
// On success returns nullopt and sets *ms (0 = wait forever). Otherwise returns the error to
// reply: "ERR timeout is not a float or out of range", "ERR timeout is negative", or "ERR
// timeout is out of range" when the deadline `now_ms + *ms` would not fit in 64 bits.
std::optional<std::string> ParseTimeoutSeconds(std::string_view text, std::int64_t now_ms,
                                               std::int64_t* ms);

// A SCAN cursor as Redis reads it (strtoul: an optional sign, decimal digits, no leading space,
// nothing after, within 64 bits; "-1" wraps around as in C, and "" reads as 0). nullopt for
// "ERR invalid cursor".
std::optional<std::uint64_t> ParseScanCursor(std::string_view text);

// args[from..], copied (the keys of DEL, the values of LPUSH).
std::vector<std::string> ArgsFrom(std::span<const std::string> args, std::size_t from);

// Case-insensitive ASCII comparison.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace herald::net
