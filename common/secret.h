// SameSecret: comparing a presented password with the configured one in a time that does not
// depend on where they differ (only on their lengths), so that answers cannot be timed to
// guess it byte by byte.
#pragma once

#include <cstddef>
#include <string_view>

namespace herald {

inline bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<unsigned char>(diff | (a[i] ^ b[i]));
  }
  return diff == 0;
}

}  // namespace herald
