#include "net/commands/arg_parsing.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace herald::net {
namespace {

using namespace std::string_literals;

constexpr std::int64_t kNow = 1'709'632'800'000;  // 2024-03-05T10:00:00Z
constexpr std::int64_t kUntouched = -12345;

// The milliseconds ParseTimeoutSeconds reads from `text`, or its error.
struct Timeout {
  std::optional<std::string> error;
  std::int64_t ms = kUntouched;
};

Timeout ReadTimeout(const std::string& text, std::int64_t now_ms = kNow) {
  Timeout out;
  out.error = ParseTimeoutSeconds(text, now_ms, &out.ms);
  return out;
}

// ---- ParseTimeoutSeconds ------------------------------------------------------------------

TEST(ParseTimeoutSecondsTest, WholeAndFractionalSecondsBecomeMilliseconds) {
  for (const auto& [text, ms] : std::vector<std::pair<std::string, std::int64_t>>{
           {"1", 1000}, {"2.5", 2500}, {"0.25", 250}, {"600", 600'000}, {".5", 500}}) {
    SCOPED_TRACE(text);
    Timeout timeout = ReadTimeout(text);
    EXPECT_EQ(timeout.error, std::nullopt);
    EXPECT_EQ(timeout.ms, ms);
  }
}

TEST(ParseTimeoutSecondsTest, ZeroMeansWaitForever) {
  for (const char* text : {"0", "0.0", "-0", "0e9"}) {
    SCOPED_TRACE(text);
    Timeout timeout = ReadTimeout(text);
    EXPECT_EQ(timeout.error, std::nullopt);
    EXPECT_EQ(timeout.ms, 0);
  }
}

TEST(ParseTimeoutSecondsTest, AFractionOfAMillisecondRoundsUpToTheNextMillisecond) {
  EXPECT_EQ(ReadTimeout("0.0001").ms, 1);
  EXPECT_EQ(ReadTimeout("0.0011").ms, 2);
  EXPECT_EQ(ReadTimeout("1.0000001").ms, 1001);
}

TEST(ParseTimeoutSecondsTest, ATinyNegativeTimeoutRoundsUpToZeroAsRedisDoes) {
  Timeout timeout = ReadTimeout("-0.0001");
  EXPECT_EQ(timeout.error, std::nullopt);
  EXPECT_EQ(timeout.ms, 0);
}

TEST(ParseTimeoutSecondsTest, ExponentsHexAndAPlusSignAreReadAsStrtoldReadsThem) {
  EXPECT_EQ(ReadTimeout("1e3").ms, 1'000'000);
  EXPECT_EQ(ReadTimeout("5E-1").ms, 500);
  EXPECT_EQ(ReadTimeout("0x10").ms, 16'000);
  EXPECT_EQ(ReadTimeout("+1").ms, 1000);
}

TEST(ParseTimeoutSecondsTest, ANegativeTimeoutIsRefused) {
  for (const char* text : {"-1", "-0.5", "-1e3", "-inf"}) {
    SCOPED_TRACE(text);
    Timeout timeout = ReadTimeout(text);
    EXPECT_EQ(timeout.error, "ERR timeout is negative");
    EXPECT_EQ(timeout.ms, kUntouched);
  }
}

TEST(ParseTimeoutSecondsTest, TextThatIsNotAFloatIsRefused) {
  for (const std::string& text : {""s, "abc"s, "1s"s, "1,5"s, " 1"s, "\t1"s, "1 "s, "1\n"s, "nan"s,
                                  "-nan"s, "0x"s, "1e"s, "--1"s, "1\0"s, "1\0002"s}) {
    SCOPED_TRACE(text);
    Timeout timeout = ReadTimeout(text);
    EXPECT_EQ(timeout.error, "ERR timeout is not a float or out of range");
    EXPECT_EQ(timeout.ms, kUntouched);
  }
}

TEST(ParseTimeoutSecondsTest, AFloatBeyondLongDoubleIsNotAFloatOrOutOfRange) {
  for (const char* text : {"1e5000", "-1e5000", "1e-5000"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ReadTimeout(text).error, "ERR timeout is not a float or out of range");
  }
}

TEST(ParseTimeoutSecondsTest, MillisecondsBeyond64BitsAreOutOfRange) {
  for (const char* text : {"inf", "INFINITY", "9223372036854775808", "1e17", "9.3e15"}) {
    SCOPED_TRACE(text);
    Timeout timeout = ReadTimeout(text, 0);
    EXPECT_EQ(timeout.error, "ERR timeout is out of range");
    EXPECT_EQ(timeout.ms, kUntouched);
  }
}

TEST(ParseTimeoutSecondsTest, ADeadlineThatWouldNotFitIn64BitsIsOutOfRange) {
  // 9223372036854775 s is 9223372036854775000 ms: 807 ms short of the largest int64.
  const std::string text = "9223372036854775";
  Timeout fits = ReadTimeout(text, 807);
  EXPECT_EQ(fits.error, std::nullopt);
  EXPECT_EQ(fits.ms, 9'223'372'036'854'775'000);
  Timeout beyond = ReadTimeout(text, 808);
  EXPECT_EQ(beyond.error, "ERR timeout is out of range");
  EXPECT_EQ(beyond.ms, kUntouched);
}

TEST(ParseTimeoutSecondsTest, ZeroNeverOverflowsTheDeadline) {
  Timeout timeout = ReadTimeout("0", std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(timeout.error, std::nullopt);
  EXPECT_EQ(timeout.ms, 0);
}

TEST(ParseTimeoutSecondsTest, TextOfRedisMaxLongDoubleCharsOrMoreIsRefusedUnread) {
  // 5119 characters are read; 5120 are not (Redis's MAX_LONG_DOUBLE_CHARS is 5 * 1024).
  const std::string longest = std::string(5118, '0') + "1";
  Timeout read = ReadTimeout(longest);
  EXPECT_EQ(read.error, std::nullopt);
  EXPECT_EQ(read.ms, 1000);
  EXPECT_EQ(ReadTimeout("0" + longest).error, "ERR timeout is not a float or out of range");
}

// ---- ParseScanCursor ----------------------------------------------------------------------

TEST(ParseScanCursorTest, DecimalDigitsAreTheCursor) {
  EXPECT_EQ(ParseScanCursor("0"), 0u);
  EXPECT_EQ(ParseScanCursor("42"), 42u);
  EXPECT_EQ(ParseScanCursor("007"), 7u);
  EXPECT_EQ(ParseScanCursor("+7"), 7u);
  EXPECT_EQ(ParseScanCursor("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
}

TEST(ParseScanCursorTest, AnEmptyCursorReadsAsZeroAsStrtoulDoes) {
  EXPECT_EQ(ParseScanCursor(""), 0u);
}

TEST(ParseScanCursorTest, ANegativeCursorWrapsAroundAsInC) {
  EXPECT_EQ(ParseScanCursor("-1"), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(ParseScanCursor("-0"), 0u);
  EXPECT_EQ(ParseScanCursor("-18446744073709551615"), 1u);
}

TEST(ParseScanCursorTest, ACursorBeyond64BitsIsInvalid) {
  EXPECT_EQ(ParseScanCursor("18446744073709551616"), std::nullopt);
  EXPECT_EQ(ParseScanCursor("-18446744073709551616"), std::nullopt);
  EXPECT_EQ(ParseScanCursor("99999999999999999999999999"), std::nullopt);
}

TEST(ParseScanCursorTest, SpacesLettersAndAnythingAfterTheDigitsAreInvalid) {
  for (const std::string& text :
       {" 1"s, "\t1"s, "1 "s, "abc"s, "1a"s, "0x10"s, "1.0"s, "-"s, "+"s, "1\0"s, "1\0002"s}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ParseScanCursor(text), std::nullopt);
  }
}

// ---- ArgsFrom -----------------------------------------------------------------------------

TEST(ArgsFromTest, CopiesTheArgumentsFromTheIndexOn) {
  const std::vector<std::string> args = {"DEL", "a", "b", "c"};
  EXPECT_EQ(ArgsFrom(args, 1), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ArgsFrom(args, 3), (std::vector<std::string>{"c"}));
  EXPECT_EQ(ArgsFrom(args, 0), args);
}

TEST(ArgsFromTest, FromTheEndIsEmpty) {
  const std::vector<std::string> args = {"DEL", "a"};
  EXPECT_TRUE(ArgsFrom(args, 2).empty());
  EXPECT_TRUE(ArgsFrom(std::vector<std::string>{}, 0).empty());
}

TEST(ArgsFromTest, KeepsBinaryArgumentsWhole) {
  const std::vector<std::string> args = {"RPUSH", "list", "a\0b"s, ""};
  EXPECT_EQ(ArgsFrom(args, 2), (std::vector<std::string>{"a\0b"s, ""}));
}

// ---- EqualsIgnoreCase ---------------------------------------------------------------------

TEST(EqualsIgnoreCaseTest, AsciiLettersMatchInAnyCase) {
  EXPECT_TRUE(EqualsIgnoreCase("GETJOB", "getjob"));
  EXPECT_TRUE(EqualsIgnoreCase("NoHang", "NOHANG"));
  EXPECT_TRUE(EqualsIgnoreCase("proto-max-bulk-len", "PROTO-MAX-BULK-LEN"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
}

TEST(EqualsIgnoreCaseTest, DifferentLettersOrLengthsDoNotMatch) {
  EXPECT_FALSE(EqualsIgnoreCase("get", "getjob"));
  EXPECT_FALSE(EqualsIgnoreCase("getjob", "get"));
  EXPECT_FALSE(EqualsIgnoreCase("count", "coumt"));
  EXPECT_FALSE(EqualsIgnoreCase("", "a"));
  EXPECT_FALSE(EqualsIgnoreCase("a\0"s, "a"));
}

TEST(EqualsIgnoreCaseTest, OnlyAsciiLettersFoldCase) {
  EXPECT_FALSE(EqualsIgnoreCase("\xc9", "\xe9"));  // Latin-1 É and é
  EXPECT_FALSE(EqualsIgnoreCase("[", "{"));        // 0x5b and 0x7b differ by the case bit
  EXPECT_FALSE(EqualsIgnoreCase("@", "`"));
}

}  // namespace
}  // namespace herald::net
