#include "common/secret.h"

#include <gtest/gtest.h>

#include <string>

namespace herald {
namespace {

TEST(SameSecretTest, EqualOnlyWhenEveryByteAndTheLengthMatch) {
  EXPECT_TRUE(SameSecret("s3cret", "s3cret"));
  EXPECT_TRUE(SameSecret("", ""));
  EXPECT_FALSE(SameSecret("s3cret", "s3creT"));
  EXPECT_FALSE(SameSecret("s3cret", "s3cre"));
  EXPECT_FALSE(SameSecret("s3cre", "s3cret"));
  EXPECT_FALSE(SameSecret("", "x"));
  // A NUL byte is a byte like the others, not an end.
  EXPECT_FALSE(SameSecret(std::string("ab\0", 3), "ab"));
  const std::string long_one(2000, 'k');
  EXPECT_TRUE(SameSecret(long_one, long_one));
  EXPECT_FALSE(SameSecret(long_one, long_one.substr(0, 1999) + "j"));
}

}  // namespace
}  // namespace herald
