#include "storage/glob.h"

#include <cstddef>
#include <utility>

namespace herald::storage {
namespace {

// Redis's stringmatchlen (util.c), case-sensitive, with its guard against patterns that
// would take exponential time ("skip longer matches") and its nesting limit.
bool MatchImpl(const char* pattern, std::size_t pattern_len, const char* str, std::size_t str_len,
               bool* skip_longer_matches, int nesting) {
  if (nesting > 1000) return false;
  while (pattern_len > 0 && str_len > 0) {
    switch (pattern[0]) {
      case '*':
        while (pattern_len > 1 && pattern[1] == '*') {
          ++pattern;
          --pattern_len;
        }
        if (pattern_len == 1) return true;
        while (str_len > 0) {
          if (MatchImpl(pattern + 1, pattern_len - 1, str, str_len, skip_longer_matches,
                        nesting + 1)) {
            return true;
          }
          if (*skip_longer_matches) return false;
          ++str;
          --str_len;
        }
        // No match for the rest of the pattern from anywhere in the rest of the string: no
        // earlier '*' can help by matching more, so stop the whole search.
        *skip_longer_matches = true;
        return false;
      case '?':
        ++str;
        --str_len;
        break;
      case '[': {
        ++pattern;
        --pattern_len;
        bool negate = pattern_len > 0 && pattern[0] == '^';
        if (negate) {
          ++pattern;
          --pattern_len;
        }
        bool match = false;
        while (true) {
          if (pattern_len == 0) {
            // Unterminated class: Redis steps back so the outer loop's advance ends the pattern.
            --pattern;
            ++pattern_len;
            break;
          }
          if (pattern[0] == '\\' && pattern_len >= 2) {
            ++pattern;
            --pattern_len;
            if (pattern[0] == str[0]) match = true;
          } else if (pattern[0] == ']') {
            break;
          } else if (pattern_len >= 3 && pattern[1] == '-') {
            int start = pattern[0];
            int end = pattern[2];
            int c = str[0];
            if (start > end) std::swap(start, end);
            pattern += 2;
            pattern_len -= 2;
            if (c >= start && c <= end) match = true;
          } else if (pattern[0] == str[0]) {
            match = true;
          }
          ++pattern;
          --pattern_len;
        }
        if (negate) match = !match;
        if (!match) return false;
        ++str;
        --str_len;
        break;
      }
      case '\\':
        if (pattern_len >= 2) {
          ++pattern;
          --pattern_len;
        }
        [[fallthrough]];
      default:
        if (pattern[0] != str[0]) return false;
        ++str;
        --str_len;
        break;
    }
    ++pattern;
    --pattern_len;
    if (str_len == 0) {
      while (pattern_len > 0 && pattern[0] == '*') {
        ++pattern;
        --pattern_len;
      }
      break;
    }
  }
  return pattern_len == 0 && str_len == 0;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  bool skip_longer_matches = false;
  return MatchImpl(pattern.data(), pattern.size(), text.data(), text.size(), &skip_longer_matches,
                   0);
}

std::string_view GlobLiteralPrefix(std::string_view pattern) {
  std::size_t n = pattern.find_first_of("*?[\\");
  return n == std::string_view::npos ? pattern : pattern.substr(0, n);
}

}  // namespace herald::storage
