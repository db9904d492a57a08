// Argument helpers shared by the command handlers: strict integers as Redis parses them, and
// case-insensitive keywords.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace herald::net {

// A whole decimal integer, optional leading '-', no spaces or '+', no leading zeros except
// "0" itself — Redis's string2ll. nullopt otherwise or on overflow.
std::optional<std::int64_t> ParseInt64(std::string_view text);

// Case-insensitive ASCII comparison.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace herald::net
