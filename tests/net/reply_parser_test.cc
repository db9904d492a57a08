#include "net/resp/reply_parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "net/resp/reply_writer.h"

namespace herald::resp {

// gtest prints Replies through this (found by argument-dependent lookup).
void PrintTo(const Reply& reply, std::ostream* os) { *os << reply.ToString(); }

namespace {

using namespace std::string_literals;

struct Outcome {
  std::vector<Reply> replies;
  std::optional<std::string> error;
};

Outcome Feed(ReplyParser& parser, const std::vector<std::string_view>& chunks) {
  Outcome outcome;
  std::string buffer;
  for (std::string_view chunk : chunks) {
    buffer.append(chunk);
    while (!buffer.empty()) {
      Reply reply;
      const std::size_t size = buffer.size();
      ParseResult result = parser.Parse(buffer, &reply);
      EXPECT_LE(result.consumed, size);
      buffer.erase(0, result.consumed);
      if (result.failed()) {
        outcome.error = result.error;
        return outcome;
      }
      if (result.need_more()) {
        EXPECT_EQ(result.consumed, size);
        break;
      }
      outcome.replies.push_back(std::move(reply));
    }
  }
  return outcome;
}

Outcome ParseWhole(std::string_view input, ReplyParserLimits limits = {}) {
  ReplyParser parser(limits);
  return Feed(parser, {input});
}

// Parses `input` whole, split in two at every byte, and one byte at a time; all must agree.
Outcome ParseEverySplit(std::string_view input) {
  const Outcome whole = ParseWhole(input);
  for (std::size_t i = 0; i <= input.size(); ++i) {
    ReplyParser parser;
    const Outcome split = Feed(parser, {input.substr(0, i), input.substr(i)});
    EXPECT_EQ(split.replies, whole.replies) << "split at " << i;
    EXPECT_EQ(split.error, whole.error) << "split at " << i;
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  ReplyParser parser;
  const Outcome one_by_one = Feed(parser, bytes);
  EXPECT_EQ(one_by_one.replies, whole.replies);
  EXPECT_EQ(one_by_one.error, whole.error);
  return whole;
}

std::string Written(int protocol, const std::function<void(ReplyWriter&)>& write) {
  std::string out;
  ReplyWriter writer(&out, protocol);
  write(writer);
  return out;
}

// Writes with the writer, parses every split, and expects `expected` back.
void ExpectRoundTrip(int protocol, const std::function<void(ReplyWriter&)>& write,
                     const Reply& expected) {
  const std::string bytes = Written(protocol, write);
  SCOPED_TRACE("RESP" + std::to_string(protocol) + " " + bytes);
  const Outcome outcome = ParseEverySplit(bytes);
  ASSERT_FALSE(outcome.error) << *outcome.error;
  ASSERT_EQ(outcome.replies.size(), 1u);
  EXPECT_EQ(outcome.replies[0], expected);
}

TEST(ReplyParserTest, RoundTripsScalars) {
  for (int protocol : {2, 3}) {
    ExpectRoundTrip(
        protocol, [](ReplyWriter& w) { w.SimpleString("OK"); }, Reply::SimpleString("OK"));
    ExpectRoundTrip(
        protocol, [](ReplyWriter& w) { w.Error("ERR no such key"); },
        Reply::Error("ERR no such key"));
    ExpectRoundTrip(
        protocol, [](ReplyWriter& w) { w.Integer(-7); }, Reply::Integer(-7));
    ExpectRoundTrip(
        protocol, [](ReplyWriter& w) { w.Integer(std::numeric_limits<std::int64_t>::min()); },
        Reply::Integer(std::numeric_limits<std::int64_t>::min()));
    ExpectRoundTrip(
        protocol, [](ReplyWriter& w) { w.Bulk("a\r\n\0b"s); }, Reply::Bulk("a\r\n\0b"s));
    ExpectRoundTrip(
        protocol, [](ReplyWriter& w) { w.Bulk(""); }, Reply::Bulk(""));
    ExpectRoundTrip(
        protocol, [](ReplyWriter& w) { w.Null(); }, Reply::Null());
    ExpectRoundTrip(
        protocol, [](ReplyWriter& w) { w.NullArray(); }, Reply::Null());
  }
}

TEST(ReplyParserTest, RoundTripsResp3Types) {
  ExpectRoundTrip(
      3, [](ReplyWriter& w) { w.Double(2.5); }, Reply::Double(2.5, "2.5"));
  ExpectRoundTrip(
      3, [](ReplyWriter& w) { w.Double(-std::numeric_limits<double>::infinity()); },
      Reply::Double(-std::numeric_limits<double>::infinity(), "-inf"));
  ExpectRoundTrip(
      3, [](ReplyWriter& w) { w.Double(std::nan("")); }, Reply::Double(std::nan(""), "nan"));
  ExpectRoundTrip(
      3, [](ReplyWriter& w) { w.Boolean(true); }, Reply::Boolean(true));
  ExpectRoundTrip(
      3, [](ReplyWriter& w) { w.Boolean(false); }, Reply::Boolean(false));
  ExpectRoundTrip(
      3, [](ReplyWriter& w) { w.Verbatim("txt", "a\r\nb"); }, Reply::Verbatim("txt", "a\r\nb"));
  ExpectRoundTrip(
      3, [](ReplyWriter& w) { w.BigNumber("-123456789012345678901234567890"); },
      Reply::BigNumber("-123456789012345678901234567890"));
}

TEST(ReplyParserTest, Resp3TypesReadAsTheirResp2Forms) {
  ExpectRoundTrip(
      2, [](ReplyWriter& w) { w.Double(2.5); }, Reply::Bulk("2.5"));
  ExpectRoundTrip(
      2, [](ReplyWriter& w) { w.Boolean(true); }, Reply::Integer(1));
  ExpectRoundTrip(
      2, [](ReplyWriter& w) { w.Verbatim("txt", "x"); }, Reply::Bulk("x"));
  ExpectRoundTrip(
      2, [](ReplyWriter& w) { w.BigNumber("12"); }, Reply::Bulk("12"));
}

void WriteNested(ReplyWriter& w) {
  w.MapHeader(2);
  w.Bulk("list");
  w.ArrayHeader(3);
  w.Integer(1);
  w.ArrayHeader(0);
  w.ArrayHeader(2);
  w.Null();
  w.Bulk("deep\r\n");
  w.SimpleString("set");
  w.SetHeader(2);
  w.Bulk("a");
  w.Bulk("b");
}

TEST(ReplyParserTest, RoundTripsNestedAggregates) {
  const Reply list = Reply::Array({Reply::Integer(1), Reply::Array({}),
                                   Reply::Array({Reply::Null(), Reply::Bulk("deep\r\n")})});
  ExpectRoundTrip(
      3, WriteNested,
      Reply::Map({{Reply::Bulk("list"), list},
                  {Reply::SimpleString("set"), Reply::Set({Reply::Bulk("a"), Reply::Bulk("b")})}}));
  ExpectRoundTrip(2, WriteNested,
                  Reply::Array({Reply::Bulk("list"), list, Reply::SimpleString("set"),
                                Reply::Array({Reply::Bulk("a"), Reply::Bulk("b")})}));
}

TEST(ReplyParserTest, RoundTripsPush) {
  const auto write = [](ReplyWriter& w) {
    w.PushHeader(3);
    w.Bulk("message");
    w.Bulk("channel");
    w.Bulk("hi");
  };
  const std::vector<Reply> items = {Reply::Bulk("message"), Reply::Bulk("channel"),
                                    Reply::Bulk("hi")};
  ExpectRoundTrip(3, write, Reply::Push(items));
  ExpectRoundTrip(2, write, Reply::Array(items));
}

TEST(ReplyParserTest, MapFindLooksUpStringKeys) {
  const Outcome outcome = ParseWhole("%2\r\n+server\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n");
  ASSERT_EQ(outcome.replies.size(), 1u);
  const Reply& hello = outcome.replies[0];
  ASSERT_NE(hello.Find("proto"), nullptr);
  EXPECT_EQ(hello.Find("proto")->integer, 3);
  EXPECT_EQ(hello.Find("server")->str, "redis");
  EXPECT_EQ(hello.Find("missing"), nullptr);
}

TEST(ReplyParserTest, SeveralRepliesInOneBufferComeOutInOrder) {
  const std::string input = "+OK\r\n:1\r\n$3\r\nabc\r\n*2\r\n:1\r\n:2\r\n-ERR x\r\n_\r\n";
  const Outcome outcome = ParseEverySplit(input);
  EXPECT_EQ(outcome.replies,
            (std::vector<Reply>{Reply::SimpleString("OK"), Reply::Integer(1), Reply::Bulk("abc"),
                                Reply::Array({Reply::Integer(1), Reply::Integer(2)}),
                                Reply::Error("ERR x"), Reply::Null()}));
}

TEST(ReplyParserTest, BlobErrorIsAnError) {
  const Outcome outcome = ParseEverySplit("!21\r\nSYNTAX invalid syntax\r\n");
  ASSERT_EQ(outcome.replies.size(), 1u);
  EXPECT_EQ(outcome.replies[0], Reply::Error("SYNTAX invalid syntax"));
}

TEST(ReplyParserTest, AttributesAreDropped) {
  const Outcome outcome = ParseEverySplit(
      "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2\r\n|0\r\n:3\r\n");
  ASSERT_FALSE(outcome.error) << *outcome.error;
  ASSERT_EQ(outcome.replies.size(), 1u);
  EXPECT_EQ(outcome.replies[0], Reply::Array({Reply::Integer(2), Reply::Integer(3)}));
}

TEST(ReplyParserTest, MalformedRepliesAreErrors) {
  struct Case {
    std::string input;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"?\r\n", "unknown reply type '?'"},
      {"\x01\r\n", "unknown reply type '\\x01'"},
      {"\r\n", "empty reply line"},
      {"+OK\rX", "expected '\\n' after '\\r'"},
      {":12a\r\n", "invalid integer"},
      {":\r\n", "invalid integer"},
      {"$-2\r\n", "invalid bulk length"},
      {"$x\r\n", "invalid bulk length"},
      {"=-1\r\n", "invalid bulk length"},
      {"$3\r\nabcd\r\n", "expected \"\\r\\n\" after a bulk of 3 bytes"},
      {"$?\r\n", "streamed strings are not supported"},
      {"*?\r\n", "streamed aggregates are not supported"},
      {"*-2\r\n", "invalid aggregate length"},
      {"#x\r\n", "invalid boolean"},
      {",abc\r\n", "invalid double"},
      {"(12a\r\n", "invalid big number"},
      {"_x\r\n", "invalid null"},
      {"=3\r\ntxt\r\n", "invalid verbatim string"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    const Outcome outcome = ParseEverySplit(c.input);
    EXPECT_EQ(outcome.error, c.error);
  }
}

TEST(ReplyParserTest, LimitsAreEnforcedFromHeaders) {
  ReplyParserLimits limits;
  limits.max_bulk_length = 4;
  limits.max_aggregate_length = 2;
  limits.max_depth = 2;
  limits.max_line_length = 8;
  EXPECT_FALSE(ParseWhole("$4\r\nabcd\r\n", limits).error);
  EXPECT_EQ(ParseWhole("$5\r\n", limits).error, "bulk length 5 is over the limit of 4");
  EXPECT_EQ(ParseWhole("*3\r\n", limits).error, "aggregate length 3 is over the limit of 2");
  EXPECT_FALSE(ParseWhole("*1\r\n*1\r\n:1\r\n", limits).error);
  EXPECT_EQ(ParseWhole("*1\r\n*1\r\n*1\r\n", limits).error, "replies nested deeper than 2");
  EXPECT_EQ(ParseWhole("+123456789", limits).error, "reply line longer than 8");
}

TEST(ReplyParserTest, ErrorIsStickyUntilReset) {
  ReplyParser parser;
  Reply reply;
  ASSERT_TRUE(parser.Parse("?\r\n", &reply).failed());
  ParseResult again = parser.Parse("+OK\r\n", &reply);
  EXPECT_TRUE(again.failed());
  EXPECT_EQ(again.consumed, 0u);
  parser.Reset();
  ASSERT_TRUE(parser.Parse("+OK\r\n", &reply).complete());
  EXPECT_EQ(reply, Reply::SimpleString("OK"));
}

TEST(ReplyParserTest, LargeBulkFedOneByteAtATimeTakesEachByteOnce) {
  const std::size_t size = 2 << 20;
  std::string input = "$" + std::to_string(size) + "\r\n" + std::string(size, 'z') + "\r\n";
  ReplyParser parser;
  Reply reply;
  for (std::size_t i = 0; i < input.size(); ++i) {
    ParseResult result = parser.Parse(std::string_view(input).substr(i, 1), &reply);
    ASSERT_EQ(result.consumed, 1u);
    ASSERT_EQ(result.complete(), i + 1 == input.size());
  }
  EXPECT_EQ(reply.str.size(), size);
}

// Builds a random reply tree and writes it with the writer in RESP3, and what a parser
// should read back.
Reply RandomReply(std::mt19937& rng, int depth, ReplyWriter& w) {
  const int kind = static_cast<int>(rng() % (depth < 3 ? 12 : 8));
  auto random_text = [&rng](bool binary) {
    std::string text;
    const int length = static_cast<int>(rng() % 12);
    for (int i = 0; i < length; ++i) {
      text.push_back(binary ? static_cast<char>(rng() % 256) : static_cast<char>('a' + rng() % 26));
    }
    return text;
  };
  switch (kind) {
    case 0: {
      std::string text = random_text(false);
      w.SimpleString(text);
      return Reply::SimpleString(text);
    }
    case 1: {
      std::string text = "ERR " + random_text(false);
      w.Error(text);
      return Reply::Error(text);
    }
    case 2: {
      const auto value = static_cast<std::int64_t>(rng()) - (1LL << 31);
      w.Integer(value);
      return Reply::Integer(value);
    }
    case 3: {
      std::string bytes = random_text(true);
      w.Bulk(bytes);
      return Reply::Bulk(bytes);
    }
    case 4:
      w.Null();
      return Reply::Null();
    case 5: {
      const double value = static_cast<double>(rng() % 100000) / 64.0;
      w.Double(value);
      Reply reply = Reply::Double(value, "");
      return reply;
    }
    case 6: {
      const bool value = rng() % 2 == 0;
      w.Boolean(value);
      return Reply::Boolean(value);
    }
    case 7: {
      std::string text = random_text(true);
      w.Verbatim("txt", text);
      return Reply::Verbatim("txt", text);
    }
    case 8:
    case 9:
    case 10: {
      const std::size_t n = rng() % 4;
      std::vector<Reply> elements;
      if (kind == 8) w.ArrayHeader(n);
      if (kind == 9) w.SetHeader(n);
      if (kind == 10) w.PushHeader(n);
      for (std::size_t i = 0; i < n; ++i) elements.push_back(RandomReply(rng, depth + 1, w));
      if (kind == 8) return Reply::Array(std::move(elements));
      if (kind == 9) return Reply::Set(std::move(elements));
      return Reply::Push(std::move(elements));
    }
    default: {
      const std::size_t n = rng() % 3;
      w.MapHeader(n);
      std::vector<ReplyEntry> pairs;
      for (std::size_t i = 0; i < n; ++i) {
        Reply key = RandomReply(rng, depth + 1, w);
        Reply value = RandomReply(rng, depth + 1, w);
        pairs.push_back(ReplyEntry{std::move(key), std::move(value)});
      }
      return Reply::Map(std::move(pairs));
    }
  }
}

TEST(ReplyParserTest, RandomReplyTreesRoundTripUnderRandomSplits) {
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::string bytes;
    ReplyWriter writer(&bytes, 3);
    std::vector<Reply> expected;
    const int count = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < count; ++i) expected.push_back(RandomReply(rng, 0, writer));
    std::vector<std::string_view> chunks;
    for (std::size_t pos = 0; pos < bytes.size();) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 9, bytes.size() - pos);
      chunks.push_back(std::string_view(bytes).substr(pos, n));
      pos += n;
    }
    ReplyParser parser;
    const Outcome outcome = Feed(parser, chunks);
    ASSERT_FALSE(outcome.error) << *outcome.error;
    ASSERT_EQ(outcome.replies, expected) << "round " << round;
  }
}

TEST(ReplyParserTest, RandomBytesNeverCrashOrOverconsume) {
  const std::string alphabet = "*$%~>|!=_,#(+-:\r\n\r\n0123456789?tfx.a"s;
  std::mt19937 rng(99);
  ReplyParserLimits limits;
  limits.max_bulk_length = 64;
  limits.max_line_length = 64;
  limits.max_aggregate_length = 16;
  limits.max_depth = 8;
  for (int round = 0; round < 3000; ++round) {
    std::string input;
    const int length = static_cast<int>(rng() % 200);
    for (int i = 0; i < length; ++i) input.push_back(alphabet[rng() % alphabet.size()]);
    ReplyParser parser(limits);
    std::string buffer;
    for (std::size_t pos = 0; pos < input.size();) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 20, input.size() - pos);
      buffer.append(input, pos, n);
      pos += n;
      bool failed = false;
      while (!buffer.empty()) {
        Reply reply;
        ParseResult result = parser.Parse(buffer, &reply);
        ASSERT_LE(result.consumed, buffer.size());
        buffer.erase(0, result.consumed);
        if (result.failed()) {
          failed = true;
          break;
        }
        if (result.need_more()) break;
      }
      if (failed) break;
    }
  }
}

}  // namespace
}  // namespace herald::resp
