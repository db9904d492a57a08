#include "net/resp/reply_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>

namespace herald::resp {
namespace {

using namespace std::string_literals;

// The bytes `write` produces in protocol 2 and in protocol 3.
struct Bytes {
  std::string resp2;
  std::string resp3;
};

Bytes Write(const std::function<void(ReplyWriter&)>& write) {
  Bytes bytes;
  ReplyWriter writer2(&bytes.resp2, 2);
  write(writer2);
  ReplyWriter writer3(&bytes.resp3, 3);
  write(writer3);
  return bytes;
}

void ExpectBytes(const std::function<void(ReplyWriter&)>& write, const std::string& resp2,
                 const std::string& resp3) {
  const Bytes bytes = Write(write);
  EXPECT_EQ(bytes.resp2, resp2);
  EXPECT_EQ(bytes.resp3, resp3);
}

TEST(ReplyWriterTest, SimpleString) {
  ExpectBytes([](ReplyWriter& w) { w.SimpleString("PONG"); }, "+PONG\r\n", "+PONG\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Ok(); }, "+OK\r\n", "+OK\r\n");
  ExpectBytes([](ReplyWriter& w) { w.SimpleString("a\r\nb"); }, "+a  b\r\n", "+a  b\r\n");
}

TEST(ReplyWriterTest, ErrorTakesTheWholeTextAndFlattensNewlines) {
  ExpectBytes([](ReplyWriter& w) { w.Error("ERR unknown command 'x'"); },
              "-ERR unknown command 'x'\r\n", "-ERR unknown command 'x'\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Error("WRONGTYPE Operation against a key"); },
              "-WRONGTYPE Operation against a key\r\n", "-WRONGTYPE Operation against a key\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Error("ERR bad\r\nthing\n"); }, "-ERR bad  thing \r\n",
              "-ERR bad  thing \r\n");
  ExpectBytes([](ReplyWriter& w) { w.Error("-NOAUTH Authentication required."); },
              "-NOAUTH Authentication required.\r\n", "-NOAUTH Authentication required.\r\n");
}

TEST(ReplyWriterTest, Integer) {
  ExpectBytes([](ReplyWriter& w) { w.Integer(0); }, ":0\r\n", ":0\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Integer(-42); }, ":-42\r\n", ":-42\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Integer(std::numeric_limits<std::int64_t>::min()); },
              ":-9223372036854775808\r\n", ":-9223372036854775808\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Integer(std::numeric_limits<std::int64_t>::max()); },
              ":9223372036854775807\r\n", ":9223372036854775807\r\n");
}

TEST(ReplyWriterTest, BulkIsBinarySafe) {
  ExpectBytes([](ReplyWriter& w) { w.Bulk("hello"); }, "$5\r\nhello\r\n", "$5\r\nhello\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Bulk(""); }, "$0\r\n\r\n", "$0\r\n\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Bulk("a\r\n\0b"s); }, "$5\r\na\r\n\0b\r\n"s,
              "$5\r\na\r\n\0b\r\n"s);
}

TEST(ReplyWriterTest, Nulls) {
  ExpectBytes([](ReplyWriter& w) { w.Null(); }, "$-1\r\n", "_\r\n");
  ExpectBytes([](ReplyWriter& w) { w.NullArray(); }, "*-1\r\n", "_\r\n");
}

TEST(ReplyWriterTest, ArrayHeaderThenElements) {
  ExpectBytes(
      [](ReplyWriter& w) {
        w.ArrayHeader(3);
        w.Bulk("a");
        w.Integer(1);
        w.Null();
      },
      "*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", "*3\r\n$1\r\na\r\n:1\r\n_\r\n");
  ExpectBytes([](ReplyWriter& w) { w.ArrayHeader(0); }, "*0\r\n", "*0\r\n");
}

TEST(ReplyWriterTest, MapIsAFlatArrayInResp2) {
  ExpectBytes(
      [](ReplyWriter& w) {
        w.MapHeader(2);
        w.Bulk("k1");
        w.Integer(1);
        w.Bulk("k2");
        w.Bulk("v");
      },
      "*4\r\n$2\r\nk1\r\n:1\r\n$2\r\nk2\r\n$1\r\nv\r\n",
      "%2\r\n$2\r\nk1\r\n:1\r\n$2\r\nk2\r\n$1\r\nv\r\n");
}

TEST(ReplyWriterTest, SetAndPushAreArraysInResp2) {
  ExpectBytes([](ReplyWriter& w) { w.SetHeader(2); }, "*2\r\n", "~2\r\n");
  ExpectBytes([](ReplyWriter& w) { w.PushHeader(3); }, "*3\r\n", ">3\r\n");
}

TEST(ReplyWriterTest, DoubleIsABulkInResp2) {
  ExpectBytes([](ReplyWriter& w) { w.Double(3.5); }, "$3\r\n3.5\r\n", ",3.5\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Double(-0.1); }, "$4\r\n-0.1\r\n", ",-0.1\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Double(10); }, "$2\r\n10\r\n", ",10\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Double(1e300); }, "$6\r\n1e+300\r\n", ",1e+300\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Double(std::numeric_limits<double>::infinity()); },
              "$3\r\ninf\r\n", ",inf\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Double(-std::numeric_limits<double>::infinity()); },
              "$4\r\n-inf\r\n", ",-inf\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Double(std::nan("")); }, "$3\r\nnan\r\n", ",nan\r\n");
}

TEST(ReplyWriterTest, DoubleTextReadsBackAsTheSameValue) {
  for (double value : {0.1, 1.0 / 3, 123456789.123456789, 5e-324, 1.7976931348623157e308}) {
    const Bytes bytes = Write([value](ReplyWriter& w) { w.Double(value); });
    const std::string text = bytes.resp3.substr(1, bytes.resp3.size() - 3);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), value) << text;
  }
}

TEST(ReplyWriterTest, BooleanIsAnIntegerInResp2) {
  ExpectBytes([](ReplyWriter& w) { w.Boolean(true); }, ":1\r\n", "#t\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Boolean(false); }, ":0\r\n", "#f\r\n");
}

TEST(ReplyWriterTest, VerbatimIsAPlainBulkInResp2) {
  ExpectBytes([](ReplyWriter& w) { w.Verbatim("txt", "Some string"); }, "$11\r\nSome string\r\n",
              "=15\r\ntxt:Some string\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Verbatim("markdown", "# a\r\n"); }, "$5\r\n# a\r\n\r\n",
              "=9\r\ntxt:# a\r\n\r\n");
  ExpectBytes([](ReplyWriter& w) { w.Verbatim("mkd", ""); }, "$0\r\n\r\n", "=4\r\nmkd:\r\n");
}

TEST(ReplyWriterTest, BigNumberIsABulkInResp2) {
  ExpectBytes([](ReplyWriter& w) { w.BigNumber("3492890328409238509324850943850943825024385"); },
              "$43\r\n3492890328409238509324850943850943825024385\r\n",
              "(3492890328409238509324850943850943825024385\r\n");
}

TEST(ReplyWriterTest, AppendsToTheBufferAndFollowsProtocolChanges) {
  std::string out = "existing";
  ReplyWriter writer(&out, 2);
  EXPECT_EQ(writer.protocol(), 2);
  writer.Null();
  writer.set_protocol(3);
  EXPECT_TRUE(writer.resp3());
  writer.Null();
  writer.set_protocol(7);  // unknown protocols fall back to 2
  EXPECT_EQ(writer.protocol(), 2);
  writer.Boolean(true);
  EXPECT_EQ(out, "existing$-1\r\n_\r\n:1\r\n");
  EXPECT_EQ(writer.buffer(), &out);
}

}  // namespace
}  // namespace herald::resp
