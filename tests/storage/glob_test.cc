#include "storage/glob.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace herald::storage {
namespace {

struct GlobCase {
  const char* pattern;
  const char* text;
  bool match;
};

TEST(GlobMatchTest, MatchesRedisSemantics) {
  const GlobCase cases[] = {
      {"*", "", false},  // as stringmatchlen; KEYS and SCAN treat a lone "*" as "all keys"
      {"*", "anything", true},
      {"", "", true},
      {"", "a", false},
      {"a", "", false},
      {"h?llo", "hello", true},
      {"h?llo", "hllo", false},
      {"h*llo", "hllo", true},
      {"h*llo", "heeeello", true},
      {"h[ae]llo", "hello", true},
      {"h[ae]llo", "hallo", true},
      {"h[ae]llo", "hillo", false},
      {"h[^e]llo", "hallo", true},
      {"h[^e]llo", "hello", false},
      {"h[a-b]llo", "hbllo", true},
      {"h[a-b]llo", "hcllo", false},
      {"h[b-a]llo", "hallo", true},  // reversed ranges work
      {"h\\*llo", "h*llo", true},
      {"h\\*llo", "hello", false},
      {"h[\\]]llo", "h]llo", true},
      {"a*b*c", "aXbYc", true},
      {"a*b*c", "aXbY", false},
      {"*.txt", "notes.txt", true},
      {"*.txt", "notes.txt.bak", false},
      {"user:*:name", "user:42:name", true},
      {"[abc", "a", true},  // unterminated class: Redis matches the class so far
      {"**", "x", true},
      {"a\\", "a\\", true},  // a trailing backslash matches itself
  };
  for (const auto& c : cases) {
    EXPECT_EQ(GlobMatch(c.pattern, c.text), c.match) << c.pattern << " vs " << c.text;
  }
}

TEST(GlobMatchTest, PathologicalPatternsFinishQuickly) {
  std::string text(5000, 'a');
  std::string pattern;
  for (int i = 0; i < 50; ++i) pattern += "a*";
  pattern += "b";
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(GlobMatch(pattern, text));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(GlobMatchTest, ClassesRangesAndEscapes) {
  const GlobCase cases[] = {
      {"[a-z]", "m", true},      {"[a-z]", "M", false},
      {"[a-z0-9]x", "7x", true}, {"[^a-z]", "m", false},
      {"[^a-z]", "-", true},     {"[^abc]", "", false},   // a class needs a byte
      {"[abc]", "ab", false},    {"[a\\-z]", "-", true},  // an escaped '-' is no range
      {"[a\\-z]", "m", false},   {"\\?", "?", true},
      {"\\?", "x", false},       {"\\[a]", "[a]", true},
      {"\\\\", "\\", true},      {"?", "", false},
      {"??", "ab", true},        {"?*?", "ab", true},
      {"?*?", "a", false},       {"*a", "bbba", true},
      {"*a", "bbbab", false},    {"a*", "a", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(GlobMatch(c.pattern, c.text), c.match) << c.pattern << " vs " << c.text;
  }
  // Bytes, not characters: any byte matches itself and '?'.
  EXPECT_TRUE(GlobMatch(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_TRUE(GlobMatch("a?b", std::string("a\0b", 3)));
  EXPECT_TRUE(GlobMatch("\xff*", "\xff\xfe"));
}

TEST(GlobMatchTest, StarsNestAtMostAThousandDeep) {
  // Each '*' followed by more pattern is one level deeper: a thousand levels still match, one
  // more matches nothing (Redis's guard against running out of stack).
  auto stars = [](int n) {
    std::string pattern;
    for (int i = 0; i < n; ++i) pattern += "*a";
    return pattern;
  };
  const std::string text(1001, 'a');
  EXPECT_TRUE(GlobMatch(stars(1000), text));
  EXPECT_FALSE(GlobMatch(stars(1001), text));
  // A run of stars is one star: it does not nest.
  EXPECT_TRUE(GlobMatch(std::string(5000, '*') + "a", "a"));
}

TEST(GlobLiteralPrefixTest, StopsAtTheFirstSpecialCharacter) {
  EXPECT_EQ(GlobLiteralPrefix("user:*"), "user:");
  EXPECT_EQ(GlobLiteralPrefix("user:?"), "user:");
  EXPECT_EQ(GlobLiteralPrefix("us[e]r"), "us");
  EXPECT_EQ(GlobLiteralPrefix("a\\*b"), "a");  // an escape ends it too (conservatively)
  EXPECT_EQ(GlobLiteralPrefix("plain"), "plain");
  EXPECT_EQ(GlobLiteralPrefix("*"), "");
  EXPECT_EQ(GlobLiteralPrefix(""), "");
}

}  // namespace
}  // namespace herald::storage
