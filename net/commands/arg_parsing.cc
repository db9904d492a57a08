#include "net/commands/arg_parsing.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace herald::net {

std::optional<std::string> ParseTimeoutSeconds(std::string_view text, std::int64_t now_ms,
                                               std::int64_t* ms) {
  // Redis's MAX_LONG_DOUBLE_CHARS: longer text is refused unread.
  constexpr std::size_t kMaxLongDoubleChars = 5 * 1024;
  const std::string kNotFloat = "ERR timeout is not a float or out of range";
  if (text.empty() || text.size() >= kMaxLongDoubleChars ||
      std::isspace(static_cast<unsigned char>(text[0]))) {
    return kNotFloat;
  }
  // strtold reads a C string: a NUL inside the argument ends it early and is refused below.
  const std::string buffer(text);
  char* end = nullptr;
  errno = 0;
  long double seconds = std::strtold(buffer.c_str(), &end);
  if (end != buffer.c_str() + buffer.size() || errno == EINVAL || std::isnan(seconds) ||
      (errno == ERANGE &&
       (seconds == HUGE_VALL || seconds == -HUGE_VALL || std::fpclassify(seconds) == FP_ZERO))) {
    return kNotFloat;
  }
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  long double millis = seconds * 1000.0L;
  if (millis > static_cast<long double>(kMax)) return "ERR timeout is out of range";
  millis = std::ceil(millis);
  if (millis < 0) return "ERR timeout is negative";
  const auto value = static_cast<std::int64_t>(millis);
  if (value > 0 && value > kMax - now_ms) return "ERR timeout is out of range";
  *ms = value;
  return std::nullopt;
}

std::optional<std::uint64_t> ParseScanCursor(std::string_view text) {
  // As strtoul, "" reads as 0.
  if (!text.empty() && std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
  const std::string buffer(text);
  char* end = nullptr;
  errno = 0;
  const unsigned long long cursor = std::strtoull(buffer.c_str(), &end, 10);
  if (end != buffer.c_str() + buffer.size() || errno == ERANGE) return std::nullopt;
  return static_cast<std::uint64_t>(cursor);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> ArgsFrom(std::span<const std::string> args, std::size_t from) {
  return std::vector<std::string>(args.begin() + static_cast<std::ptrdiff_t>(from), args.end());
}

}  // namespace herald::net
