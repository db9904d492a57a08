#include "common/redis_int.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace herald {
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
      {"-12", -12},
      {"1234567890", 1234567890},
      {"9223372036854775807", std::numeric_limits<std::int64_t>::max()},
      {"-9223372036854775808", std::numeric_limits<std::int64_t>::min()},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ParseRedisInt(c.text), std::optional<std::int64_t>(c.value)) << c.text;
  }
}

TEST(ParseRedisIntTest, RefusesWhatRedisRefuses) {
  for (const char* bad : {"",
                          "-",
                          "+1",
                          "-0",
                          "01",
                          "-01",
                          "00",
                          " 1",
                          "1 ",
                          "1x",
                          "1.5",
                          "1e3",
                          "abc",
                          "12a",
                          "0x10",
                          "9223372036854775808",
                          "-9223372036854775809",
                          "99999999999999999999",
                          "18446744073709551616",
                          "123456789012345678901"}) {
    EXPECT_FALSE(ParseRedisInt(bad).has_value()) << bad;
  }
  EXPECT_FALSE(ParseRedisInt(std::string("1\0", 2)).has_value());  // the length counts, not a NUL
}

}  // namespace
}  // namespace herald
