// Replies that Redis 7's own test suites (tests/unit/protocol.tcl, type/list.tcl,
// type/string.tcl, type/incr.tcl, keyspace.tcl) check byte for byte or by error text, against
// the RESP server in-process on a free loopback port with a real store in a temp dir. Each
// expectation was compared with a real redis-server sent the same commands.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "tests/net/server_fixture.h"

namespace herald::net {
namespace {

using namespace std::chrono_literals;
using client::Client;
using resp::Reply;
using resp::ReplyType;

constexpr const char* kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

class RedisCompatTest : public ServerFixture {};

// ---- Strings (type/string.tcl, type/incr.tcl) --------------------------------------------

TEST_F(RedisCompatTest, SetOptionSyntaxErrorsAreRedisSyntaxErrors) {
  const std::string kSyntax = "ERR syntax error";
  EXPECT_EQ(Err({"SET", "k", "v", "non-existing-option"}), kSyntax);
  EXPECT_EQ(Err({"SET", "k", "v", "NX", "XX"}), kSyntax);
  EXPECT_EQ(Err({"SET", "k", "v", "EX"}), kSyntax);  // EX without a value
  EXPECT_EQ(Err({"SET", "k", "v", "EX", "10", "PX", "10"}), kSyntax);
  EXPECT_EQ(Err({"SET", "k", "v", "EX", "10", "KEEPTTL"}), kSyntax);
  EXPECT_EQ(Err({"SET", "k", "v", "KEEPTTL", "EX", "10"}), kSyntax);
  EXPECT_EQ(Err({"SET", "k", "v", "EX", "10", "bogus"}), kSyntax);
  EXPECT_TRUE(Cmd({"GET", "k"}).is_null());
}

TEST_F(RedisCompatTest, SetExpireTimesAreValidatedAsRedisDoes) {
  const std::string kInvalid = "ERR invalid expire time in 'set' command";
  EXPECT_EQ(Err({"SET", "k", "v", "EX", "0"}), kInvalid);
  EXPECT_EQ(Err({"SET", "k", "v", "EX", "-1"}), kInvalid);
  EXPECT_EQ(Err({"SET", "k", "v", "PX", "0"}), kInvalid);
  EXPECT_EQ(Err({"SET", "k", "v", "EXAT", "0"}), kInvalid);
  EXPECT_EQ(Err({"SET", "k", "v", "PXAT", "-5"}), kInvalid);
  EXPECT_EQ(Err({"SET", "k", "v", "EX", "-9999999999999999"}), kInvalid);
  EXPECT_EQ(Err({"SET", "k", "v", "EX", "9999999999999999"}), kInvalid);     // ms overflow
  EXPECT_EQ(Err({"SET", "k", "v", "PX", "9223372036854775807"}), kInvalid);  // + now overflows
  EXPECT_EQ(Err({"SET", "k", "v", "EX", "x"}), "ERR value is not an integer or out of range");
  // A valid expiry is refused, not ignored: Herald's keys never expire. Repeating the same
  // option is not a syntax error (Redis takes the last one).
  EXPECT_EQ(Err({"SET", "k", "v", "EX", "10"}),
            "ERR keys do not expire in Herald: EX is not supported");
  EXPECT_EQ(Err({"SET", "k", "v", "ex", "1", "ex", "2"}),
            "ERR keys do not expire in Herald: ex is not supported");
  EXPECT_TRUE(Cmd({"GET", "k"}).is_null());
}

TEST_F(RedisCompatTest, SetKeepTtlIsAcceptedBecauseNoKeyHasATtl) {
  EXPECT_EQ(Cmd({"SET", "k", "a", "KEEPTTL"}), Ok());
  EXPECT_EQ(Cmd({"GET", "k"}), Bulk("a"));
  EXPECT_EQ(Cmd({"SET", "k", "b", "KEEPTTL", "GET"}), Bulk("a"));
  EXPECT_EQ(Cmd({"SET", "k", "c", "keepttl", "XX"}), Ok());
  EXPECT_TRUE(Cmd({"SET", "other", "c", "KEEPTTL", "XX"}).is_null());
  EXPECT_EQ(Cmd({"GET", "k"}), Bulk("c"));
}

TEST_F(RedisCompatTest, SetGetWithNxAndAgainstAList) {
  EXPECT_TRUE(Cmd({"SET", "foo", "bar", "NX", "GET"}).is_null());
  EXPECT_EQ(Cmd({"SET", "foo", "bar2", "NX", "GET"}), Bulk("bar"));
  EXPECT_EQ(Cmd({"GET", "foo"}), Bulk("bar"));
  Cmd({"RPUSH", "list", "waffle"});
  EXPECT_EQ(Err({"SET", "list", "bar", "GET"}), kWrongType);
  EXPECT_EQ(Cmd({"RPOP", "list"}), Bulk("waffle"));
}

TEST_F(RedisCompatTest, DecrByTheSmallestIntegerWouldOverflow) {
  Cmd({"SET", "x", "0"});
  EXPECT_EQ(Err({"DECRBY", "x", "-9223372036854775808"}), "ERR decrement would overflow");
  EXPECT_EQ(Err({"DECRBY", "x", "v"}), "ERR value is not an integer or out of range");
  EXPECT_EQ(Err({"INCRBY", "x", "v"}), "ERR value is not an integer or out of range");
  EXPECT_EQ(Cmd({"GET", "x"}), Bulk("0"));
}

// ---- Lists (type/list.tcl) ---------------------------------------------------------------

TEST_F(RedisCompatTest, LIndexLooksAtTheKeyBeforeTheIndex) {
  EXPECT_TRUE(Cmd({"LINDEX", "missing", "x"}).is_null());
  Cmd({"SET", "str", "foobar"});
  EXPECT_EQ(Err({"LINDEX", "str", "x"}), kWrongType);
  Cmd({"RPUSH", "list", "a"});
  EXPECT_EQ(Err({"LINDEX", "list", "x"}), "ERR value is not an integer or out of range");
}

TEST_F(RedisCompatTest, PopWithCountRepliesAsRedisInResp2AndResp3) {
  Cmd({"LPUSH", "listcount", "zero"});
  RawConnection raw(server_->port());
  for (const char* protocol : {"2", "3"}) {
    const bool resp3 = std::string(protocol) == "3";
    raw.Send(std::string("HELLO ") + protocol + "\r\n");
    raw.ReadUntil("$7\r\nmodules\r\n*0\r\n");
    const std::string null = resp3 ? "_\r\n" : "$-1\r\n";
    const std::string null_array = resp3 ? "_\r\n" : "*-1\r\n";
    const std::string expected =
        "*0\r\n*0\r\n" + null + null + null_array + null_array + null_array + null_array;
    EXPECT_EQ(raw.Exchange("LPOP listcount 0\r\nRPOP listcount 0\r\n"
                           "LPOP nokey\r\nRPOP nokey\r\n"
                           "LPOP nokey 0\r\nLPOP nokey 1\r\nRPOP nokey 0\r\nRPOP nokey 1\r\n",
                           expected),
              expected)
        << "RESP" << protocol;
  }
  EXPECT_EQ(Err({"LPOP", "key", "1", "1"}), "ERR wrong number of arguments for 'lpop' command");
  EXPECT_EQ(Err({"RPOP", "key", "2", "2"}), "ERR wrong number of arguments for 'rpop' command");
  EXPECT_EQ(Err({"LPOP", "forbarqaz", "-123"}), "ERR value is out of range, must be positive");
}

TEST_F(RedisCompatTest, BlockingPopTimeoutIsCheckedBeforeTheKeys) {
  Cmd({"RPUSH", "blist1", "x"});
  const std::string kOutOfRange = "ERR timeout is out of range";
  const std::string kNotFloat = "ERR timeout is not a float or out of range";
  // Seconds * 1000 beyond 2^63, or a deadline (now + timeout) beyond it: Redis 7.2's wording.
  EXPECT_EQ(Err({"BLPOP", "blist1", "0x7FFFFFFFFFFFFF"}), kOutOfRange);
  EXPECT_EQ(Err({"BLPOP", "blist1", "0x7FFFFFFFFFFFFFFF"}), kOutOfRange);
  EXPECT_EQ(Err({"BLPOP", "blist1", "9223372036854775"}), kOutOfRange);
  EXPECT_EQ(Err({"BRPOP", "blist1", "1e400"}), kOutOfRange);
  EXPECT_EQ(Err({"BRPOP", "blist1", "inf"}), kOutOfRange);
  EXPECT_EQ(Err({"BLPOP", "blist1", "-inf"}), "ERR timeout is negative");
  EXPECT_EQ(Err({"BLPOP", "blist1", "-1"}), "ERR timeout is negative");
  EXPECT_EQ(Err({"BLPOP", "blist1", " 1"}), kNotFloat);
  EXPECT_EQ(Err({"BLPOP", "blist1", "1 "}), kNotFloat);
  EXPECT_EQ(Err({"BLPOP", "blist1", ""}), kNotFloat);
  EXPECT_EQ(Err({"BLPOP", "blist1", "nan"}), kNotFloat);
  EXPECT_EQ(Cmd({"LLEN", "blist1"}), Int(1));
  // strtold's forms are timeouts too: hex, exponents, and values too small for a double.
  Reply popped = Cmd({"BLPOP", "blist1", "0x1p-3"});
  ASSERT_EQ(popped.elements.size(), 2u) << popped.ToString();
  EXPECT_EQ(popped.elements[1], Bulk("x"));
  EXPECT_TRUE(Cmd({"BRPOP", "blist1", "1e-400"}).is_null());
  EXPECT_EQ(Cmd({"PING"}), Reply::SimpleString("PONG"));
}

TEST_F(RedisCompatTest, BlockingPopWithAVeryLongTimeoutWaitsAndWakes) {
  auto waiter = Connect();
  SendOnly(waiter.get(), {"BLPOP", "later", "9223372036854"});  // about 292 years
  ASSERT_TRUE(WaitForBlocked(1));
  EXPECT_EQ(Cmd({"RPUSH", "later", "v"}), Int(1));
  auto replies = waiter->ReadReplies(1);
  ASSERT_TRUE(replies.ok()) << replies.error().message;
  ASSERT_EQ((*replies)[0].elements.size(), 2u) << (*replies)[0].ToString();
  EXPECT_EQ((*replies)[0].elements[1], Bulk("v"));
}

TEST_F(RedisCompatTest, BlockingPopServesAWaiterBeforeALaterPipelinedPop) {
  auto first = Connect();
  SendOnly(first.get(), {"BLPOP", "mylist", "0"});
  ASSERT_TRUE(WaitForBlocked(1));
  RawConnection second(server_->port());
  second.Send("LPUSH mylist 1\r\nBLPOP mylist 0\r\n");
  auto served = first->ReadReplies(1);
  ASSERT_TRUE(served.ok()) << served.error().message;
  ASSERT_EQ((*served)[0].elements.size(), 2u) << (*served)[0].ToString();
  EXPECT_EQ((*served)[0].elements[1], Bulk("1"));
  EXPECT_EQ(second.ReadUntil(":1\r\n"), ":1\r\n");
  ASSERT_TRUE(WaitForBlocked(1));
  EXPECT_EQ(Cmd({"LPUSH", "mylist", "2"}), Int(1));
  EXPECT_EQ(second.ReadUntil("$1\r\n2\r\n"), "*2\r\n$6\r\nmylist\r\n$1\r\n2\r\n");
}

// ---- Keyspace (keyspace.tcl, scan.tcl) ---------------------------------------------------

TEST_F(RedisCompatTest, ScanCursorIsReadLikeStrtoulAndUnknownCursorsEndTheIteration) {
  Cmd({"SET", "a", "1"});
  EXPECT_EQ(Err({"SCAN", " 0"}), "ERR invalid cursor");
  EXPECT_EQ(Err({"SCAN", "0 "}), "ERR invalid cursor");
  EXPECT_EQ(Err({"SCAN", "x", "COUNT", "0"}), "ERR invalid cursor");  // cursor first
  EXPECT_EQ(Err({"SCAN", "18446744073709551616"}), "ERR invalid cursor");
  for (const char* start : {"0", "", "+0"}) {
    Reply page = Cmd({"SCAN", start});
    ASSERT_EQ(page.elements.size(), 2u) << page.ToString();
    EXPECT_EQ(page.elements[0], Bulk("0"));
    EXPECT_EQ(page.elements[1].elements.size(), 1u) << start;
  }
  for (const char* unknown : {"-1", "18446744073709551615", "12345"}) {
    Reply page = Cmd({"SCAN", unknown, "COUNT", "10"});
    ASSERT_EQ(page.elements.size(), 2u) << page.ToString();
    EXPECT_EQ(page.elements[0], Bulk("0")) << unknown;
    EXPECT_TRUE(page.elements[1].elements.empty()) << unknown;
  }
}

// ---- Connection and server commands ------------------------------------------------------

TEST_F(RedisCompatTest, ContainerCommandsNameTheSubcommandInTheirErrors) {
  EXPECT_EQ(Err({"CLIENT", "FOO"}), "ERR unknown subcommand 'FOO'. Try CLIENT HELP.");
  EXPECT_EQ(Err({"CLIENT", "SETNAME"}),
            "ERR wrong number of arguments for 'client|setname' command");
  EXPECT_EQ(Err({"CLIENT", "GETNAME", "x"}),
            "ERR wrong number of arguments for 'client|getname' command");
  EXPECT_EQ(Err({"CONFIG", "GET"}), "ERR wrong number of arguments for 'config|get' command");
  EXPECT_EQ(Err({"CONFIG", "FOO"}), "ERR unknown subcommand 'FOO'. Try CONFIG HELP.");
  EXPECT_EQ(Err({"COMMAND", "COUNT", "x"}),
            "ERR wrong number of arguments for 'command|count' command");
  EXPECT_EQ(Err({"COMMAND", "FOO"}), "ERR unknown subcommand 'FOO'. Try COMMAND HELP.");
  RawConnection raw(server_->port());
  const std::string expected = "*1\r\n$-1\r\n";
  EXPECT_EQ(raw.Exchange("COMMAND INFO nosuch\r\n", expected), expected);
}

TEST_F(RedisCompatTest, WithoutAPasswordTheDefaultUserTakesAnyPassword) {
  EXPECT_EQ(Cmd({"AUTH", "default", "whatever"}), Ok());
  EXPECT_EQ(Err({"AUTH", "someone", "whatever"}),
            "WRONGPASS invalid username-password pair or user is disabled.");
  EXPECT_EQ(Err({"HELLO", "2", "AUTH", "someone", "whatever"}),
            "WRONGPASS invalid username-password pair or user is disabled.");
  EXPECT_EQ(Cmd({"HELLO", "2", "AUTH", "default", "whatever"}).type, ReplyType::kArray);
  EXPECT_EQ(Err({"AUTH", "x"}).rfind("ERR AUTH <password> called without any password", 0), 0u);
}

TEST_F(RedisCompatTest, FlushallAndFlushdbTakeAnOptionalAsyncOrSync) {
  for (const char* command : {"FLUSHALL", "FLUSHDB"}) {
    Cmd({"SET", "k", "v"});
    EXPECT_EQ(Cmd({command}), Ok()) << command;
    EXPECT_EQ(Cmd({"DBSIZE"}), Int(0)) << command;
    EXPECT_EQ(Cmd({command, "ASYNC"}), Ok()) << command;
    EXPECT_EQ(Cmd({command, "sync"}), Ok()) << command;
    EXPECT_EQ(Err({command, "foo"}), "ERR syntax error") << command;
    EXPECT_EQ(Err({command, "ASYNC", "SYNC"}), "ERR syntax error") << command;
  }
}

TEST_F(RedisCompatTest, FunctionFlushAndListAnswerAsRedisDoesWithNoFunctions) {
  EXPECT_EQ(Cmd({"FUNCTION", "FLUSH"}), Ok());
  EXPECT_EQ(Cmd({"FUNCTION", "flush", "ASYNC"}), Ok());
  EXPECT_EQ(Cmd({"FUNCTION", "FLUSH", "sync"}), Ok());
  EXPECT_EQ(Err({"FUNCTION", "FLUSH", "foo"}),
            "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
  EXPECT_EQ(Err({"FUNCTION", "flush", "async", "sync"}),
            "ERR unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION HELP.");
  for (auto args : {std::vector<std::string>{"FUNCTION", "LIST"},
                    std::vector<std::string>{"FUNCTION", "LIST", "WITHCODE"},
                    std::vector<std::string>{"FUNCTION", "LIST", "LIBRARYNAME", "x", "withcode"}}) {
    Reply list = Cmd(args);
    EXPECT_EQ(list.type, ReplyType::kArray) << list.ToString();
    EXPECT_TRUE(list.elements.empty()) << list.ToString();
  }
  EXPECT_EQ(Err({"FUNCTION", "LIST", "LIBRARYNAME"}), "ERR library name argument was not given");
  EXPECT_EQ(Err({"FUNCTION", "LIST", "foo"}), "ERR Unknown argument foo");
  EXPECT_EQ(Err({"FUNCTION", "LIST", "withcode", "withcode"}), "ERR Unknown argument withcode");
  EXPECT_EQ(Err({"FUNCTION"}), "ERR wrong number of arguments for 'function' command");
  // Herald has no scripting: the rest is refused saying so (Redis would run it).
  EXPECT_EQ(Err({"FUNCTION", "load", "#!lua name=x\nreturn 1"}),
            "ERR Herald has no scripting: FUNCTION LOAD is not supported (there are no functions "
            "to load, call or inspect)");
  EXPECT_EQ(Err({"FUNCTION", "STATS"}).rfind("ERR Herald has no scripting: FUNCTION STATS", 0), 0u);
}

// ---- Protocol (protocol.tcl) -------------------------------------------------------------

TEST_F(RedisCompatTest, ProtocolSuiteRequestsGetRedisReplies) {
  auto raw_reply = [this](const std::string& request) {
    RawConnection raw(server_->port());
    raw.Send(request);
    return raw.ReadToClose();
  };
  EXPECT_EQ(raw_reply("\r\n*-10\r\n*0\r\nPING\r\nQUIT\r\n"), "+PONG\r\n+OK\r\n");
  EXPECT_EQ(raw_reply("*3000000000\r\n"), "-ERR Protocol error: invalid multibulk length\r\n");
  EXPECT_EQ(raw_reply("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n"),
            "-ERR Protocol error: expected '$', got 'f'\r\n");
  for (const char* length : {"-10", "2000000000", "blabla"}) {
    EXPECT_EQ(raw_reply(std::string("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$") + length + "\r\n"),
              "-ERR Protocol error: invalid bulk length\r\n")
        << length;
  }
  EXPECT_EQ(raw_reply("set \"\"\"test-key\"\"\" test-value\r\nping\r\n"),
            "-ERR Protocol error: unbalanced quotes in request\r\n");
  // Protocol desync: a request that never ends is refused at 64 KiB.
  EXPECT_EQ(raw_reply(std::string(1, '\0') + std::string(70000, 'A')),
            "-ERR Protocol error: too big inline request\r\n");
  EXPECT_EQ(raw_reply("*" + std::string(1, '\0') + std::string(70000, 'A')),
            "-ERR Protocol error: too big mbulk count string\r\n");
  EXPECT_EQ(Err({"PING", "x", "y", "z"}), "ERR wrong number of arguments for 'ping' command");
}

TEST_F(RedisCompatTest, InlineQuotesAndBinaryValuesRoundTrip) {
  RawConnection raw(server_->port());
  const std::string expected = "+OK\r\n$1\r\nc\r\n$2\r\nA\n\r\n$4\r\nit's\r\n";
  EXPECT_EQ(raw.Exchange("set \"a b\" c\r\nget 'a b'\r\necho \"\\x41\\n\"\r\necho 'it\\'s'\r\n",
                         expected),
            expected);
  const std::string binary("a\r\nb\0c", 6);
  EXPECT_EQ(Cmd({"SET", "bin", binary}), Ok());
  EXPECT_EQ(Cmd({"GET", "bin"}), Bulk(binary));
  EXPECT_EQ(Cmd({"SET", "", "empty-key"}), Ok());
  EXPECT_EQ(Cmd({"SET", "empty", ""}), Ok());
  EXPECT_EQ(Cmd({"GET", "empty"}), Bulk(""));
  EXPECT_EQ(Cmd({"GET", ""}), Bulk("empty-key"));
  const std::string big(1 << 20, 'x');
  EXPECT_EQ(Cmd({"RPUSH", "biglist", big, binary, ""}), Int(3));
  Reply range = Cmd({"LRANGE", "biglist", "0", "-1"});
  ASSERT_EQ(range.elements.size(), 3u);
  EXPECT_EQ(range.elements[0], Bulk(big));
  EXPECT_EQ(range.elements[1], Bulk(binary));
  EXPECT_EQ(range.elements[2], Bulk(""));
}

}  // namespace
}  // namespace herald::net
