// Replies that Redis 7's own test suites (tests/unit/protocol.tcl, type/list.tcl,
// type/string.tcl, type/incr.tcl, keyspace.tcl) check byte for byte or by error text, against
// the RESP server in-process on a free loopback port with a real store in a temp dir. Each
// expectation was compared with a real redis-server sent the same commands.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <set>
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

// The line of CLIENT LIST's reply `list` for the client with id `id`; "" when none.
std::string ClientLine(const std::string& list, const std::string& id) {
  const std::size_t at = list.find("id=" + id + " ");
  return at == std::string::npos ? "" : list.substr(at, list.find('\n', at) - at);
}

// The counters of `name`'s line of INFO commandstats, as "calls=N,rejected_calls=N,
// failed_calls=N", once its usec and usec_per_call have the shape Redis writes (an integer; a
// number with two decimals). What is wrong otherwise.
std::string CommandStatsOf(const std::string& info, const std::string& name) {
  const std::string prefix = "cmdstat_" + name + ":";
  std::size_t at = info.find(prefix);
  while (at != std::string::npos && at > 0 && info[at - 1] != '\n') at = info.find(prefix, at + 1);
  if (at == std::string::npos) return "no line for " + name;
  at += prefix.size();
  const std::string line = info.substr(at, info.find("\r\n", at) - at);
  std::vector<std::pair<std::string, std::string>> fields;
  for (std::size_t start = 0; start <= line.size();) {
    std::size_t end = line.find(',', start);
    if (end == std::string::npos) end = line.size();
    const std::string field = line.substr(start, end - start);
    const std::size_t eq = field.find('=');
    if (eq == std::string::npos) return "malformed: " + line;
    fields.emplace_back(field.substr(0, eq), field.substr(eq + 1));
    start = end + 1;
  }
  auto digits = [](const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), ::isdigit);
  };
  if (fields.size() != 5 || fields[0].first != "calls" || fields[1].first != "usec" ||
      fields[2].first != "usec_per_call" || fields[3].first != "rejected_calls" ||
      fields[4].first != "failed_calls" || !digits(fields[1].second)) {
    return "malformed: " + line;
  }
  const std::string& per_call = fields[2].second;
  const std::size_t dot = per_call.find('.');
  if (dot == std::string::npos || dot + 3 != per_call.size() || !digits(per_call.substr(0, dot)) ||
      !digits(per_call.substr(dot + 1))) {
    return "malformed usec_per_call: " + line;
  }
  return "calls=" + fields[0].second + ",rejected_calls=" + fields[3].second +
         ",failed_calls=" + fields[4].second;
}

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
  ASSERT_TRUE(replies.ok()) << replies.status().message();
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
  ASSERT_TRUE(served.ok()) << served.status().message();
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

// ---- Databases (SELECT; the suite's external-server mode selects 9 on every client) -------

// The Keyspace section of INFO as it reads from here.
std::string KeyspaceInfo(const std::string& info) {
  const std::size_t at = info.find("# Keyspace\r\n");
  return at == std::string::npos ? "no Keyspace section" : info.substr(at);
}

TEST_F(RedisCompatTest, SelectRefusesWhatRedisRefusesWithItsWording) {
  const std::string kOutOfRange = "ERR DB index is out of range";
  const std::string kNotInteger = "ERR value is not an integer or out of range";
  const std::string kNotInt32 =
      "ERR value is out of range, value must between -2147483648 and 2147483647";
  for (const char* index : {"16", "-1", "2147483647", "-2147483648"}) {
    EXPECT_EQ(Err({"SELECT", index}), kOutOfRange) << index;
  }
  for (const char* index :
       {"abc", "1.5", "09", "+9", "-0", "", " 9", "9 ", "0x1", "9223372036854775808"}) {
    EXPECT_EQ(Err({"SELECT", index}), kNotInteger) << index;
  }
  for (const char* index : {"2147483648", "-2147483649", "9223372036854775807"}) {
    EXPECT_EQ(Err({"SELECT", index}), kNotInt32) << index;
  }
  EXPECT_EQ(Err({"SELECT"}), "ERR wrong number of arguments for 'select' command");
  EXPECT_EQ(Err({"SELECT", "9", "x"}), "ERR wrong number of arguments for 'select' command");
  // A refused SELECT leaves the connection where it was.
  EXPECT_EQ(Cmd({"SELECT", "15"}), Ok());
  EXPECT_EQ(Cmd({"SET", "k", "in 15"}), Ok());
  EXPECT_EQ(Err({"SELECT", "16"}), kOutOfRange);
  EXPECT_EQ(Cmd({"GET", "k"}), Bulk("in 15"));
  EXPECT_EQ(Cmd({"SELECT", "0"}), Ok());
  EXPECT_TRUE(Cmd({"GET", "k"}).is_null());
}

TEST_F(RedisCompatTest, TheSameKeyInDatabaseZeroAndNineIsTwoKeys) {
  auto nine = Connect();
  EXPECT_EQ(Cmd({"SELECT", "9"}, nine.get()), Ok());
  EXPECT_EQ(Cmd({"SET", "s", "zero"}), Ok());
  EXPECT_EQ(Cmd({"SET", "s", "nine"}, nine.get()), Ok());
  EXPECT_EQ(Cmd({"GET", "s"}), Bulk("zero"));
  EXPECT_EQ(Cmd({"GET", "s"}, nine.get()), Bulk("nine"));
  EXPECT_EQ(Cmd({"INCR", "n"}), Int(1));
  EXPECT_EQ(Cmd({"INCRBY", "n", "10"}, nine.get()), Int(10));
  EXPECT_EQ(Cmd({"DECRBY", "n", "3"}, nine.get()), Int(7));
  EXPECT_EQ(Cmd({"DECR", "n"}), Int(0));
  EXPECT_EQ(Cmd({"MSET", "a", "0", "b", "0"}), Ok());
  EXPECT_EQ(Cmd({"MSET", "a", "9"}, nine.get()), Ok());
  EXPECT_EQ(Cmd({"MGET", "a", "b"}, nine.get()).elements,
            (std::vector<Reply>{Bulk("9"), Reply::Null()}));
  EXPECT_EQ(Cmd({"RPUSH", "l", "a", "b"}), Int(2));
  EXPECT_EQ(Cmd({"LPUSH", "l", "x"}, nine.get()), Int(1));
  EXPECT_EQ(Cmd({"LRANGE", "l", "0", "-1"}).elements, (std::vector<Reply>{Bulk("a"), Bulk("b")}));
  EXPECT_EQ(Cmd({"LRANGE", "l", "0", "-1"}, nine.get()).elements, std::vector<Reply>{Bulk("x")});
  EXPECT_EQ(Cmd({"LLEN", "l"}, nine.get()), Int(1));
  EXPECT_EQ(Cmd({"LINDEX", "l", "-1"}), Bulk("b"));
  EXPECT_EQ(Cmd({"RPOP", "l"}, nine.get()), Bulk("x"));
  EXPECT_EQ(Cmd({"LPOP", "l"}), Bulk("a"));
  EXPECT_EQ(Cmd({"TYPE", "l"}), Reply::SimpleString("list"));
  EXPECT_EQ(Cmd({"TYPE", "l"}, nine.get()), Reply::SimpleString("none"));  // emptied, deleted
  EXPECT_EQ(Cmd({"RPUSH", "s", "v"}, nine.get()).str, kWrongType);
  EXPECT_EQ(Cmd({"SET", "only9", "v"}, nine.get()), Ok());
  EXPECT_EQ(Cmd({"EXISTS", "only9", "s"}), Int(1));
  EXPECT_EQ(Cmd({"DEL", "s", "only9"}, nine.get()), Int(2));
  EXPECT_EQ(Cmd({"GET", "s"}), Bulk("zero"));
}

TEST_F(RedisCompatTest, DbsizeKeysAndScanSeeTheSelectedDatabaseOnly) {
  EXPECT_EQ(Cmd({"MSET", "z1", "x", "z2", "x"}), Ok());
  EXPECT_EQ(Cmd({"SELECT", "9"}), Ok());
  EXPECT_EQ(Cmd({"DBSIZE"}), Int(0));
  EXPECT_TRUE(Cmd({"KEYS", "*"}).elements.empty());
  for (int i = 0; i < 25; ++i) Cmd({"SET", "k" + std::to_string(i), "x"});
  Cmd({"RPUSH", "list", "x"});
  EXPECT_EQ(Cmd({"DBSIZE"}), Int(26));
  EXPECT_EQ(Cmd({"KEYS", "k2*"}).elements.size(), 6u);  // k2, k20 .. k24
  std::set<std::string> seen;
  std::string cursor = "0";
  do {
    Reply page = Cmd({"SCAN", cursor, "COUNT", "7"});
    ASSERT_EQ(page.elements.size(), 2u) << page.ToString();
    cursor = page.elements[0].str;
    for (const Reply& key : page.elements[1].elements) seen.insert(key.str);
  } while (cursor != "0");
  EXPECT_EQ(seen.size(), 26u);
  EXPECT_EQ(seen.count("z1"), 0u);
  EXPECT_EQ(Cmd({"SCAN", "0", "COUNT", "100", "TYPE", "list"}).elements.at(1).elements,
            std::vector<Reply>{Bulk("list")});
  EXPECT_EQ(Cmd({"SELECT", "0"}), Ok());
  EXPECT_EQ(Cmd({"DBSIZE"}), Int(2));
  EXPECT_EQ(Cmd({"KEYS", "*"}).elements, (std::vector<Reply>{Bulk("z1"), Bulk("z2")}));
  EXPECT_EQ(Cmd({"SELECT", "3"}), Ok());
  EXPECT_EQ(Cmd({"DBSIZE"}), Int(0));
  Reply empty = Cmd({"SCAN", "0"});
  ASSERT_EQ(empty.elements.size(), 2u) << empty.ToString();
  EXPECT_EQ(empty.elements[0], Bulk("0"));
  EXPECT_TRUE(empty.elements[1].elements.empty());
}

TEST_F(RedisCompatTest, FlushdbEmptiesTheSelectedDatabaseAndFlushallEveryOne) {
  auto nine = Connect();
  EXPECT_EQ(Cmd({"SELECT", "9"}, nine.get()), Ok());
  Cmd({"SET", "k", "0"});
  Cmd({"SET", "k", "9"}, nine.get());
  Cmd({"RPUSH", "l", "a", "b"}, nine.get());
  EXPECT_EQ(Cmd({"FLUSHDB"}, nine.get()), Ok());
  EXPECT_EQ(Cmd({"DBSIZE"}, nine.get()), Int(0));
  EXPECT_EQ(Cmd({"GET", "k"}), Bulk("0"));
  Cmd({"SET", "k", "9 again"}, nine.get());
  EXPECT_EQ(Cmd({"FLUSHDB", "ASYNC"}), Ok());
  EXPECT_EQ(Cmd({"DBSIZE"}), Int(0));
  EXPECT_EQ(Cmd({"GET", "k"}, nine.get()), Bulk("9 again"));
  Cmd({"SET", "k", "0 again"});
  Cmd({"SELECT", "4"});
  Cmd({"SET", "k", "4"});
  EXPECT_EQ(Cmd({"FLUSHALL"}), Ok());
  EXPECT_EQ(KeyspaceInfo(Cmd({"INFO", "keyspace"}).str), "# Keyspace\r\n");
  EXPECT_TRUE(Cmd({"GET", "k"}, nine.get()).is_null());
  EXPECT_EQ(Cmd({"SELECT", "0"}), Ok());
  EXPECT_TRUE(Cmd({"GET", "k"}).is_null());
}

TEST_F(RedisCompatTest, BlockingPopIsWokenOnlyByAPushToItsDatabase) {
  auto waiter = Connect();
  EXPECT_EQ(Cmd({"SELECT", "9"}, waiter.get()), Ok());
  SendOnly(waiter.get(), {"BLPOP", "x", "0"});
  ASSERT_TRUE(WaitForBlocked(1));
  EXPECT_EQ(Cmd({"RPUSH", "x", "in 0"}), Int(1));  // same key, database 0
  EXPECT_EQ(Cmd({"SELECT", "3"}), Ok());
  EXPECT_EQ(Cmd({"RPUSH", "x", "in 3"}), Int(1));
  EXPECT_NE(Cmd({"INFO", "clients"}).str.find("blocked_clients:1\r\n"), std::string::npos);
  EXPECT_EQ(Cmd({"SELECT", "9"}), Ok());
  EXPECT_EQ(Cmd({"RPUSH", "x", "in 9"}), Int(1));
  auto woken = waiter->ReadReplies(1);
  ASSERT_TRUE(woken.ok()) << woken.status().message();
  EXPECT_EQ((*woken)[0].elements, (std::vector<Reply>{Bulk("x"), Bulk("in 9")}));
  EXPECT_EQ(Cmd({"LLEN", "x"}), Int(0));
  EXPECT_EQ(Cmd({"SELECT", "3"}), Ok());
  EXPECT_EQ(Cmd({"LRANGE", "x", "0", "-1"}).elements, std::vector<Reply>{Bulk("in 3")});
  EXPECT_EQ(Cmd({"SELECT", "0"}), Ok());
  EXPECT_EQ(Cmd({"LRANGE", "x", "0", "-1"}).elements, std::vector<Reply>{Bulk("in 0")});
  // BRPOP in 9 finds what is there at once, and nothing of the other databases.
  Cmd({"RPUSH", "y", "a", "b"}, waiter.get());
  EXPECT_EQ(Cmd({"BRPOP", "x", "y", "1"}, waiter.get()).elements,
            (std::vector<Reply>{Bulk("y"), Bulk("b")}));
}

TEST_F(RedisCompatTest, InfoKeyspaceListsEachDatabaseThatHasKeys) {
  EXPECT_EQ(KeyspaceInfo(Cmd({"INFO", "keyspace"}).str), "# Keyspace\r\n");
  Cmd({"SET", "a", "1"});
  Cmd({"SELECT", "9"});
  Cmd({"RPUSH", "l", "x"});
  Cmd({"SELECT", "3"});
  Cmd({"MSET", "b", "1", "c", "2"});
  EXPECT_EQ(KeyspaceInfo(Cmd({"INFO", "keyspace"}).str),
            "# Keyspace\r\n"
            "db0:keys=1,expires=0,avg_ttl=0\r\n"
            "db3:keys=2,expires=0,avg_ttl=0\r\n"
            "db9:keys=1,expires=0,avg_ttl=0\r\n");
  Cmd({"SELECT", "0"});
  Cmd({"DEL", "a"});
  EXPECT_EQ(KeyspaceInfo(Cmd({"INFO"}).str),
            "# Keyspace\r\n"
            "db3:keys=2,expires=0,avg_ttl=0\r\n"
            "db9:keys=1,expires=0,avg_ttl=0\r\n");
}

TEST_F(RedisCompatTest, ClientInfoAndListShowEachConnectionsDatabase) {
  auto other = Connect();
  EXPECT_EQ(Cmd({"SELECT", "9"}, other.get()), Ok());
  const std::string other_id = std::to_string(Cmd({"CLIENT", "ID"}, other.get()).integer);
  const std::string mine = std::to_string(Cmd({"CLIENT", "ID"}).integer);
  EXPECT_NE(Cmd({"CLIENT", "INFO"}, other.get()).str.find(" db=9 "), std::string::npos);
  EXPECT_NE(Cmd({"CLIENT", "INFO"}).str.find(" db=0 "), std::string::npos);
  const std::string list = Cmd({"CLIENT", "LIST"}).str;
  EXPECT_NE(ClientLine(list, other_id).find(" db=9 "), std::string::npos) << list;
  EXPECT_NE(ClientLine(list, mine).find(" db=0 "), std::string::npos) << list;
  // As Redis 7, HELLO does not report the database (its fields are these, whatever is selected).
  Reply hello = Cmd({"HELLO", "3"}, other.get());
  ASSERT_EQ(hello.type, ReplyType::kMap) << hello.ToString();
  std::vector<std::string> fields;
  for (const auto& entry : hello.pairs) fields.push_back(entry.first.str);
  EXPECT_EQ(fields, (std::vector<std::string>{"server", "version", "proto", "id", "mode", "role",
                                              "modules"}));
  EXPECT_EQ(Cmd({"GET", "k"}, other.get()).type, ReplyType::kNull);  // still in 9
  EXPECT_NE(Cmd({"CLIENT", "INFO"}, other.get()).str.find(" db=9 "), std::string::npos);
}

TEST_F(RedisCompatTest, ConfigGetDatabasesSaysSixteen) {
  EXPECT_EQ(Cmd({"CONFIG", "GET", "databases"}).elements,
            (std::vector<Reply>{Bulk("databases"), Bulk("16")}));
}

TEST_F(RedisCompatTest, APipelineAcrossDatabasesIsAnsweredInOrderAndKeptAfterARestart) {
  const std::string expected = "+OK\r\n+OK\r\n+OK\r\n:2\r\n+OK\r\n:1\r\n$4\r\nzero\r\n";
  {
    RawConnection raw(server_->port());
    EXPECT_EQ(raw.Exchange("SET k zero\r\nSELECT 9\r\nSET k nine\r\nRPUSH l a b\r\n"
                           "SELECT 0\r\nRPUSH l z\r\nGET k\r\n",
                           expected),
              expected);
  }
  StopServer();
  StartServer(ServerOptions{});
  EXPECT_EQ(Cmd({"GET", "k"}), Bulk("zero"));
  EXPECT_EQ(Cmd({"LRANGE", "l", "0", "-1"}).elements, std::vector<Reply>{Bulk("z")});
  EXPECT_EQ(Cmd({"SELECT", "9"}), Ok());
  EXPECT_EQ(Cmd({"GET", "k"}), Bulk("nine"));
  EXPECT_EQ(Cmd({"LRANGE", "l", "0", "-1"}).elements, (std::vector<Reply>{Bulk("a"), Bulk("b")}));
  EXPECT_EQ(Cmd({"DBSIZE"}), Int(2));
  EXPECT_EQ(KeyspaceInfo(Cmd({"INFO", "keyspace"}).str),
            "# Keyspace\r\n"
            "db0:keys=2,expires=0,avg_ttl=0\r\n"
            "db9:keys=2,expires=0,avg_ttl=0\r\n");
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

TEST_F(RedisCompatTest, ConfigSetErrorsUseRedisWording) {
  const std::string kFailed = "ERR CONFIG SET failed (possibly related to argument ";
  EXPECT_EQ(Err({"CONFIG", "SET", "foo", "bar"}),
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'");
  EXPECT_EQ(Err({"CONFIG", "SET", "databases", "2"}),
            kFailed + "'databases') - can't set immutable config");
  EXPECT_EQ(Err({"CONFIG", "SET", "maxclients", "abc"}),
            kFailed + "'maxclients') - argument couldn't be parsed into an integer");
  EXPECT_EQ(Err({"CONFIG", "SET", "maxclients", "0"}),
            kFailed + "'maxclients') - argument must be between 1 and 4294967295 inclusive");
  EXPECT_EQ(Err({"CONFIG", "SET", "maxclients", "99999999999"}),
            kFailed + "'maxclients') - argument must be between 1 and 4294967295 inclusive");
  EXPECT_EQ(Err({"CONFIG", "SET", "TIMEOUT", "-1"}),
            kFailed + "'timeout') - argument must be between 0 and 2147483647 inclusive");
  for (const char* bad : {" 5", "5.0", "+5", "05"}) {
    EXPECT_EQ(Err({"CONFIG", "SET", "timeout", bad}),
              kFailed + "'timeout') - argument couldn't be parsed into an integer")
        << bad;
  }
  EXPECT_EQ(Err({"CONFIG", "SET", "timeout"}),
            "ERR wrong number of arguments for 'config|set' command");
  EXPECT_EQ(Err({"CONFIG", "SET", "timeout", "1", "maxclients"}), "ERR syntax error");
  EXPECT_EQ(Err({"CONFIG", "SET", "timeout", "5", "timeout", "6"}),
            kFailed + "'timeout') - duplicate parameter");
  EXPECT_EQ(Err({"CONFIG", "SET", "timeout", "5", "foo", "1"}),
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'");
  EXPECT_EQ(Err({"CONFIG", "SET", "foo", "1", "databases", "2"}),
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'");
  EXPECT_EQ(Err({"CONFIG", "SET", "databases", "2", "foo", "1"}),
            kFailed + "'databases') - can't set immutable config");
  EXPECT_EQ(Err({"CONFIG", "SET", "proto-max-bulk-len", "1000"}),
            kFailed +
                "'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 "
                "inclusive");
  for (const char* bad : {"abc", "1.5mb", "-1", "1 mb", "1tb"}) {
    EXPECT_EQ(Err({"CONFIG", "SET", "proto-max-bulk-len", bad}),
              kFailed + "'proto-max-bulk-len') - argument must be a memory value")
        << bad;
  }
  EXPECT_EQ(Err({"CONFIG", "SET", "client-query-buffer-limit", "1"}),
            kFailed +
                "'client-query-buffer-limit') - argument must be between 1048576 and "
                "9223372036854775807 inclusive");
  EXPECT_EQ(Err({"CONFIG", "SET", "protected-mode", "maybe"}),
            kFailed + "'protected-mode') - argument must be 'yes' or 'no'");
  // Nothing of a failed CONFIG SET is applied, whichever pair failed.
  EXPECT_EQ(Err({"CONFIG", "SET", "timeout", "5", "maxclients", "x"}),
            kFailed + "'maxclients') - argument couldn't be parsed into an integer");
  Reply timeout = Cmd({"CONFIG", "GET", "timeout"});
  ASSERT_EQ(timeout.elements.size(), 2u) << timeout.ToString();
  EXPECT_EQ(timeout.elements[1], Bulk("0"));
}

TEST_F(RedisCompatTest, ConfigSetAcceptsMemoryUnitsAsRedisReadsThem) {
  const std::pair<const char*, const char*> cases[] = {
      {"2mb", "2097152"},      {"2MB", "2097152"},   {"2m", "2000000"},
      {"1048576b", "1048576"}, {"1g", "1000000000"}, {"1gb", "1073741824"},
      {"1048576", "1048576"},  {"2000k", "2000000"}, {"1024kb", "1048576"}};
  for (const auto& [value, bytes] : cases) {
    EXPECT_EQ(Cmd({"CONFIG", "SET", "proto-max-bulk-len", value}), Ok()) << value;
    Reply got = Cmd({"CONFIG", "GET", "proto-max-bulk-len"});
    ASSERT_EQ(got.elements.size(), 2u) << got.ToString();
    EXPECT_EQ(got.elements[1], Bulk(bytes)) << value;
  }
}

TEST_F(RedisCompatTest, ConfigGetAnswersExactNamesAsGivenAndMatchesPatternsCaseSensitively) {
  Reply exact = Cmd({"CONFIG", "GET", "TIMEOUT"});
  ASSERT_EQ(exact.elements.size(), 2u) << exact.ToString();
  EXPECT_EQ(exact.elements[0], Bulk("TIMEOUT"));
  EXPECT_EQ(exact.elements[1], Bulk("0"));
  EXPECT_TRUE(Cmd({"CONFIG", "GET", "TIME*"}).elements.empty());
  Reply pattern = Cmd({"CONFIG", "GET", "time*", "timeout"});
  ASSERT_EQ(pattern.elements.size(), 2u) << pattern.ToString();  // each parameter once
  EXPECT_EQ(pattern.elements[0], Bulk("timeout"));
  EXPECT_TRUE(Cmd({"CONFIG", "GET", "nosuch"}).elements.empty());
}

TEST_F(RedisCompatTest, InfoCommandstatsCountsCallsRejectionsAndFailuresPerCommand) {
  EXPECT_EQ(Cmd({"CONFIG", "RESETSTAT"}), Ok());
  Cmd({"SET", "a", "1"});
  Cmd({"GET", "a"});
  Err({"GET"});                 // wrong arity: rejected, not called
  Err({"SET", "a", "1", "x"});  // syntax error: called, failed
  Cmd({"CONFIG", "GET", "x"});
  Err({"CLIENT", "FOO"});  // unknown subcommand: counted nowhere
  const std::string stats = Cmd({"INFO", "commandstats"}).str;
  EXPECT_EQ(stats.rfind("# Commandstats\r\n", 0), 0u) << stats;
  EXPECT_EQ(CommandStatsOf(stats, "get"), "calls=1,rejected_calls=1,failed_calls=0") << stats;
  EXPECT_EQ(CommandStatsOf(stats, "set"), "calls=2,rejected_calls=0,failed_calls=1") << stats;
  EXPECT_EQ(CommandStatsOf(stats, "config|get"), "calls=1,rejected_calls=0,failed_calls=0");
  EXPECT_EQ(CommandStatsOf(stats, "config|resetstat"), "calls=1,rejected_calls=0,failed_calls=0");
  EXPECT_EQ(stats.find("cmdstat_client"), std::string::npos) << stats;
  EXPECT_EQ(stats.find("cmdstat_info"), std::string::npos) << stats;  // counted once it ran
  // As Redis: in INFO all and everything, not in plain INFO or INFO default.
  EXPECT_EQ(Cmd({"INFO"}).str.find("# Commandstats"), std::string::npos);
  EXPECT_EQ(Cmd({"INFO", "default"}).str.find("# Commandstats"), std::string::npos);
  EXPECT_EQ(CommandStatsOf(Cmd({"INFO", "all"}).str, "info"),
            "calls=3,rejected_calls=0,failed_calls=0");
  EXPECT_NE(Cmd({"INFO", "everything"}).str.find("# Commandstats"), std::string::npos);
  // RESETSTAT zeroes them all; only the RESETSTAT itself is counted (after it ran).
  EXPECT_EQ(Cmd({"CONFIG", "RESETSTAT"}), Ok());
  const std::string reset = Cmd({"INFO", "commandstats"}).str;
  EXPECT_EQ(CommandStatsOf(reset, "config|resetstat"), "calls=1,rejected_calls=0,failed_calls=0");
  EXPECT_EQ(std::count(reset.begin(), reset.end(), '\n'), 2) << reset;  // header and that line
}

TEST_F(RedisCompatTest, ClientListShowsEachConnectionsLastCommand) {
  auto other = Connect();
  EXPECT_TRUE(Cmd({"GET", "k"}, other.get()).is_null());
  const std::string other_id = std::to_string(Cmd({"CLIENT", "ID"}, other.get()).integer);
  Cmd({"GET", "k"}, other.get());
  const std::string mine = std::to_string(Cmd({"CLIENT", "ID"}).integer);
  const std::string list = Cmd({"CLIENT", "LIST"}).str;
  EXPECT_NE(ClientLine(list, other_id).find(" cmd=get "), std::string::npos) << list;
  EXPECT_NE(ClientLine(list, mine).find(" cmd=client|list "), std::string::npos) << list;
  EXPECT_NE(Cmd({"CLIENT", "INFO"}).str.find(" cmd=client|info "), std::string::npos);
  Err({"CONFIG", "GET"});  // refused for its arity, but it was the last command
  EXPECT_NE(Cmd({"CLIENT", "INFO"}, other.get()).str.find(" cmd=client|info "), std::string::npos);
  const std::string after = Cmd({"CLIENT", "LIST"}, other.get()).str;
  EXPECT_NE(after.find("id=" + mine + " "), std::string::npos);
  EXPECT_NE(after.find(" cmd=config|get "), std::string::npos) << after;
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
