#include "storage/kv_numbers.h"

#include <limits>

namespace herald::storage {

bool ParseRedisInt(std::string_view s, std::int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s == "0") {
    *out = 0;
    return true;
  }
  std::size_t p = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    p = 1;
    if (p == s.size()) return false;
  }
  if (s[p] < '1' || s[p] > '9') return false;
  std::uint64_t v = 0;
  for (; p < s.size(); ++p) {
    if (s[p] < '0' || s[p] > '9') return false;
    auto d = static_cast<std::uint64_t>(s[p] - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (negative) {
    if (v > kMax + 1) return false;
    *out = v == kMax + 1 ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(v);
  } else {
    if (v > kMax) return false;
    *out = static_cast<std::int64_t>(v);
  }
  return true;
}

bool NormaliseRange(std::int64_t len, std::int64_t* start, std::int64_t* stop) {
  if (*start < 0) *start += len;
  if (*stop < 0) *stop += len;
  if (*start < 0) *start = 0;
  if (*start > *stop || *start >= len) return false;
  if (*stop >= len) *stop = len - 1;
  return true;
}

}  // namespace herald::storage
