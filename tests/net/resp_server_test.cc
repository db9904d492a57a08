// The RESP server in-process on a free loopback port, with a real store in a temp dir, driven
// by the project's client and by raw sockets for malformed input.
#include "net/resp_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string_view>
#include <thread>

#include "tests/net/server_fixture.h"

namespace herald::net {
namespace {

using namespace std::chrono_literals;
using client::Client;
using resp::Reply;
using resp::ReplyType;

class RespServerTest : public ServerFixture {};

// ---- Connection and server commands ------------------------------------------------------

TEST_F(RespServerTest, PingAndEcho) {
  EXPECT_EQ(Cmd({"PING"}), Reply::SimpleString("PONG"));
  EXPECT_EQ(Cmd({"ping", "hi"}), Bulk("hi"));
  EXPECT_EQ(Cmd({"ECHO", std::string("a\r\nb\0c", 6)}), Bulk(std::string("a\r\nb\0c", 6)));
  EXPECT_EQ(Cmd({"PING", "a", "b"}).str, "ERR wrong number of arguments for 'ping' command");
}

TEST_F(RespServerTest, UnknownCommandAndArityErrorsUseRedisWording) {
  EXPECT_EQ(Cmd({"FOO", "bar", "baz"}).str,
            "ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' ");
  EXPECT_EQ(Cmd({"GET"}).str, "ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(Cmd({"ADDJOB", "q"}).str, "ERR wrong number of arguments for 'addjob' command");
  EXPECT_EQ(Cmd({"SELECT", "16"}).str, "ERR DB index is out of range");
  EXPECT_EQ(Cmd({"SELECT", "0"}), Reply::SimpleString("OK"));
}

TEST_F(RespServerTest, HelloThreeSwitchesToMapsAndHelloTwoBack) {
  Reply hello = Cmd({"HELLO", "3"});
  ASSERT_EQ(hello.type, ReplyType::kMap) << hello.ToString();
  EXPECT_EQ(*hello.Find("proto"), Int(3));
  EXPECT_EQ(*hello.Find("server"), Bulk("redis"));
  std::string id = Cmd({"ADDJOB", "q", "x"}).str;
  EXPECT_EQ(Cmd({"SHOW", id}).type, ReplyType::kMap);
  EXPECT_EQ(Cmd({"GET", "missing"}).type, ReplyType::kNull);
  EXPECT_EQ(Cmd({"HELLO", "2"}).type, ReplyType::kArray);
  EXPECT_EQ(Cmd({"SHOW", id}).type, ReplyType::kArray);
  EXPECT_EQ(Cmd({"HELLO", "4"}).str, "NOPROTO unsupported protocol version");
}

TEST_F(RespServerTest, ClientNameIdAndList) {
  EXPECT_EQ(Cmd({"CLIENT", "GETNAME"}).type, ReplyType::kNull);
  EXPECT_EQ(Cmd({"CLIENT", "SETNAME", "worker-1"}), Reply::SimpleString("OK"));
  EXPECT_EQ(Cmd({"CLIENT", "GETNAME"}), Bulk("worker-1"));
  EXPECT_EQ(Cmd({"CLIENT", "ID"}).type, ReplyType::kInteger);
  EXPECT_NE(Cmd({"CLIENT", "LIST"}).str.find("name=worker-1"), std::string::npos);
  EXPECT_EQ(Cmd({"CLIENT", "SETNAME", "has space"}).type, ReplyType::kError);
  EXPECT_EQ(Cmd({"CLIENT", "NOPE"}).type, ReplyType::kError);
}

TEST_F(RespServerTest, CommandTableAnswersCountInfoAndDocs) {
  Reply count = Cmd({"COMMAND", "COUNT"});
  ASSERT_EQ(count.type, ReplyType::kInteger);
  EXPECT_EQ(static_cast<size_t>(count.integer), table_->rows().size());
  Reply info = Cmd({"COMMAND", "INFO", "get", "nosuch"});
  ASSERT_EQ(info.elements.size(), 2u);
  EXPECT_EQ(info.elements[0].elements[0], Bulk("get"));
  EXPECT_EQ(info.elements[0].elements[1], Int(2));
  EXPECT_TRUE(info.elements[1].is_null());
  Reply docs = Cmd({"COMMAND", "DOCS", "addjob"});
  ASSERT_FALSE(docs.elements.empty() && docs.pairs.empty()) << docs.ToString();
  Reply all = Cmd({"COMMAND"});
  EXPECT_EQ(all.elements.size(), table_->rows().size());
}

TEST_F(RespServerTest, CommandInfoListsTheSubcommandsTheDispatcherChecks) {
  Reply info = Cmd({"COMMAND", "INFO", "config"});
  ASSERT_EQ(info.elements.size(), 1u) << info.ToString();
  const Reply& subcommands = info.elements[0].elements.at(9);
  std::vector<std::string> names;
  for (const Reply& sub : subcommands.elements) names.push_back(sub.elements.at(0).str);
  EXPECT_EQ(names, (std::vector<std::string>{"config|get", "config|help", "config|resetstat",
                                             "config|set"}));
  EXPECT_EQ(subcommands.elements[0].elements.at(1), Int(-3));
  EXPECT_EQ(Cmd({"CONFIG", "HELP"}).elements.at(0).str.rfind("CONFIG <subcommand>", 0), 0u);
  EXPECT_EQ(Cmd({"config", "Get", "timeout"}).elements.size(), 2u);  // any case
}

TEST_F(RespServerTest, CommandNamesAreUniqueAndLowerCase) {
  for (size_t i = 0; i < table_->rows().size(); ++i) {
    const std::string& name = table_->rows()[i].name;
    for (char c : name) EXPECT_FALSE(std::isupper(static_cast<unsigned char>(c))) << name;
    if (i > 0) {
      EXPECT_LT(table_->rows()[i - 1].name, name);
    }
  }
}

TEST_F(RespServerTest, InfoStatsCountJobEventsForSubscribers) {
  std::string stats = Cmd({"INFO", "stats"}).str;
  EXPECT_NE(stats.find("job_events_published:0\r\n"), std::string::npos) << stats;
  // Shared with the subscriber, which the broker keeps until the fixture tears it down.
  auto seen = std::make_shared<std::atomic<int>>(0);
  ASSERT_TRUE(broker_->events().Subscribe([seen](const engine::JobEvent&) { ++*seen; }).ok());
  ASSERT_FALSE(Cmd({"ADDJOB", "emails", "x"}).str.empty());
  // Delivered by the dispatcher thread, a moment later.
  for (int i = 0; i < 500 && seen->load() == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(seen->load(), 1);
  stats = Cmd({"INFO", "stats"}).str;
  EXPECT_NE(stats.find("job_events_published:1\r\n"), std::string::npos) << stats;
  EXPECT_NE(stats.find("job_events_delivered:1\r\n"), std::string::npos) << stats;
  EXPECT_NE(stats.find("job_events_dropped:0\r\n"), std::string::npos) << stats;
}

TEST_F(RespServerTest, InfoDbsizeTimeAndConfig) {
  std::string info = Cmd({"INFO"}).str;
  for (const char* section : {"# Server", "# Clients", "# Memory", "# Persistence", "# Stats",
                              "# Queues", "# Keyspace"}) {
    EXPECT_NE(info.find(section), std::string::npos) << section;
  }
  std::string queues = Cmd({"INFO", "queues"}).str;
  EXPECT_EQ(queues.find("# Server"), std::string::npos);
  EXPECT_NE(queues.find("queue_emails:"), std::string::npos);
  EXPECT_EQ(Cmd({"DBSIZE"}), Int(0));
  Cmd({"SET", "a", "1"});
  EXPECT_EQ(Cmd({"DBSIZE"}), Int(1));
  EXPECT_EQ(Cmd({"TIME"}).elements.size(), 2u);
  Reply config = Cmd({"CONFIG", "GET", "maxmemory-policy"});
  ASSERT_EQ(config.elements.size(), 2u) << config.ToString();
  EXPECT_EQ(config.elements[1], Bulk("noeviction"));
  EXPECT_EQ(Cmd({"CONFIG", "GET", "app*"}).elements.size(), 4u);
}

TEST_F(RespServerTest, QuitClosesAfterReplying) {
  auto c = Connect();
  EXPECT_EQ(Cmd({"QUIT"}, c.get()), Reply::SimpleString("OK"));
  auto after = c->Command({"PING"});
  EXPECT_FALSE(after.ok());
}

// ---- Strings and lists -------------------------------------------------------------------

TEST_F(RespServerTest, StringsBehaveLikeRedis) {
  EXPECT_EQ(Cmd({"SET", "k", "v"}), Reply::SimpleString("OK"));
  EXPECT_EQ(Cmd({"GET", "k"}), Bulk("v"));
  EXPECT_EQ(Cmd({"SET", "k", "w", "NX"}).type, ReplyType::kNull);
  EXPECT_EQ(Cmd({"SET", "k2", "w", "XX"}).type, ReplyType::kNull);
  EXPECT_EQ(Cmd({"SET", "k", "w", "GET"}), Bulk("v"));
  EXPECT_EQ(Cmd({"SET", "k", "w", "EX", "10"}).type, ReplyType::kError);
  EXPECT_EQ(Cmd({"SET", "k", "w", "BOGUS"}).str, "ERR syntax error");
  EXPECT_EQ(Cmd({"INCR", "n"}), Int(1));
  EXPECT_EQ(Cmd({"INCRBY", "n", "41"}), Int(42));
  EXPECT_EQ(Cmd({"DECR", "n"}), Int(41));
  EXPECT_EQ(Cmd({"DECRBY", "n", "1"}), Int(40));
  EXPECT_EQ(Cmd({"INCR", "k"}).str, "ERR value is not an integer or out of range");
  EXPECT_EQ(Cmd({"SET", "max", "9223372036854775807"}), Reply::SimpleString("OK"));
  EXPECT_EQ(Cmd({"INCR", "max"}).str, "ERR increment or decrement would overflow");
  EXPECT_EQ(Cmd({"MSET", "a", "1", "b", "2"}), Reply::SimpleString("OK"));
  EXPECT_EQ(Cmd({"MSET", "a", "1", "b"}).str, "ERR wrong number of arguments for 'mset' command");
  Reply mget = Cmd({"MGET", "a", "nope", "b"});
  ASSERT_EQ(mget.elements.size(), 3u);
  EXPECT_EQ(mget.elements[0], Bulk("1"));
  EXPECT_TRUE(mget.elements[1].is_null());
  EXPECT_EQ(Cmd({"EXISTS", "a", "a", "nope"}), Int(2));
  EXPECT_EQ(Cmd({"TYPE", "a"}), Reply::SimpleString("string"));
  EXPECT_EQ(Cmd({"TYPE", "nope"}), Reply::SimpleString("none"));
  EXPECT_EQ(Cmd({"DEL", "a", "b", "nope"}), Int(2));
}

TEST_F(RespServerTest, ListsBehaveLikeRedis) {
  EXPECT_EQ(Cmd({"RPUSH", "l", "a", "b", "c"}), Int(3));
  EXPECT_EQ(Cmd({"LPUSH", "l", "z"}), Int(4));
  EXPECT_EQ(Cmd({"LLEN", "l"}), Int(4));
  Reply range = Cmd({"LRANGE", "l", "0", "-1"});
  ASSERT_EQ(range.elements.size(), 4u);
  EXPECT_EQ(range.elements[0], Bulk("z"));
  EXPECT_EQ(range.elements[3], Bulk("c"));
  EXPECT_EQ(Cmd({"LRANGE", "l", "-2", "100"}).elements.size(), 2u);
  EXPECT_EQ(Cmd({"LINDEX", "l", "-1"}), Bulk("c"));
  EXPECT_TRUE(Cmd({"LINDEX", "l", "10"}).is_null());
  EXPECT_EQ(Cmd({"LPOP", "l"}), Bulk("z"));
  Reply popped = Cmd({"RPOP", "l", "2"});
  ASSERT_EQ(popped.elements.size(), 2u);
  EXPECT_EQ(popped.elements[0], Bulk("c"));
  EXPECT_EQ(popped.elements[1], Bulk("b"));
  EXPECT_EQ(Cmd({"LPOP", "l", "-1"}).str, "ERR value is out of range, must be positive");
  EXPECT_EQ(Cmd({"LPOP", "l"}), Bulk("a"));
  EXPECT_TRUE(Cmd({"LPOP", "l"}).is_null());
  EXPECT_EQ(Cmd({"EXISTS", "l"}), Int(0));  // an emptied list is gone
  Cmd({"SET", "s", "x"});
  EXPECT_EQ(Cmd({"LPUSH", "s", "x"}).str,
            "WRONGTYPE Operation against a key holding the wrong kind of value");
  EXPECT_EQ(Cmd({"GET", "l2"}).type, ReplyType::kNull);
  Cmd({"RPUSH", "l2", "x"});
  EXPECT_EQ(Cmd({"GET", "l2"}).str,
            "WRONGTYPE Operation against a key holding the wrong kind of value");
  EXPECT_EQ(Cmd({"TYPE", "l2"}), Reply::SimpleString("list"));
  EXPECT_EQ(Cmd({"LRANGE", "l2", "a", "1"}).str, "ERR value is not an integer or out of range");
}

TEST_F(RespServerTest, KeysAndScanFindEveryKey) {
  for (int i = 0; i < 25; ++i) Cmd({"SET", "user:" + std::to_string(i), "x"});
  Cmd({"RPUSH", "list:1", "x"});
  EXPECT_EQ(Cmd({"KEYS", "user:*"}).elements.size(), 25u);
  EXPECT_EQ(Cmd({"KEYS", "user:1?"}).elements.size(), 10u);
  std::set<std::string> seen;
  std::string cursor = "0";
  int rounds = 0;
  do {
    Reply page = Cmd({"SCAN", cursor, "MATCH", "user:*", "COUNT", "7"});
    ASSERT_EQ(page.elements.size(), 2u) << page.ToString();
    cursor = page.elements[0].str;
    for (const Reply& key : page.elements[1].elements) seen.insert(key.str);
    ASSERT_LT(++rounds, 100);
  } while (cursor != "0");
  EXPECT_EQ(seen.size(), 25u);
}

TEST_F(RespServerTest, FlushallRemovesEveryKeyForGoodButNoJob) {
  Cmd({"SET", "s", "x"});
  std::vector<std::string> push = {"RPUSH", "long"};
  for (int i = 0; i < 500; ++i) push.push_back(std::to_string(i));
  Cmd(push);
  std::string job = Cmd({"ADDJOB", "emails", "payload"}).str;
  EXPECT_EQ(Cmd({"DBSIZE"}), Int(2));
  EXPECT_EQ(Cmd({"FLUSHALL"}), Ok());
  EXPECT_EQ(Cmd({"DBSIZE"}), Int(0));
  EXPECT_TRUE(Cmd({"KEYS", "*"}).elements.empty());
  Reply scan = Cmd({"SCAN", "0"});
  ASSERT_EQ(scan.elements.size(), 2u) << scan.ToString();
  EXPECT_TRUE(scan.elements[1].elements.empty());
  EXPECT_EQ(Cmd({"LLEN", "long"}), Int(0));
  EXPECT_NE(Cmd({"INFO", "keyspace"}).str.find("# Keyspace"), std::string::npos);
  EXPECT_EQ(Cmd({"INFO", "keyspace"}).str.find("db0:"), std::string::npos);
  // Jobs and queues are not keys.
  EXPECT_EQ(Cmd({"QLEN", "emails"}), Int(1));
  EXPECT_EQ(Cmd({"SHOW", job}).type, ReplyType::kArray);
  // New writes work, and only they are there after a restart.
  EXPECT_EQ(Cmd({"RPUSH", "long", "new"}), Int(1));
  EXPECT_EQ(Cmd({"FLUSHDB", "ASYNC"}), Ok());
  EXPECT_EQ(Cmd({"SET", "after", "1"}), Ok());
  StopServer();
  StartServer(ServerOptions{});
  EXPECT_EQ(Cmd({"DBSIZE"}), Int(1));
  EXPECT_EQ(Cmd({"KEYS", "*"}).elements, std::vector<Reply>{Bulk("after")});
  EXPECT_EQ(Cmd({"QLEN", "emails"}), Int(1));
}

TEST_F(RespServerTest, FlushallInAPipelineTakesTheWritesBeforeItAndKeepsThoseAfter) {
  const std::string expected = "+OK\r\n:1\r\n+OK\r\n:1\r\n+OK\r\n";
  RawConnection raw(server_->port());
  EXPECT_EQ(raw.Exchange("SET a 1\r\nRPUSH l x\r\nFLUSHALL\r\nRPUSH l y\r\nSET b 2\r\n", expected),
            expected);
  EXPECT_EQ(Cmd({"KEYS", "*"}).elements.size(), 2u);
  Reply list = Cmd({"LRANGE", "l", "0", "-1"});
  EXPECT_EQ(list.elements, std::vector<Reply>{Bulk("y")});
  EXPECT_TRUE(Cmd({"GET", "a"}).is_null());
}

TEST_F(RespServerTest, FlushallLeavesBlockedClientsBlocked) {
  auto waiter = Connect();
  SendOnly(waiter.get(), {"BLPOP", "l", "0"});
  ASSERT_TRUE(WaitForBlocked(1));
  Cmd({"SET", "other", "x"});
  EXPECT_EQ(Cmd({"FLUSHALL"}), Ok());
  EXPECT_EQ(Cmd({"FLUSHDB"}), Ok());
  EXPECT_NE(Cmd({"INFO", "clients"}).str.find("blocked_clients:1\r\n"), std::string::npos);
  EXPECT_EQ(Cmd({"RPUSH", "l", "v"}), Int(1));
  auto woken = waiter->ReadReplies(1);
  ASSERT_TRUE(woken.ok()) << woken.status().message();
  ASSERT_EQ((*woken)[0].elements.size(), 2u) << (*woken)[0].ToString();
  EXPECT_EQ((*woken)[0].elements[1], Bulk("v"));
  EXPECT_EQ(Cmd({"LLEN", "l"}), Int(0));
}

TEST_F(RespServerTest, BlpopIsWokenByAPushFromAnotherConnection) {
  auto pusher = Connect();
  auto waiter = Connect();
  SendOnly(waiter.get(), {"BLPOP", "jobs", "other", "5"});
  ASSERT_TRUE(WaitForBlocked(1));
  EXPECT_EQ(Cmd({"RPUSH", "jobs", "j1"}, pusher.get()), Int(1));
  auto replies = waiter->ReadReplies(1);
  ASSERT_TRUE(replies.ok()) << replies.status().message();
  ASSERT_EQ((*replies)[0].elements.size(), 2u) << (*replies)[0].ToString();
  EXPECT_EQ((*replies)[0].elements[0], Bulk("jobs"));
  EXPECT_EQ((*replies)[0].elements[1], Bulk("j1"));
  EXPECT_EQ(Cmd({"LLEN", "jobs"}), Int(0));
}

TEST_F(RespServerTest, BlpopWaitersAreServedInArrivalOrder) {
  auto first = Connect();
  auto second = Connect();
  SendOnly(first.get(), {"BLPOP", "q", "0"});
  ASSERT_TRUE(WaitForBlocked(1));
  SendOnly(second.get(), {"BRPOP", "q", "0"});
  ASSERT_TRUE(WaitForBlocked(2));
  Cmd({"RPUSH", "q", "a", "b"});
  auto a = first->ReadReplies(1);
  auto b = second->ReadReplies(1);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)[0].elements.at(1), Bulk("a"));
  EXPECT_EQ((*b)[0].elements.at(1), Bulk("b"));
}

TEST_F(RespServerTest, BlpopTimesOutWithNilAndRejectsBadTimeouts) {
  auto start = std::chrono::steady_clock::now();
  Reply reply = Cmd({"BLPOP", "empty", "0.2"});
  EXPECT_TRUE(reply.is_null()) << reply.ToString();
  EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms);
  EXPECT_EQ(Cmd({"BLPOP", "empty", "-1"}).str, "ERR timeout is negative");
  EXPECT_EQ(Cmd({"BLPOP", "empty", "soon"}).str, "ERR timeout is not a float or out of range");
}

TEST_F(RespServerTest, DisconnectedBlpopDoesNotSwallowAnElement) {
  {
    auto waiter = Connect();
    SendOnly(waiter.get(), {"BLPOP", "gone", "0"});
    ASSERT_TRUE(WaitForBlocked(1));
  }  // disconnects
  ASSERT_TRUE(WaitForBlocked(0));
  EXPECT_EQ(Cmd({"RPUSH", "gone", "kept"}), Int(1));
  EXPECT_EQ(Cmd({"LLEN", "gone"}), Int(1));
}

TEST_F(RespServerTest, PipelinedTenThousandCommandsAnswerInOrder) {
  for (int i = 0; i < 10000; ++i) client_->Append({"INCR", "counter"});
  auto replies = client_->ReadReplies(10000);
  ASSERT_TRUE(replies.ok()) << replies.status().message();
  for (int i = 0; i < 10000; ++i) ASSERT_EQ((*replies)[i], Int(i + 1));
}

TEST_F(RespServerTest, ManyClientsWritingAtOnceEachGetTheirOwnRepliesInOrder) {
  // Their writes are committed together; each client's replies still answer its own
  // requests, in order, and none is lost.
  constexpr int kClients = 16;
  constexpr int kPushes = 150;
  std::vector<std::unique_ptr<Client>> clients;
  for (int c = 0; c < kClients; ++c) clients.push_back(Connect());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      Client* client = clients[c].get();
      const std::string own = "own" + std::to_string(c);
      for (int i = 0; i < kPushes; ++i) {
        auto shared = client->Command({"RPUSH", "shared", std::to_string(c)});
        auto mine = client->Command({"INCR", own});
        if (!shared.ok() || shared->type != ReplyType::kInteger || !mine.ok() ||
            *mine != Int(i + 1)) {
          wrong.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(Cmd({"LLEN", "shared"}), Int(kClients * kPushes));
  for (int c = 0; c < kClients; ++c) {
    EXPECT_EQ(Cmd({"GET", "own" + std::to_string(c)}), Bulk(std::to_string(kPushes)));
  }
}

// ---- Jobs --------------------------------------------------------------------------------

TEST_F(RespServerTest, AddTakeAckRoundTrip) {
  std::string id = Cmd({"ADDJOB", "emails", "payload", "PRIORITY", "1"}).str;
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Cmd({"QLEN", "emails"}), Int(1));
  Reply jobs = Cmd({"GETJOB", "NOHANG", "LEASE", "5000", "FROM", "emails"});
  ASSERT_EQ(jobs.elements.size(), 1u) << jobs.ToString();
  const Reply& job = jobs.elements[0];
  EXPECT_EQ(job.elements.at(0), Bulk("emails"));
  EXPECT_EQ(job.elements.at(1), Bulk(id));
  EXPECT_EQ(job.elements.at(2), Bulk("payload"));
  EXPECT_EQ(job.elements.at(3), Int(1));
  EXPECT_EQ(Cmd({"WORKING", id}), Int(5000));
  EXPECT_EQ(Cmd({"ACKJOB", id, "unknown"}), Int(1));
  EXPECT_EQ(Cmd({"ACKJOB", id}), Int(0));
  Reply shown = Cmd({"SHOW", id});
  ASSERT_EQ(shown.type, ReplyType::kArray);
  EXPECT_NE(shown.ToString().find("completed"), std::string::npos);
  EXPECT_TRUE(Cmd({"SHOW", "nope"}).is_null());
}

TEST_F(RespServerTest, AckJobWithResultStoresTheReturnValueShownBySHOW) {
  std::string id = Cmd({"ADDJOB", "tickets", "payload"}).str;
  ASSERT_EQ(Cmd({"GETJOB", "NOHANG", "FROM", "tickets"}).elements.size(), 1u);
  EXPECT_EQ(Cmd({"ACKJOB", id, "result", "TKT-7"}), Int(1));
  EXPECT_EQ(Cmd({"ACKJOB", id, "RESULT", "again"}), Int(0));  // no longer active
  Reply shown = Cmd({"SHOW", id});
  ASSERT_EQ(shown.elements.size(), 34u) << shown.ToString();
  EXPECT_EQ(shown.elements[28], Bulk("last-error"));
  EXPECT_EQ(shown.elements[30], Bulk("result"));
  EXPECT_EQ(shown.elements[31], Bulk("TKT-7"));
  EXPECT_EQ(broker_->Show(id)->return_value, "TKT-7");
  EXPECT_EQ(broker_->Show(id)->state, storage::JobState::kCompleted);
}

TEST_F(RespServerTest, AckJobWithoutResultKeepsAckingSeveralIds) {
  std::string a = Cmd({"ADDJOB", "q", "a"}).str;
  std::string b = Cmd({"ADDJOB", "q", "b"}).str;
  std::string c = Cmd({"ADDJOB", "q", "c", "JOBID", "result"}).str;
  ASSERT_EQ(c, "result");
  ASSERT_EQ(Cmd({"GETJOB", "NOHANG", "COUNT", "3", "FROM", "q"}).elements.size(), 3u);
  // Four ids, one of them named "result": only "id RESULT value" is the result form.
  EXPECT_EQ(Cmd({"ACKJOB", a, "result", b, "unknown"}), Int(3));
  EXPECT_EQ(broker_->Show(a)->return_value, "");
  EXPECT_EQ(broker_->Show(b)->state, storage::JobState::kCompleted);
  EXPECT_EQ(broker_->Show("result")->state, storage::JobState::kCompleted);
  EXPECT_EQ(Cmd({"ACKJOB"}).str, "ERR wrong number of arguments for 'ackjob' command");
}

TEST_F(RespServerTest, ClientAckJobSendsTheResult) {
  std::string with = Cmd({"ADDJOB", "q", "with"}).str;
  std::string without = Cmd({"ADDJOB", "q", "without"}).str;
  ASSERT_EQ(Cmd({"GETJOB", "NOHANG", "COUNT", "2", "FROM", "q"}).elements.size(), 2u);
  auto acked = client_->AckJob(with, "sent: 250 OK");
  ASSERT_TRUE(acked.ok()) << acked.status().message();
  EXPECT_EQ(*acked, Int(1));
  acked = client_->AckJob(without);
  ASSERT_TRUE(acked.ok()) << acked.status().message();
  EXPECT_EQ(*acked, Int(1));
  EXPECT_EQ(broker_->Show(with)->return_value, "sent: 250 OK");
  EXPECT_EQ(broker_->Show(without)->return_value, "");
  EXPECT_EQ(broker_->Show(without)->state, storage::JobState::kCompleted);
}

TEST_F(RespServerTest, AddJobOptionsAndErrors) {
  EXPECT_EQ(Cmd({"ADDJOB", "q", "x", "JOBID", "order-7"}), Bulk("order-7"));
  EXPECT_EQ(Cmd({"ADDJOB", "q", "x", "JOBID", "order-7"}), Bulk("order-7"));  // deduplicated
  EXPECT_EQ(Cmd({"QLEN", "q"}), Int(1));
  std::string delayed =
      Cmd({"ADDJOB", "q", "x", "DELAY", "60000", "ATTEMPTS", "4", "BACKOFF", "fixed", "500"}).str;
  EXPECT_NE(Cmd({"SHOW", delayed}).ToString().find("delayed"), std::string::npos);
  // Redis's wording, then the option it is about and its range.
  EXPECT_EQ(Cmd({"ADDJOB", "q", "x", "DELAY", "soon"}).str,
            "ERR value is not an integer or out of range: DELAY must be an integer from 0 to "
            "9223372036854775807");
  EXPECT_EQ(Cmd({"ADDJOB", "q", "x", "ATTEMPTS", "0"}).str,
            "ERR value is not an integer or out of range: ATTEMPTS must be an integer from 1 to "
            "1000000");
  EXPECT_EQ(Cmd({"ADDJOB", "q", "x", "BACKOFF", "fixed", "1.5"}).str,
            "ERR value is not an integer or out of range: BACKOFF delay must be an integer from 0 "
            "to 9223372036854775807");
  EXPECT_EQ(Cmd({"GETJOB", "COUNT", "0", "FROM", "q"}).str,
            "ERR value is not an integer or out of range: COUNT must be an integer from 1 to "
            "100000");
  EXPECT_EQ(Cmd({"QCLEAN", "q", "waiting", "0", "LIMIT", "x"}).str,
            "ERR value is not an integer or out of range: LIMIT must be an integer from 1 to "
            "9223372036854775807");
  EXPECT_EQ(Cmd({"ADDJOB", "q", "x", "BACKOFF", "linear", "5"}).str,
            "ERR BACKOFF type must be fixed or exponential");
  EXPECT_EQ(Cmd({"ADDJOB", "q", "x", "COLOR", "red"}).str, "ERR syntax error");
  EXPECT_EQ(Cmd({"ADDJOB", "bad queue", "x"}).type, ReplyType::kError);
  EXPECT_EQ(Cmd({"ADDJOB", "q", "x", "JOBID", "12345"}).type, ReplyType::kError);
}

TEST_F(RespServerTest, GetJobBlocksUntilAJobArrives) {
  auto worker = Connect();
  SendOnly(worker.get(), {"GETJOB", "TIMEOUT", "5000", "FROM", "a", "b"});
  ASSERT_TRUE(WaitForBlocked(1));
  std::string id = Cmd({"ADDJOB", "b", "wake"}).str;
  auto replies = worker->ReadReplies(1);
  ASSERT_TRUE(replies.ok()) << replies.status().message();
  ASSERT_EQ((*replies)[0].elements.size(), 1u) << (*replies)[0].ToString();
  EXPECT_EQ((*replies)[0].elements[0].elements.at(1), Bulk(id));
}

TEST_F(RespServerTest, GetJobTimesOutWithNilAndNohangAnswersAtOnce) {
  EXPECT_TRUE(Cmd({"GETJOB", "NOHANG", "FROM", "idle"}).is_null());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(Cmd({"GETJOB", "TIMEOUT", "200", "FROM", "idle"}).is_null());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms);
  EXPECT_EQ(Cmd({"GETJOB", "FROM"}).type, ReplyType::kError);
  EXPECT_EQ(Cmd({"GETJOB", "NOHANG", "queue"}).type, ReplyType::kError);
  EXPECT_EQ(Cmd({"GETJOB", "NOHANG", "LEASE", "10", "FROM", "idle"}).type, ReplyType::kError);
}

TEST_F(RespServerTest, NackPermanentFailsTheJobWhateverAttemptsAreLeft) {
  std::string a = Cmd({"ADDJOB", "q", "a", "ATTEMPTS", "5"}).str;
  std::string b = Cmd({"ADDJOB", "q", "b", "ATTEMPTS", "5"}).str;
  std::string c = Cmd({"ADDJOB", "q", "c", "ATTEMPTS", "5", "BACKOFF", "fixed", "60000"}).str;
  ASSERT_EQ(Cmd({"GETJOB", "NOHANG", "COUNT", "3", "FROM", "q"}).elements.size(), 3u);
  EXPECT_EQ(Cmd({"NACK", a, "550 5.1.1 no such user", "PERMANENT"}), Int(1));
  EXPECT_EQ(broker_->Show(a)->state, storage::JobState::kFailed);
  EXPECT_EQ(broker_->Show(a)->attempts_made, 1u);
  EXPECT_EQ(broker_->Show(a)->last_error, "550 5.1.1 no such user");
  EXPECT_EQ(Cmd({"NACK", b, "permanent"}), Int(1));  // the flag alone
  EXPECT_EQ(broker_->Show(b)->state, storage::JobState::kFailed);
  EXPECT_EQ(broker_->Show(b)->last_error, "NACK from worker");
  EXPECT_EQ(Cmd({"NACK", c, "451 try later", "BOGUS"}).str, "ERR syntax error");
  EXPECT_EQ(Cmd({"NACK", c, "x", "PERMANENT", "y"}).str,
            "ERR wrong number of arguments for 'nack' command");
  EXPECT_EQ(Cmd({"NACK", c, "451 try later"}), Int(1));  // an attempt: retried
  EXPECT_EQ(broker_->Show(c)->state, storage::JobState::kDelayed);
  EXPECT_EQ(Cmd({"NACK", a, "again", "PERMANENT"}).str.rfind("NOJOB", 0), 0u);
}

TEST_F(RespServerTest, NackRetriesWithBackoffAndFailsAtTheEnd) {
  std::string id = Cmd({"ADDJOB", "q", "x", "ATTEMPTS", "2", "BACKOFF", "fixed", "60000"}).str;
  Cmd({"GETJOB", "NOHANG", "FROM", "q"});
  EXPECT_EQ(Cmd({"NACK", id, "smtp 451"}), Int(1));
  EXPECT_NE(Cmd({"SHOW", id}).ToString().find("delayed"), std::string::npos);
  EXPECT_EQ(Cmd({"NACK", id}).str.rfind("NOJOB", 0), 0u);
  EXPECT_EQ(Cmd({"WORKING", id}).str.rfind("NOJOB", 0), 0u);
}

TEST_F(RespServerTest, QueueAdministration) {
  std::string a = Cmd({"ADDJOB", "admin", "a", "ATTEMPTS", "1"}).str;
  std::string b = Cmd({"ADDJOB", "admin", "b"}).str;
  Reply peek = Cmd({"QPEEK", "admin", "5"});
  ASSERT_EQ(peek.elements.size(), 2u);
  EXPECT_EQ(peek.elements[0].elements.at(1), Bulk(a));
  Reply stat = Cmd({"QSTAT", "admin"});
  EXPECT_NE(stat.ToString().find("waiting"), std::string::npos);
  EXPECT_TRUE(Cmd({"QSTAT", "nosuchqueue"}).is_null());
  bool listed = false;
  for (const Reply& q : Cmd({"QUEUES"}).elements) listed = listed || q.str == "admin";
  EXPECT_TRUE(listed);

  EXPECT_EQ(Cmd({"QPAUSE", "admin"}), Reply::SimpleString("OK"));
  EXPECT_TRUE(Cmd({"GETJOB", "NOHANG", "FROM", "admin"}).is_null());
  EXPECT_EQ(Cmd({"QRESUME", "admin"}), Reply::SimpleString("OK"));
  Reply taken = Cmd({"GETJOB", "NOHANG", "FROM", "admin"});
  ASSERT_EQ(taken.elements.size(), 1u);
  EXPECT_EQ(Cmd({"NACK", a, "broken"}), Int(1));  // one attempt: failed at once
  EXPECT_NE(Cmd({"SHOW", a}).ToString().find("failed"), std::string::npos);

  Reply scan = Cmd({"QSCAN", "admin", "failed", "0"});
  ASSERT_EQ(scan.elements.size(), 2u);
  EXPECT_EQ(scan.elements[1].elements.at(0), Bulk(a));
  EXPECT_EQ(Cmd({"QSCAN", "admin", "sleeping", "0"}).type, ReplyType::kError);
  EXPECT_EQ(Cmd({"QRETRY", "admin", a}), Int(1));
  EXPECT_EQ(Cmd({"QLEN", "admin"}), Int(2));
  EXPECT_EQ(Cmd({"DELJOB", b, "nope"}), Int(1));
  EXPECT_EQ(Cmd({"QLEN", "admin"}), Int(1));
  EXPECT_EQ(Cmd({"QCLEAN", "admin", "waiting", "0"}), Int(1));
  EXPECT_EQ(Cmd({"QLEN", "admin"}), Int(0));
  EXPECT_EQ(Cmd({"QLEN", "nosuchqueue"}), Int(0));
}

TEST_F(RespServerTest, QscanPagesThroughEveryJob) {
  for (int i = 0; i < 23; ++i) Cmd({"ADDJOB", "paged", std::to_string(i)});
  std::set<std::string> ids;
  std::string cursor = "0";
  int rounds = 0;
  do {
    Reply page = Cmd({"QSCAN", "paged", "waiting", cursor, "COUNT", "5"});
    ASSERT_EQ(page.elements.size(), 2u) << page.ToString();
    cursor = page.elements[0].str;
    for (const Reply& id : page.elements[1].elements) ids.insert(id.str);
    ASSERT_LT(++rounds, 20);
  } while (cursor != "0");
  EXPECT_EQ(ids.size(), 23u);
}

TEST_F(RespServerTest, EmitRoutesValidEventsAndNamesTheProblemOfBadOnes) {
  const std::string event =
      R"({"eventType":"booking.reminder","eventId":"rem-1","data":{"bookingId":"b","userId":"u"}})";
  EXPECT_EQ(Cmd({"EMIT", event}), Bulk("rem-1"));
  EXPECT_EQ(Cmd({"EMIT", event}), Bulk("rem-1"));
  EXPECT_EQ(Cmd({"QLEN", "notifications"}), Int(1));
  EXPECT_EQ(Cmd({"EMIT", R"({"eventType":"x","eventId":"e","data":{}})"}).str,
            "ERR unknown event type 'x'");
  EXPECT_EQ(Cmd({"EMIT", R"({"eventType":"booking.reminder","eventId":"e","data":{}})"}).str,
            "ERR event booking.reminder: missing field data.bookingId");
  EXPECT_EQ(Cmd({"EMIT", "{oops"}).str.rfind("ERR invalid JSON at byte ", 0), 0u);
}

// ---- Protocol errors and limits ----------------------------------------------------------

TEST_F(RespServerTest, InlineCommandsWorkLikeTelnet) {
  EXPECT_EQ(Raw("PING\r\nECHO \"a b\"\r\n", false), "+PONG\r\n$3\r\na b\r\n");
}

TEST_F(RespServerTest, MalformedRequestsGetAProtocolErrorAndTheConnectionCloses) {
  EXPECT_EQ(Raw("*abc\r\n"), "-ERR Protocol error: invalid multibulk length\r\n");
  EXPECT_EQ(Raw("*1\r\n$abc\r\n"), "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_EQ(Raw("*1\r\nfoo\r\n"), "-ERR Protocol error: expected '$', got 'f'\r\n");
  EXPECT_EQ(Raw("*1\r\n$-5\r\n"), "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_EQ(Raw("SET \"unbalanced\r\n"), "-ERR Protocol error: unbalanced quotes in request\r\n");
  // Replies to the commands before the bad one are still sent.
  EXPECT_EQ(Raw("PING\r\n*x\r\n"), "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n");
}

TEST_F(RespServerTest, OversizedBulkIsRefusedBeforeItIsBuffered) {
  StopServer();
  ServerOptions options;
  options.max_bulk_bytes = 1024;
  StartServer(options);
  EXPECT_EQ(Raw("*2\r\n$3\r\nGET\r\n$2000\r\n"), "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_EQ(Cmd({"SET", "k", std::string(1000, 'x')}), Reply::SimpleString("OK"));
}

TEST_F(RespServerTest, RequirePassGuardsEverythingButAuthHelloQuit) {
  StopServer();
  ServerOptions options;
  options.requirepass = "s3cret";
  StartServer(options);
  EXPECT_EQ(Cmd({"PING"}).str, "NOAUTH Authentication required.");
  EXPECT_EQ(Cmd({"ADDJOB", "q", "x"}).str, "NOAUTH Authentication required.");
  EXPECT_EQ(Cmd({"AUTH", "wrong"}).str,
            "WRONGPASS invalid username-password pair or user is disabled.");
  EXPECT_EQ(Cmd({"HELLO", "3"}).str.rfind("NOAUTH", 0), 0u);
  EXPECT_EQ(Cmd({"AUTH", "s3cret"}), Reply::SimpleString("OK"));
  EXPECT_EQ(Cmd({"PING"}), Reply::SimpleString("PONG"));
  auto other = Connect();
  EXPECT_EQ(Cmd({"HELLO", "3", "AUTH", "default", "s3cret"}, other.get()).type, ReplyType::kMap);
  EXPECT_EQ(Cmd({"PING"}, other.get()), Reply::SimpleString("PONG"));
}

TEST_F(RespServerTest, AuthWithoutAPasswordConfiguredIsAnError) {
  EXPECT_EQ(Cmd({"AUTH", "x"}).str.rfind("ERR AUTH <password> called without any password", 0), 0u);
}

TEST_F(RespServerTest, ConnectionsBeyondMaxClientsAreRefused) {
  StopServer();
  ServerOptions options;
  options.max_clients = 2;
  StartServer(options);
  auto second = Connect();
  EXPECT_EQ(Cmd({"PING"}, second.get()), Reply::SimpleString("PONG"));
  EXPECT_EQ(Raw("PING\r\n"), "-ERR max number of clients reached\r\n");
}

TEST_F(RespServerTest, IdleClientsAreClosedAfterTheTimeoutButBlockedAndActiveOnesAreNot) {
  StopServer();
  use_fake_clock_ = true;
  ServerOptions options;
  options.idle_timeout_s = 1;
  StartServer(options);
  Reply config = Cmd({"CONFIG", "GET", "timeout"});
  ASSERT_EQ(config.elements.size(), 2u) << config.ToString();
  EXPECT_EQ(config.elements[1], Bulk("1"));
  auto idle = Connect();
  auto active = Connect();
  auto blocked = Connect();
  EXPECT_EQ(Cmd({"PING"}, idle.get()), Reply::SimpleString("PONG"));
  SendOnly(blocked.get(), {"BLPOP", "wake", "0"});  // its reply comes later
  ASSERT_TRUE(WaitForBlocked(1));
  ASSERT_TRUE(WaitForTimers(4));  // an idle timer per client, the fixture's own included
  EXPECT_EQ(AdvanceClock(999), 0u);
  EXPECT_EQ(Cmd({"PING"}, active.get()), Reply::SimpleString("PONG"));  // active at 999 ms
  EXPECT_EQ(AdvanceClock(1), 4u);  // every timer is due; only the idle clients go
  auto closed = idle->Command({"PING"});
  EXPECT_FALSE(closed.ok()) << "an idle client was not closed: " << closed->ToString();
  EXPECT_EQ(Cmd({"PING"}, active.get()), Reply::SimpleString("PONG"));
  EXPECT_EQ(Cmd({"RPUSH", "wake", "v"}, active.get()), Int(1));
  auto woken = blocked->ReadReplies(1);
  ASSERT_TRUE(woken.ok()) << woken.status().message();
  ASSERT_EQ((*woken)[0].elements.size(), 2u) << (*woken)[0].ToString();
  EXPECT_EQ((*woken)[0].elements[1], Bulk("v"));
  EXPECT_EQ(Cmd({"PING"}, blocked.get()), Reply::SimpleString("PONG"));
}

TEST_F(RespServerTest, AClientIdleSinceMidTimeoutIsClosedAtTheTimeoutNotTwiceIt) {
  StopServer();
  use_fake_clock_ = true;
  ServerOptions options;
  options.idle_timeout_s = 2;
  StartServer(options);
  client_.reset();
  // The fixture's client gone first (its timer with it), so that the one pending timer below
  // is the new client's, armed at 0 s.
  ASSERT_TRUE(WaitForTimers(0));
  auto client = Connect();
  ASSERT_TRUE(WaitForTimers(1));
  EXPECT_EQ(AdvanceClock(1200), 0u);
  EXPECT_EQ(Cmd({"PING"}, client.get()), Reply::SimpleString("PONG"));  // idle from 1.2 s
  // The timer armed at the start is due at 2 s; it finds the client idle for 0.8 s and waits
  // for what is left: due at 3.2 s, not at 4 s (a whole timeout again).
  EXPECT_EQ(AdvanceClock(800), 1u);
  ASSERT_TRUE(WaitForTimers(1));
  EXPECT_EQ(AdvanceClock(1199), 0u);  // 3.199 s
  EXPECT_EQ(AdvanceClock(1), 1u);     // 3.2 s
  auto late = client->Command({"PING"});
  EXPECT_FALSE(late.ok()) << "still open 2 s after its last command: " << late->ToString();
}

// ---- CONFIG SET ---------------------------------------------------------------------------

TEST_F(RespServerTest, ConfigGetStarListsEveryParameter) {
  Reply all = Cmd({"CONFIG", "GET", "*"});
  std::set<std::string> names;
  for (size_t i = 0; i + 1 < all.elements.size(); i += 2) names.insert(all.elements[i].str);
  std::set<std::string> want;
  for (std::string_view name : ServerConfig::Names()) want.emplace(name);
  EXPECT_EQ(names, want);
  for (const char* name :
       {"timeout", "maxclients", "requirepass", "proto-max-bulk-len", "client-query-buffer-limit",
        "protected-mode", "appendfsync", "port", "bind", "io-threads", "databases", "save"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
  EXPECT_EQ(Cmd({"CONFIG", "GET", "port"}).elements.at(1), Bulk(std::to_string(server_->port())));
  EXPECT_EQ(Cmd({"CONFIG", "GET", "io-threads"}).elements.at(1), Bulk("2"));
}

TEST_F(RespServerTest, ConfigSetOfAnImmutableParameterIsRefusedAndChangesNothing) {
  for (const char* name : {"port", "bind", "appendfsync", "io-threads", "save", "maxmemory"}) {
    EXPECT_EQ(Cmd({"CONFIG", "SET", name, "1"}).str,
              std::string("ERR CONFIG SET failed (possibly related to argument '") + name +
                  "') - can't set immutable config");
  }
  EXPECT_EQ(Cmd({"CONFIG", "SET", "maxclients", "5", "port", "1"}).type, ReplyType::kError);
  EXPECT_EQ(Cmd({"CONFIG", "GET", "maxclients"}).elements.at(1), Bulk("10000"));
}

TEST_F(RespServerTest, ConfigSetMaxclientsHoldsForTheNextConnection) {
  auto second = Connect();
  EXPECT_EQ(Cmd({"CONFIG", "SET", "maxclients", "2"}), Ok());
  EXPECT_EQ(Cmd({"CONFIG", "GET", "maxclients"}).elements.at(1), Bulk("2"));
  EXPECT_NE(Cmd({"INFO", "clients"}).str.find("maxclients:2\r\n"), std::string::npos);
  EXPECT_EQ(Raw("PING\r\n"), "-ERR max number of clients reached\r\n");
  EXPECT_EQ(Cmd({"PING"}, second.get()), Reply::SimpleString("PONG"));
  EXPECT_EQ(Cmd({"CONFIG", "SET", "maxclients", "10"}), Ok());
  EXPECT_EQ(Raw("PING\r\n", false), "+PONG\r\n");
}

TEST_F(RespServerTest, ConfigSetRequirepassHoldsAtOnceAndConnectedClientsStayIn) {
  auto before = Connect();
  EXPECT_EQ(Cmd({"PING"}, before.get()), Reply::SimpleString("PONG"));  // accepted by now
  EXPECT_EQ(Cmd({"CONFIG", "SET", "requirepass", "s3cret"}), Ok());
  EXPECT_EQ(Cmd({"CONFIG", "GET", "requirepass"}).elements.at(1), Bulk("s3cret"));
  // As Redis: connected before the password was set, still authenticated.
  EXPECT_EQ(Cmd({"PING"}, before.get()), Reply::SimpleString("PONG"));
  auto after = Connect();
  EXPECT_EQ(Cmd({"PING"}, after.get()).str, "NOAUTH Authentication required.");
  EXPECT_EQ(Cmd({"AUTH", "wrong"}, after.get()).str,
            "WRONGPASS invalid username-password pair or user is disabled.");
  auto late = Connect();
  EXPECT_EQ(Cmd({"AUTH", "s3cret"}, late.get()), Ok());
  EXPECT_EQ(Cmd({"PING"}, late.get()), Reply::SimpleString("PONG"));
  EXPECT_EQ(Cmd({"CONFIG", "SET", "requirepass", "other"}, late.get()), Ok());
  EXPECT_EQ(Cmd({"AUTH", "s3cret"}, after.get()).str,
            "WRONGPASS invalid username-password pair or user is disabled.");
  EXPECT_EQ(Cmd({"AUTH", "other"}, after.get()), Ok());
  // No password again: every client may run commands, as with Redis's "nopass".
  auto unauthenticated = Connect();
  EXPECT_EQ(Cmd({"PING"}, unauthenticated.get()).str, "NOAUTH Authentication required.");
  EXPECT_EQ(Cmd({"CONFIG", "SET", "requirepass", ""}), Ok());
  EXPECT_EQ(Cmd({"PING"}, unauthenticated.get()), Reply::SimpleString("PONG"));
  EXPECT_EQ(Cmd({"AUTH", "x"}).str.rfind("ERR AUTH <password> called without any password", 0), 0u);
}

TEST_F(RespServerTest, ConfigSetProtoMaxBulkLenHoldsForConnectedClients) {
  RawConnection raw(server_->port());
  EXPECT_EQ(raw.Exchange("PING\r\n", "+PONG\r\n"), "+PONG\r\n");
  EXPECT_EQ(Cmd({"CONFIG", "SET", "proto-max-bulk-len", "1mb"}), Ok());
  EXPECT_EQ(Cmd({"CONFIG", "GET", "proto-max-bulk-len"}).elements.at(1), Bulk("1048576"));
  raw.Send("*2\r\n$3\r\nGET\r\n$1048577\r\n");
  EXPECT_EQ(raw.ReadToClose(), "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_EQ(Cmd({"SET", "k", std::string(1 << 20, 'x')}), Ok());
}

TEST_F(RespServerTest, ConfigSetClientQueryBufferLimitHoldsForConnectedClients) {
  RawConnection raw(server_->port());
  EXPECT_EQ(raw.Exchange("PING\r\n", "+PONG\r\n"), "+PONG\r\n");
  EXPECT_EQ(Cmd({"CONFIG", "SET", "client-query-buffer-limit", "1mb"}), Ok());
  raw.Send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n" + std::string(1200000, 'x'));
  EXPECT_EQ(raw.ReadToClose(),
            "-ERR Protocol error: query buffer limit exceeded (1048576 bytes)\r\n");
}

TEST_F(RespServerTest, ConfigSetTimeoutHoldsForConnectedClients) {
  StopServer();
  use_fake_clock_ = true;
  StartServer(ServerOptions{});
  auto idle = Connect();
  EXPECT_EQ(Cmd({"PING"}, idle.get()), Reply::SimpleString("PONG"));
  EXPECT_EQ(state_->timers().pending(), 0u);  // no timeout: no timer
  EXPECT_EQ(Cmd({"CONFIG", "SET", "timeout", "1"}), Ok());
  EXPECT_EQ(Cmd({"CONFIG", "GET", "timeout"}).elements.at(1), Bulk("1"));
  ASSERT_TRUE(WaitForTimers(2));  // both clients connected before look at the new timeout
  EXPECT_EQ(AdvanceClock(1000), 2u);
  EXPECT_FALSE(idle->Command({"PING"}).ok()) << "a client connected before was not closed";
  // Back to 0: a client whose wait was armed under the old timeout is not closed.
  auto admin = Connect();
  auto kept = Connect();
  ASSERT_TRUE(WaitForTimers(2));
  EXPECT_EQ(Cmd({"CONFIG", "SET", "timeout", "0"}, admin.get()), Ok());
  ASSERT_TRUE(WaitForTimers(0));
  EXPECT_EQ(AdvanceClock(1500), 0u);
  EXPECT_EQ(Cmd({"PING"}, kept.get()), Reply::SimpleString("PONG"));
}

TEST_F(RespServerTest, ConfigResetstatZeroesTheTotalsOfInfo) {
  for (int i = 0; i < 5; ++i) Cmd({"PING"});
  auto other = Connect();
  EXPECT_EQ(Cmd({"PING"}, other.get()), Reply::SimpleString("PONG"));  // accepted by now
  EXPECT_EQ(Cmd({"CONFIG", "RESETSTAT"}), Ok());
  const std::string stats = Cmd({"INFO", "stats"}).str;
  EXPECT_NE(stats.find("total_commands_processed:1\r\n"), std::string::npos) << stats;
  EXPECT_NE(stats.find("total_connections_received:0\r\n"), std::string::npos) << stats;
  EXPECT_NE(Cmd({"INFO", "clients"}).str.find("connected_clients:2\r\n"), std::string::npos);
}

// The first IPv4 address of this machine that is not loopback; "" when there is none.
std::string NonLoopbackAddress() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* it = list; it != nullptr && found.empty(); it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN];
    const auto* addr = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
    if (inet_ntop(AF_INET, &addr->sin_addr, text, sizeof(text)) == nullptr) continue;
    if (std::string_view(text).rfind("127.", 0) != 0) found = text;
  }
  freeifaddrs(list);
  return found;
}

TEST_F(RespServerTest, ProtectedModeRefusesOtherThanLoopbackWhileNoPasswordIsSet) {
  const std::string address = NonLoopbackAddress();
  if (address.empty()) GTEST_SKIP() << "no non-loopback IPv4 address to connect from";
  StopServer();
  ServerOptions options;
  options.bind = "0.0.0.0";
  options.requirepass = "s3cret";
  StartServer(options);
  EXPECT_EQ(Cmd({"AUTH", "s3cret"}), Ok());
  auto from_outside = [&] {
    auto c = client::Client::Connect(address, server_->port(), 5s);
    if (!c.ok()) return std::string("connect failed: ") + c.status().message();
    auto reply = (*c)->Command({"PING"});
    return reply.ok() ? reply->str : "closed: " + reply.status().message();
  };
  EXPECT_EQ(from_outside(), "NOAUTH Authentication required.");
  EXPECT_EQ(Cmd({"CONFIG", "SET", "requirepass", ""}), Ok());
  EXPECT_EQ(from_outside().rfind("DENIED Herald is running in protected mode", 0), 0u);
  EXPECT_EQ(Cmd({"PING"}), Reply::SimpleString("PONG"));  // loopback: served
  EXPECT_EQ(Cmd({"CONFIG", "SET", "protected-mode", "no"}), Ok());
  EXPECT_EQ(Cmd({"CONFIG", "GET", "protected-mode"}).elements.at(1), Bulk("no"));
  EXPECT_EQ(from_outside(), "PONG");
}

TEST_F(RespServerTest, ThousandConcurrentConnectionsAreServed) {
  rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < 2200) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 4096);
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < 2200) GTEST_SKIP() << "open file limit too low: " << limit.rlim_cur;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 1000; ++i) {
    clients.push_back(Connect());
    ASSERT_NE(clients.back(), nullptr) << i;
    clients.back()->Append({"INCR", "hits"});
  }
  for (auto& c : clients) {
    auto reply = c->ReadReplies(1);
    ASSERT_TRUE(reply.ok()) << reply.status().message();
  }
  EXPECT_EQ(Cmd({"GET", "hits"}), Bulk("1000"));
  EXPECT_GE(state_->connected_clients.load(), 1001u);
}

// One rule for what a loopback bind is, for the herald binary's config and the embedding API.
TEST(LoopbackBindTest, LocalhostAndLoopbackAddressesAreLoopbackOthersAreNot) {
  for (const char* bind : {"localhost", "127.0.0.1", "127.0.0.2", "127.255.255.254", "::1"}) {
    EXPECT_TRUE(IsLoopbackBind(bind)) << bind;
  }
  for (const char* bind : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "127.example.com",
                           "localhost.", "", "127.0.0.1 ", "example.com"}) {
    EXPECT_FALSE(IsLoopbackBind(bind)) << bind;
  }
}

}  // namespace
}  // namespace herald::net
