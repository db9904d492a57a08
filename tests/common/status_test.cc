#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace herald {
namespace {

TEST(StatusTest, OkHasNoMessageAndEachCodeKeepsItsMessage) {
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Status::Ok().ToString(), "OK");
  Status missing = Status::NotFound("job 42 not found");
  EXPECT_FALSE(missing.ok());
  EXPECT_TRUE(missing.IsNotFound());
  EXPECT_EQ(missing.code(), Status::Code::kNotFound);
  EXPECT_EQ(missing.message(), "job 42 not found");
  EXPECT_TRUE(Status::Busy("x").IsBusy());
  EXPECT_TRUE(Status::WrongType("x").IsWrongType());
  EXPECT_TRUE(Status::IOError("x").IsIOError());
}

TEST(StatusTest, ToStringNamesTheCode) {
  EXPECT_EQ(Status::NotFound("job 42 not found").ToString(), "NotFound: job 42 not found");
  EXPECT_EQ(Status::CodeName(Status::Code::kInvalidArgument), "InvalidArgument");
}

TEST(StatusTest, CodesKeepTheirNumbers) {
  // On the wire: never renumber.
  EXPECT_EQ(static_cast<int>(Status::Code::kOk), 0);
  EXPECT_EQ(static_cast<int>(Status::Code::kNotFound), 1);
  EXPECT_EQ(static_cast<int>(Status::Code::kCorruption), 6);
  EXPECT_EQ(static_cast<int>(Status::Code::kWrongType), 10);
  EXPECT_EQ(static_cast<int>(Status::Code::kInternal), 11);
  EXPECT_EQ(static_cast<int>(Status::Code::kNotSupported), 12);
}

TEST(StatusTest, WithPrefixKeepsTheCodeAndLeavesOkAlone) {
  Status prefixed = Status::IOError("disk full").WithPrefix("queue emails");
  EXPECT_TRUE(prefixed.IsIOError());
  EXPECT_EQ(prefixed.message(), "queue emails: disk full");
  EXPECT_TRUE(Status::Ok().WithPrefix("queue emails").ok());
}

Result<int> Half(int n) {
  if (n % 2 != 0) return Status::InvalidArgument(std::to_string(n) + " is odd");
  return n / 2;
}

Result<int> Quarter(int n) {
  HERALD_ASSIGN_OR_RETURN(int half, Half(n));
  return Half(half);
}

Status CheckEven(int n) {
  HERALD_RETURN_IF_ERROR(Half(n).status());
  return Status::Ok();
}

TEST(ResultTest, HoldsAValueOrAnError) {
  Result<int> good = Half(8);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 4);
  Result<int> bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "3 is odd");
}

TEST(ResultTest, EarlyReturnHelpersPassTheFirstErrorOn) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().message(), "3 is odd");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_TRUE(CheckEven(5).IsInvalidArgument());
}

TEST(ResultTest, MoveOnlyValuesMoveOut) {
  Result<std::unique_ptr<int>> made = std::make_unique<int>(7);
  ASSERT_TRUE(made.ok());
  std::unique_ptr<int> owned = std::move(made).value();
  EXPECT_EQ(*owned, 7);
}

}  // namespace
}  // namespace herald
