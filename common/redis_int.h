// ParseRedisInt: how Redis reads an integer from text (its string2ll), the one parser of the
// RESP codec (multibulk and bulk lengths), the commands' integer arguments and the integers
// strings hold (INCRBY). An optional '-', then decimal digits without leading zeros ("0" alone
// is fine, "-0" is not), at most 20 characters, within int64; nothing else: no '+', no spaces.
//
// Thread safety: a pure function.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace herald {

inline std::optional<std::int64_t> ParseRedisInt(std::string_view text) {
  // Redis's LONG_STR_SIZE is 21: longer text is refused before looking at it.
  if (text.empty() || text.size() > 20) return std::nullopt;
  if (text == "0") return 0;
  std::size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative) {
    i = 1;
    if (i == text.size()) return std::nullopt;
  }
  if (text[i] < '1' || text[i] > '9') return std::nullopt;
  std::uint64_t value = 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (negative) {
    if (value > kMax + 1) return std::nullopt;
    return value == kMax + 1 ? std::numeric_limits<std::int64_t>::min()
                             : -static_cast<std::int64_t>(value);
  }
  if (value > kMax) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

}  // namespace herald
