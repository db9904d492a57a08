#include "storage/kv_numbers.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace herald::storage {
namespace {

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
