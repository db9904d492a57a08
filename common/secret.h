// SameSecret: comparing a presented password with the configured one in a time that depends
// neither on where they differ nor, up to kSecretCompareBytes, on their lengths (as Redis's
// time_independent_strcmp), so that answers cannot be timed to guess it byte by byte.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace herald {

inline constexpr std::size_t kSecretCompareBytes = 512;

inline bool SameSecret(std::string_view a, std::string_view b) {
  const std::size_t n = std::max({a.size(), b.size(), kSecretCompareBytes});
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

}  // namespace herald
