#include "storage/kv_numbers.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace herald::storage {
namespace {

TEST(ParseRedisIntTest, ReadsWhatRedisReads) {
  struct Case {
    const char* text;
    std::int64_t value;
  };
  const Case cases[] = {
      {"0", 0},
      {"7", 7},
      {"-7", -7},
      {"1234567890", 1234567890},
      {"9223372036854775807", std::numeric_limits<std::int64_t>::max()},
      {"-9223372036854775808", std::numeric_limits<std::int64_t>::min()},
  };
  for (const auto& c : cases) {
    std::int64_t out = 42;
    ASSERT_TRUE(ParseRedisInt(c.text, &out)) << c.text;
    EXPECT_EQ(out, c.value) << c.text;
  }
}

TEST(ParseRedisIntTest, RefusesWhatRedisRefusesAndLeavesTheOutputAlone) {
  for (const char* bad :
       {"", "-", "+1", "-0", "01", "-01", "00", " 1", "1 ", "1.5", "1e3", "abc", "12a", "0x10",
        "9223372036854775808", "-9223372036854775809", "99999999999999999999",
        "18446744073709551616", "123456789012345678901"}) {
    std::int64_t out = 42;
    EXPECT_FALSE(ParseRedisInt(bad, &out)) << bad;
    EXPECT_EQ(out, 42) << bad;
  }
  std::int64_t out = 42;
  EXPECT_FALSE(ParseRedisInt(std::string("1\0", 2), &out));  // the length counts, not a NUL
}

TEST(NormaliseRangeTest, FollowsLrangeRules) {
  struct Case {
    std::int64_t len, start, stop;
    bool nonempty;
    std::int64_t want_start, want_stop;
  };
  const Case cases[] = {
      {5, 0, -1, true, 0, 4},       // everything
      {5, 0, 0, true, 0, 0},        // the first
      {5, -2, -1, true, 3, 4},      // the last two
      {5, -100, 1, true, 0, 1},     // start clamped to 0
      {5, 3, 100, true, 3, 4},      // stop clamped to the end
      {5, 5, 10, false, 0, 0},      // starts past the end
      {5, 3, 2, false, 0, 0},       // start after stop
      {5, -1, -2, false, 0, 0},     // the same, from the end
      {5, -100, -50, false, 0, 0},  // ends before the start
      {0, 0, -1, false, 0, 0},      // an empty list
  };
  for (const auto& c : cases) {
    std::int64_t start = c.start;
    std::int64_t stop = c.stop;
    ASSERT_EQ(NormaliseRange(c.len, &start, &stop), c.nonempty)
        << c.len << " " << c.start << " " << c.stop;
    if (!c.nonempty) continue;
    EXPECT_EQ(start, c.want_start) << c.len << " " << c.start << " " << c.stop;
    EXPECT_EQ(stop, c.want_stop) << c.len << " " << c.start << " " << c.stop;
  }
}

}  // namespace
}  // namespace herald::storage
