#include "net/resp/request_parser.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace herald::resp {
namespace {

using Args = std::vector<std::string>;
using namespace std::string_literals;

// What a connection gets out of a byte stream: the commands, then possibly an error.
struct Outcome {
  std::vector<Args> commands;
  std::optional<std::string> error;
  std::size_t buffered = 0;  // the caller's unconsumed bytes at the end

  bool operator==(const Outcome& other) const {
    return commands == other.commands && error == other.error && buffered == other.buffered;
  }
};

std::string Describe(const Outcome& outcome) {
  std::string out;
  for (const Args& args : outcome.commands) {
    out += "[";
    for (const std::string& arg : args) out += "'" + arg + "' ";
    out += "] ";
  }
  if (outcome.error) out += "error: " + *outcome.error;
  return out;
}

// Feeds `chunks` in order, the way a connection does: unconsumed bytes stay at the front of
// its buffer and new bytes are appended.
Outcome Feed(RequestParser& parser, const std::vector<std::string_view>& chunks) {
  Outcome outcome;
  std::string buffer;
  for (std::string_view chunk : chunks) {
    buffer.append(chunk);
    while (!buffer.empty()) {
      Args args = {"stale"};
      const std::size_t size = buffer.size();
      ParseResult result = parser.Parse(buffer, &args);
      EXPECT_LE(result.consumed, size);
      buffer.erase(0, result.consumed);
      if (result.failed()) {
        outcome.error = result.error;
        outcome.buffered = buffer.size();
        return outcome;
      }
      if (result.need_more()) {
        EXPECT_EQ(result.consumed, size) << "kNeedMore must take all input";
        break;
      }
      outcome.commands.push_back(args);
    }
  }
  outcome.buffered = buffer.size();
  return outcome;
}

Outcome ParseWhole(std::string_view input, ParserLimits limits = {}) {
  RequestParser parser(limits);
  return Feed(parser, {input});
}

std::string Multibulk(const Args& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& arg : args) {
    out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  }
  return out;
}

// Checks that every split of `input` in two, and the input fed one byte at a time, gives what
// the whole input gives.
void ExpectSplitInvariant(std::string_view input, ParserLimits limits = {}) {
  const Outcome whole = ParseWhole(input, limits);
  for (std::size_t i = 0; i <= input.size(); ++i) {
    RequestParser parser(limits);
    const Outcome split = Feed(parser, {input.substr(0, i), input.substr(i)});
    ASSERT_EQ(split.commands, whole.commands) << "split at " << i << ": " << Describe(split);
    ASSERT_EQ(split.error, whole.error) << "split at " << i;
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  RequestParser parser(limits);
  const Outcome one_by_one = Feed(parser, bytes);
  EXPECT_EQ(one_by_one.commands, whole.commands) << Describe(one_by_one);
  EXPECT_EQ(one_by_one.error, whole.error);
}

TEST(RequestParserTest, ParsesMultibulkCommand) {
  const Outcome outcome = ParseWhole("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
  EXPECT_EQ(outcome.commands, (std::vector<Args>{{"SET", "key", "value"}}));
  EXPECT_FALSE(outcome.error);
  EXPECT_EQ(outcome.buffered, 0u);
}

TEST(RequestParserTest, ConsumedEndsAtTheEndOfTheFirstCommand) {
  RequestParser parser;
  Args args;
  const std::string input = "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n";
  ParseResult result = parser.Parse(input, &args);
  EXPECT_TRUE(result.complete());
  EXPECT_EQ(result.consumed, input.size() / 2);
  EXPECT_EQ(args, (Args{"PING"}));
}

TEST(RequestParserTest, NeedMoreTakesAllInputAndKeepsItInternally) {
  RequestParser parser;
  Args args;
  ParseResult result = parser.Parse("*2\r\n$3\r\nGET\r\n$5\r\nab", &args);
  EXPECT_TRUE(result.need_more());
  EXPECT_EQ(result.consumed, 19u);
  EXPECT_EQ(parser.buffered_bytes(), 5u);  // "GET" and "ab"
  result = parser.Parse("cde\r\n", &args);
  EXPECT_TRUE(result.complete());
  EXPECT_EQ(result.consumed, 5u);
  EXPECT_EQ(args, (Args{"GET", "abcde"}));
  EXPECT_EQ(parser.buffered_bytes(), 0u);
}

TEST(RequestParserTest, EmptyInputNeedsMore) {
  RequestParser parser;
  Args args;
  ParseResult result = parser.Parse("", &args);
  EXPECT_TRUE(result.need_more());
  EXPECT_EQ(result.consumed, 0u);
}

TEST(RequestParserTest, ParsesInlineCommands) {
  EXPECT_EQ(ParseWhole("PING\r\n").commands, (std::vector<Args>{{"PING"}}));
  EXPECT_EQ(ParseWhole("PING\n").commands, (std::vector<Args>{{"PING"}}));
  EXPECT_EQ(ParseWhole("  SET   k\tv  \r\n").commands, (std::vector<Args>{{"SET", "k", "v"}}));
  // Without its newline an inline command is not complete.
  const Outcome partial = ParseWhole("PING");
  EXPECT_TRUE(partial.commands.empty());
  EXPECT_FALSE(partial.error);
}

TEST(RequestParserTest, InlineCarriageReturnsSeparateWords) {
  EXPECT_EQ(ParseWhole("a\rb\r\n").commands, (std::vector<Args>{{"a", "b"}}));
}

TEST(RequestParserTest, InlineNulEndsTheLineAsInRedis) {
  EXPECT_EQ(ParseWhole("GET a\0b c\r\n"s).commands, (std::vector<Args>{{"GET", "a"}}));
}

TEST(RequestParserTest, InlineDoubleQuotesUnderstandEscapes) {
  const Outcome outcome = ParseWhole(R"(SET "a b" "\n\r\t\b\a\\\"\x41\x7a\xZZ\q")"
                                     "\r\n");
  ASSERT_FALSE(outcome.error) << *outcome.error;
  ASSERT_EQ(outcome.commands.size(), 1u);
  EXPECT_EQ(outcome.commands[0], (Args{"SET", "a b",
                                       "\n\r\t\b\a\\\"Azx"
                                       "ZZq"}));
}

TEST(RequestParserTest, InlineHexEscapeMakesAnyByte) {
  const Outcome outcome = ParseWhole(R"(SET k "\x00\xff\xFF")"
                                     "\r\n");
  ASSERT_EQ(outcome.commands.size(), 1u);
  EXPECT_EQ(outcome.commands[0][2], "\0\xff\xff"s);
}

TEST(RequestParserTest, InlineSingleQuotesAreLiteralExceptEscapedQuote) {
  const Outcome outcome = ParseWhole(R"(SET 'it\'s' '\n"x"')"
                                     "\r\n");
  ASSERT_EQ(outcome.commands.size(), 1u);
  EXPECT_EQ(outcome.commands[0], (Args{"SET", "it's", R"(\n"x")"}));
}

TEST(RequestParserTest, InlineQuotesMayStartMidWordAndEmptyQuotesMakeEmptyArgs) {
  EXPECT_EQ(ParseWhole("SET a\"b c\" \"\" ''\r\n").commands,
            (std::vector<Args>{{"SET", "ab c", "", ""}}));
}

TEST(RequestParserTest, UnbalancedQuotesAreAProtocolError) {
  for (const char* input :
       {"SET \"abc\r\n", "SET 'abc\r\n", "SET \"a\"b\r\n", "SET 'a'b\r\n", "SET \"abc\\\"\r\n"}) {
    EXPECT_EQ(ParseWhole(input).error, "unbalanced quotes in request") << input;
  }
}

TEST(RequestParserTest, EmptyInlineLinesAndEmptyMultibulksAreSkipped) {
  const Outcome outcome = ParseWhole("\r\n\n   \r\n*0\r\n*-1\r\n*-10\r\nPING\r\n");
  EXPECT_EQ(outcome.commands, (std::vector<Args>{{"PING"}}));
  EXPECT_FALSE(outcome.error);
}

TEST(RequestParserTest, PipelinedCommandsInOneBufferAllComeOut) {
  const std::string input = Multibulk({"SET", "a", "1"}) + "GET a\r\n" + Multibulk({"INCR", "a"}) +
                            "PING\n" + Multibulk({"GET", "a"});
  const Outcome outcome = ParseWhole(input);
  EXPECT_EQ(
      outcome.commands,
      (std::vector<Args>{{"SET", "a", "1"}, {"GET", "a"}, {"INCR", "a"}, {"PING"}, {"GET", "a"}}));
  EXPECT_EQ(outcome.buffered, 0u);
}

TEST(RequestParserTest, BulksAreBinarySafe) {
  const std::string value = "line1\r\nline2\r\n\0\xff*3\r\n$4\r\n"s;
  const Outcome outcome = ParseWhole(Multibulk({"SET", "k\r\n", value, ""}));
  ASSERT_EQ(outcome.commands.size(), 1u);
  EXPECT_EQ(outcome.commands[0], (Args{"SET", "k\r\n", value, ""}));
}

TEST(RequestParserTest, EveryValidInputSplitAnywhereParsesTheSame) {
  const std::vector<std::string> inputs = {
      Multibulk({"SET", "key", "value"}),
      Multibulk({"SET", "k", "a\r\nb\r\n\0c"s}) + Multibulk({""}),
      "PING\r\n",
      "SET \"a b\" 'c d' \"\\x41\\n\"\r\nGET a\n",
      "\r\n\r\n*0\r\n*-1\r\n" + Multibulk({"PING"}),
      Multibulk({"ECHO", std::string(300, 'x')}) + "ECHO yes\r\n" + Multibulk({"A", "B", "C"}),
      Multibulk({std::string(20, '\r'), std::string(20, '\n')}),
      "*1\r\n$4\r\nPINGxx",  // the bytes after a bulk are not checked, as in Redis
  };
  for (const std::string& input : inputs) {
    SCOPED_TRACE(input);
    ExpectSplitInvariant(input);
  }
}

TEST(RequestParserTest, InvalidInputSplitAnywhereFailsTheSame) {
  ParserLimits limits;
  limits.max_inline_length = 16;
  limits.max_bulk_length = 8;
  limits.max_multibulk_length = 4;
  const std::vector<std::string> inputs = {
      "*x\r\n",
      "*5\r\n",
      "*2\r\n$3\r\nGET\r\n$9\r\n",
      "*2\r\n$3\r\nGET\r\nfooz\r\n",
      "PING\r\nSET \"unbalanced\r\n",
      std::string(20, 'a') + "\r\n",
      "*" + std::string(20, '1') + "\r\n",
      "*1\r\n$" + std::string(20, '1') + "\r\n",
  };
  for (const std::string& input : inputs) {
    SCOPED_TRACE(input);
    ASSERT_TRUE(ParseWhole(input, limits).error);
    ExpectSplitInvariant(input, limits);
  }
}

TEST(RequestParserTest, ProtocolErrorsUseRedisWording) {
  struct Case {
    std::string input;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"*abc\r\n", "invalid multibulk length"},
      {"*1x\r\n", "invalid multibulk length"},
      {"*01\r\n", "invalid multibulk length"},
      {"*\r\n", "invalid multibulk length"},
      {"*1048577\r\n", "invalid multibulk length"},
      {"*3000000000\r\n", "invalid multibulk length"},
      {"*1\r\n$-1\r\n", "invalid bulk length"},
      {"*1\r\n$abc\r\n", "invalid bulk length"},
      {"*1\r\n$\r\n", "invalid bulk length"},
      {"*1\r\n$536870913\r\n", "invalid bulk length"},
      {"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "expected '$', got 'f'"},
      {"*1\r\n\r\n", "expected '$', got '\r'"},
      {"*1\r\n\0abc\r\n"s, "expected '$', got '"},
      {std::string(64 * 1024 + 1, 'a'), "too big inline request"},
      {"*" + std::string(64 * 1024, '1'), "too big mbulk count string"},
      {"*1\r\n$" + std::string(64 * 1024, '1'), "too big bulk count string"},
      {"SET \"abc\r\n", "unbalanced quotes in request"},
  };
  for (const Case& c : cases) {
    const Outcome outcome = ParseWhole(c.input);
    EXPECT_EQ(outcome.error, c.error) << c.input.substr(0, 40);
    EXPECT_TRUE(outcome.commands.empty());
  }
}

TEST(RequestParserTest, LimitsAreInclusive) {
  // 1024 * 1024 arguments announced is fine (the header alone is accepted).
  Outcome outcome = ParseWhole("*1048576\r\n");
  EXPECT_FALSE(outcome.error);
  // A 512 MiB bulk is announced without error; none of it is buffered yet.
  RequestParser parser;
  Args args;
  ParseResult result = parser.Parse("*1\r\n$536870912\r\n", &args);
  EXPECT_TRUE(result.need_more());
  EXPECT_EQ(parser.buffered_bytes(), 0u);
  // An inline line of exactly the limit (counting a '\r' before the '\n') is fine.
  outcome = ParseWhole(std::string(64 * 1024 - 1, 'a') + "\r\n");
  EXPECT_FALSE(outcome.error);
  ASSERT_EQ(outcome.commands.size(), 1u);
  EXPECT_EQ(outcome.commands[0][0].size(), 64u * 1024 - 1);
  outcome = ParseWhole(std::string(64 * 1024, 'a') + "\r\n");
  EXPECT_EQ(outcome.error, "too big inline request");
  // Without a newline, the verdict comes as soon as the line is over the limit.
  outcome = ParseWhole(std::string(64 * 1024, 'a'));
  EXPECT_FALSE(outcome.error);
}

TEST(RequestParserTest, OversizedBulkIsRefusedWhenItsHeaderArrives) {
  ParserLimits limits;
  limits.max_bulk_length = 10;
  RequestParser parser(limits);
  Args args;
  ParseResult result = parser.Parse("*2\r\n$3\r\nSET\r\n$10\r\n0123456789\r\n", &args);
  EXPECT_TRUE(result.complete());
  result = parser.Parse("*2\r\n$3\r\nSET\r\n$11\r\n", &args);
  EXPECT_TRUE(result.failed());
  EXPECT_EQ(result.error, "invalid bulk length");
}

TEST(RequestParserTest, TooManyArgumentsAreRefusedWhenTheCountArrives) {
  ParserLimits limits;
  limits.max_multibulk_length = 3;
  EXPECT_FALSE(ParseWhole(Multibulk({"a", "b", "c"}), limits).error);
  EXPECT_EQ(ParseWhole("*4\r\n", limits).error, "invalid multibulk length");
}

TEST(RequestParserTest, CustomInlineLimitAppliesToHeadersToo) {
  ParserLimits limits;
  limits.max_inline_length = 8;
  EXPECT_EQ(ParseWhole("GET abcdefgh\r\n", limits).error, "too big inline request");
  EXPECT_EQ(ParseWhole("*000000001\r\n", limits).error, "too big mbulk count string");
  EXPECT_EQ(ParseWhole("*1\r\n$000000001\r\n", limits).error, "too big bulk count string");
}

TEST(RequestParserTest, ErrorIsStickyUntilReset) {
  RequestParser parser;
  Args args;
  ParseResult result = parser.Parse("*x\r\nPING\r\n", &args);
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(result.consumed, 4u);
  result = parser.Parse("PING\r\n", &args);
  EXPECT_TRUE(result.failed());
  EXPECT_EQ(result.consumed, 0u);
  EXPECT_EQ(result.error, "invalid multibulk length");
  parser.Reset();
  result = parser.Parse("PING\r\n", &args);
  EXPECT_TRUE(result.complete());
  EXPECT_EQ(args, (Args{"PING"}));
}

TEST(RequestParserTest, ResetDropsAPartialCommand) {
  RequestParser parser;
  Args args;
  EXPECT_TRUE(parser.Parse("*2\r\n$3\r\nGET\r\n$5\r\nab", &args).need_more());
  parser.Reset();
  EXPECT_EQ(parser.buffered_bytes(), 0u);
  EXPECT_TRUE(parser.Parse("PING\r\n", &args).complete());
  EXPECT_EQ(args, (Args{"PING"}));
}

TEST(RequestParserTest, LargeBulkFedOneByteAtATimeIsLinear) {
  // Every call takes its one byte: the caller never hands the parser the same byte twice, and
  // the parser looks at each byte once. 4 MiB must take well under a second of real work;
  // a quadratic parser would not finish.
  const std::size_t size = 4 << 20;
  std::string input = "*2\r\n$3\r\nSET\r\n$" + std::to_string(size) + "\r\n";
  input.reserve(input.size() + size + 2);
  for (std::size_t i = 0; i < size; ++i) input.push_back(static_cast<char>('a' + i % 26));
  input += "\r\n";

  RequestParser parser;
  Args args;
  const auto start = std::chrono::steady_clock::now();
  std::size_t calls = 0;
  for (std::size_t i = 0; i < input.size(); ++i) {
    ParseResult result = parser.Parse(std::string_view(input).substr(i, 1), &args);
    ASSERT_EQ(result.consumed, 1u) << "at byte " << i;
    ++calls;
    if (i + 1 < input.size()) {
      ASSERT_TRUE(result.need_more()) << "at byte " << i;
    } else {
      ASSERT_TRUE(result.complete());
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(calls, input.size());
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[1].size(), size);
  EXPECT_EQ(args[1].substr(0, 3), "abc");
  EXPECT_LT(elapsed, std::chrono::seconds(30));
}

TEST(RequestParserTest, LongInlineLineFedOneByteAtATimeIsLinear) {
  const std::string input = "ECHO " + std::string(60 * 1024, 'x') + "\r\n";
  RequestParser parser;
  Args args;
  for (std::size_t i = 0; i < input.size(); ++i) {
    ParseResult result = parser.Parse(std::string_view(input).substr(i, 1), &args);
    ASSERT_EQ(result.consumed, 1u);
    ASSERT_EQ(result.complete(), i + 1 == input.size());
  }
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[1].size(), 60u * 1024);
}

TEST(RequestParserTest, ArgsVectorIsReplacedNotAppended) {
  RequestParser parser;
  Args args = {"old", "stuff"};
  ASSERT_TRUE(parser.Parse("PING\r\n", &args).complete());
  EXPECT_EQ(args, (Args{"PING"}));
}

TEST(RequestParserTest, RandomValidCommandsSurviveRandomSplits) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 200; ++round) {
    std::vector<Args> commands;
    std::string input;
    const int count = 1 + static_cast<int>(rng() % 5);
    for (int c = 0; c < count; ++c) {
      Args args;
      const int argc = 1 + static_cast<int>(rng() % 4);
      for (int a = 0; a < argc; ++a) {
        std::string arg;
        const int length = static_cast<int>(rng() % 40);
        for (int i = 0; i < length; ++i) arg.push_back(static_cast<char>(byte(rng)));
        args.push_back(arg);
      }
      input += Multibulk(args);
      commands.push_back(args);
    }
    // Random chunk sizes, 1 to 16 bytes.
    std::vector<std::string_view> chunks;
    for (std::size_t pos = 0; pos < input.size();) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 16, input.size() - pos);
      chunks.push_back(std::string_view(input).substr(pos, n));
      pos += n;
    }
    RequestParser parser;
    const Outcome outcome = Feed(parser, chunks);
    ASSERT_FALSE(outcome.error) << *outcome.error;
    ASSERT_EQ(outcome.commands, commands) << "round " << round;
  }
}

TEST(RequestParserTest, RandomBytesNeverCrashOrOverconsume) {
  // Bytes drawn mostly from the protocol's own alphabet, so that the parser goes deep.
  const std::string alphabet = "*$\r\n\r\n0123456789-\"'\\x aZ\t\0"s;
  std::mt19937 rng(42);
  ParserLimits limits;
  limits.max_inline_length = 64;
  limits.max_bulk_length = 32;
  limits.max_multibulk_length = 8;
  for (int round = 0; round < 3000; ++round) {
    std::string input;
    const int length = static_cast<int>(rng() % 200);
    for (int i = 0; i < length; ++i) {
      input.push_back(rng() % 8 == 0 ? static_cast<char>(rng() % 256)
                                     : alphabet[rng() % alphabet.size()]);
    }
    RequestParser parser(limits);
    std::string buffer;
    Args args;
    bool failed = false;
    for (std::size_t pos = 0; pos < input.size() && !failed;) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 20, input.size() - pos);
      buffer.append(input, pos, n);
      pos += n;
      while (!buffer.empty()) {
        ParseResult result = parser.Parse(buffer, &args);
        ASSERT_LE(result.consumed, buffer.size());
        buffer.erase(0, result.consumed);
        if (result.failed()) {
          ASSERT_FALSE(result.error.empty());
          // Sticky, and takes nothing more.
          ParseResult again = parser.Parse("PING\r\n", &args);
          ASSERT_TRUE(again.failed());
          ASSERT_EQ(again.consumed, 0u);
          failed = true;
          break;
        }
        if (result.need_more()) break;
        ASSERT_FALSE(args.empty());
        for (const std::string& arg : args) ASSERT_LE(arg.size(), 64u);
      }
      ASSERT_LE(parser.buffered_bytes(), 8u * 32 + 64);
    }
  }
}

TEST(SplitInlineArgsTest, SplitsLikeSdssplitargs) {
  Args args;
  EXPECT_TRUE(SplitInlineArgs("", &args));
  EXPECT_TRUE(args.empty());
  EXPECT_TRUE(SplitInlineArgs("  a  b\v c\f", &args));
  EXPECT_EQ(args, (Args{"a", "b\v", "c\f"}));  // \v and \f only separate between words
  EXPECT_TRUE(SplitInlineArgs("\"a\"\t'b'", &args));
  EXPECT_EQ(args, (Args{"a", "b"}));
  EXPECT_FALSE(SplitInlineArgs("\"a\"x", &args));
  EXPECT_TRUE(args.empty());
}

}  // namespace
}  // namespace herald::resp
