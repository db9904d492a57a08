// Commands run through CommandRunner (no socket): the dispatcher's checks, the command table,
// and the server and connection commands, each asserted on its reply.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "net/command_table.h"
#include "tests/support/command_runner.h"

namespace herald::net {
namespace {

using testing::CommandRunner;

TEST(CommandTableTest, NamesAreUniqueAndLowerCaseAndEveryRowHasAHandler) {
  CommandRunner runner;
  std::set<std::string> names;
  for (const CommandSpec& spec : runner.state().table().rows()) {
    EXPECT_TRUE(names.insert(spec.name).second) << spec.name;
    for (char c : spec.name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << spec.name;
    EXPECT_TRUE(static_cast<bool>(spec.handler)) << spec.name;
    EXPECT_NE(spec.arity, 0) << spec.name;
    EXPECT_FALSE(spec.group.empty()) << spec.name;
  }
  EXPECT_TRUE(names.count("addjob") && names.count("lpush") && names.count("config"));
}

TEST(CommandTableTest, FreezeRefusesDuplicatesUpperCaseAndMissingHandlers) {
  const CommandHandler noop = [](CommandContext&, Args) {};
  std::string error;
  CommandTable twice;
  twice.Add({.name = "ping", .arity = 1, .group = "connection", .handler = noop});
  twice.Add({.name = "ping", .arity = 1, .group = "connection", .handler = noop});
  EXPECT_FALSE(twice.Freeze(&error));
  EXPECT_NE(error.find("ping"), std::string::npos) << error;

  CommandTable upper;
  upper.Add({.name = "Ping", .arity = 1, .group = "connection", .handler = noop});
  EXPECT_FALSE(upper.Freeze(&error));

  CommandTable no_handler;
  no_handler.Add({.name = "ping", .arity = 1, .group = "connection"});
  EXPECT_FALSE(no_handler.Freeze(&error));
}

TEST(CommandTableTest, FindIgnoresCaseAndSlotsAreDistinct) {
  CommandRunner runner;
  const CommandTable& table = runner.state().table();
  ASSERT_NE(table.Find("GeT"), nullptr);
  EXPECT_EQ(table.Find("GeT")->name, "get");
  EXPECT_EQ(table.Find("nosuch"), nullptr);
  const CommandSpec* config = table.Find("config");
  ASSERT_NE(config, nullptr);
  const SubcommandSpec* get = CommandTable::FindSubcommand(*config, "GET");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->full_name, "config|get");
  std::set<std::size_t> slots;
  for (const CommandSpec& spec : table.rows()) {
    EXPECT_TRUE(slots.insert(spec.slot).second) << spec.name;
    for (const SubcommandSpec& sub : spec.subcommands) {
      EXPECT_TRUE(slots.insert(sub.slot).second) << sub.full_name;
    }
  }
  EXPECT_EQ(slots.size(), table.slots());
}

TEST(CommandTableTest, ArityCountsAsRedisDoes) {
  EXPECT_TRUE(ArityFits(2, 2));
  EXPECT_FALSE(ArityFits(2, 3));
  EXPECT_TRUE(ArityFits(-2, 2));
  EXPECT_TRUE(ArityFits(-2, 9));
  EXPECT_FALSE(ArityFits(-2, 1));
  EXPECT_EQ(FlagNames(kWrite | kFast), (std::vector<std::string>{"write", "fast"}));
}

TEST(DispatchTest, UnknownCommandNamesItAndItsFirstArguments) {
  CommandRunner runner;
  EXPECT_EQ(runner.Err({"FOO", "a", "b"}),
            "ERR unknown command 'FOO', with args beginning with: 'a' 'b' ");
}

TEST(DispatchTest, WrongArityAndUnknownSubcommandUseRedisWording) {
  CommandRunner runner;
  EXPECT_EQ(runner.Err({"GET"}), "ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(runner.Err({"CONFIG", "GET"}),
            "ERR wrong number of arguments for 'config|get' command");
  EXPECT_EQ(runner.Err({"CONFIG", "BOGUS"}), "ERR unknown subcommand 'BOGUS'. Try CONFIG HELP.");
}

TEST(DispatchTest, PasswordGatesEveryCommandButAuthHelloAndQuit) {
  CommandRunner::Options options;
  options.server.requirepass = "secret";
  CommandRunner runner(options);
  EXPECT_EQ(runner.Err({"GET", "a"}), "NOAUTH Authentication required.");
  EXPECT_EQ(runner.Err({"AUTH", "wrong"}).rfind("WRONGPASS", 0), 0u);
  EXPECT_EQ(runner.Run({"AUTH", "secret"}), resp::Reply::SimpleString("OK"));
  EXPECT_EQ(runner.Run({"GET", "a"}), resp::Reply::Null());
}

TEST(DispatchTest, CommandStatsCountCallsRejectionsAndFailures) {
  CommandRunner runner;
  runner.Run({"SET", "n", "x"});
  runner.Run({"INCR", "n"});  // an error reply: a failed call
  runner.Run({"INCR"});       // refused: wrong arity
  runner.Run({"INCR", "m"});
  const CommandSpec* incr = runner.state().table().Find("incr");
  ASSERT_NE(incr, nullptr);
  const CommandStats& stats = runner.state().command_stats(incr->slot);
  EXPECT_EQ(stats.calls.load(), 2u);
  EXPECT_EQ(stats.failed_calls.load(), 1u);
  EXPECT_EQ(stats.rejected_calls.load(), 1u);
}

TEST(ServerCommandsTest, DbSizeCountsTheSelectedDatabase) {
  CommandRunner runner;
  runner.Run({"SET", "a", "1"});
  runner.Run({"RPUSH", "l", "x", "y"});
  EXPECT_EQ(runner.Run({"DBSIZE"}), resp::Reply::Integer(2));
  EXPECT_EQ(runner.Run({"SELECT", "3"}), resp::Reply::SimpleString("OK"));
  EXPECT_EQ(runner.Run({"DBSIZE"}), resp::Reply::Integer(0));
  EXPECT_EQ(runner.Err({"SELECT", "16"}), "ERR DB index is out of range");
}

TEST(ServerCommandsTest, ConfigGetAndSetALiveParameter) {
  CommandRunner runner;
  EXPECT_EQ(runner.Run({"CONFIG", "SET", "timeout", "30"}), resp::Reply::SimpleString("OK"));
  resp::Reply got = runner.Run({"CONFIG", "GET", "timeout"});
  ASSERT_EQ(got.elements.size(), 2u) << got.ToString();
  EXPECT_EQ(got.elements[1].str, "30");
  EXPECT_EQ(runner.state().config().idle_timeout_s(), 30u);
  EXPECT_NE(runner.Err({"CONFIG", "SET", "port", "1"}).find("can't set immutable config"),
            std::string::npos);
}

TEST(ServerCommandsTest, InfoNamesTheRedisVersionAndCountsTheBlockedClient) {
  CommandRunner runner;
  resp::Reply info = runner.Run({"INFO", "server"});
  EXPECT_NE(info.str.find("redis_version:7.0.15\r\n"), std::string::npos) << info.str;
  EXPECT_NE(info.str.find("herald_version:0.1.0\r\n"), std::string::npos) << info.str;
}

TEST(ServerCommandsTest, CommandCountMatchesTheTable) {
  CommandRunner runner;
  EXPECT_EQ(runner.Run({"COMMAND", "COUNT"}),
            resp::Reply::Integer(static_cast<std::int64_t>(runner.state().table().rows().size())));
}

TEST(ConnectionCommandsTest, QuitAnswersOkAndClosesAfterTheReply) {
  CommandRunner runner;
  EXPECT_FALSE(runner.closing());
  EXPECT_EQ(runner.Run({"QUIT"}), resp::Reply::SimpleString("OK"));
  EXPECT_TRUE(runner.closing());
}

TEST(ConnectionCommandsTest, HelloThreeSwitchesTheSessionToResp3) {
  CommandRunner runner;
  resp::Reply hello = runner.Run({"HELLO", "3"});
  EXPECT_EQ(hello.type, resp::ReplyType::kMap) << hello.ToString();
  // RESP3 from now on: a null is "_".
  EXPECT_EQ(runner.RunRaw({"GET", "missing"}), "_\r\n");
}

TEST(ConnectionCommandsTest, ClientSetNameShowsInClientList) {
  CommandRunner runner;
  EXPECT_EQ(runner.Run({"CLIENT", "SETNAME", "runner-1"}), resp::Reply::SimpleString("OK"));
  EXPECT_EQ(runner.Run({"CLIENT", "GETNAME"}), resp::Reply::Bulk("runner-1"));
  EXPECT_NE(runner.Run({"CLIENT", "LIST"}).str.find("name=runner-1"), std::string::npos);
}

TEST(BlockingCommandsTest, BlpopParksUntilItsTimeoutOnTheServersClock) {
  CommandRunner runner;
  // Nothing to pop: parked until the timeout, answered with a null array.
  EXPECT_EQ(runner.RunRaw({"BLPOP", "q", "0.05"}, std::chrono::milliseconds(0)),
            "-no answer within 0 ms\r\n");
  EXPECT_EQ(runner.state().blocked_clients.load(), 1u);
  EXPECT_EQ(runner.AdvanceClock(49), 0u);  // 1 ms early: nothing is due
  EXPECT_EQ(runner.AwaitRaw(std::chrono::milliseconds(0)), "-no answer within 0 ms\r\n");
  EXPECT_EQ(runner.AdvanceClock(1), 1u);
  EXPECT_EQ(runner.AwaitRaw(), "*-1\r\n");
  EXPECT_EQ(runner.state().blocked_clients.load(), 0u);
  EXPECT_EQ(runner.state().timers().pending(), 0u);
}

TEST(BlockingCommandsTest, BlpopOfAListWithAnElementAnswersAtOnce) {
  CommandRunner runner;
  runner.Run({"RPUSH", "q", "job"});
  resp::Reply popped = runner.Run({"BLPOP", "q", "1"}, std::chrono::milliseconds(0));
  ASSERT_EQ(popped.elements.size(), 2u) << popped.ToString();
  EXPECT_EQ(popped.elements[1].str, "job");
  EXPECT_EQ(runner.state().timers().pending(), 0u);
}

TEST(BlockingCommandsTest, GetjobWithNohangAnswersNullAtOnce) {
  CommandRunner runner;
  EXPECT_TRUE(runner.Run({"GETJOB", "NOHANG", "FROM", "emails"}).is_null());
  resp::Reply id = runner.Run({"ADDJOB", "emails", "hello"});
  ASSERT_FALSE(id.is_error()) << id.ToString();
  resp::Reply jobs = runner.Run({"GETJOB", "NOHANG", "FROM", "emails"});
  ASSERT_EQ(jobs.elements.size(), 1u) << jobs.ToString();
  EXPECT_EQ(jobs.elements[0].elements[1].str, id.str);
  EXPECT_EQ(jobs.elements[0].elements[2].str, "hello");
}

// GETJOB names the worker of each attempt after the client (its CLIENT SETNAME name and
// address, or the address alone); SHOW reports the attempts under "history".
TEST(JobCommandsTest, ShowReportsEachAttemptWithTheClientThatTookIt) {
  CommandRunner runner;
  ASSERT_EQ(runner.Run({"HELLO", "3"}).type, resp::ReplyType::kMap);
  const std::string id =
      runner.Run({"ADDJOB", "emails", "x", "ATTEMPTS", "3", "BACKOFF", "fixed", "1000"}).str;
  const std::int64_t start = runner.clock().NowMs();
  ASSERT_EQ(runner.Run({"GETJOB", "NOHANG", "FROM", "emails"}).elements.size(), 1u);
  runner.clock().Advance(7);
  EXPECT_EQ(runner.Run({"NACK", id, "smtp 451"}), resp::Reply::Integer(1));
  runner.clock().Advance(1000);
  runner.broker().Tick();
  EXPECT_EQ(runner.Run({"CLIENT", "SETNAME", "mailer-1"}), resp::Reply::SimpleString("OK"));
  ASSERT_EQ(runner.Run({"GETJOB", "NOHANG", "FROM", "emails"}).elements.size(), 1u);

  resp::Reply shown = runner.Run({"SHOW", id});
  ASSERT_EQ(shown.type, resp::ReplyType::kMap) << shown.ToString();
  EXPECT_EQ(shown.pairs.size(), 17u);
  const resp::Reply* history = shown.Find("history");
  ASSERT_NE(history, nullptr) << shown.ToString();
  ASSERT_EQ(history->elements.size(), 2u) << history->ToString();
  const resp::Reply& first = history->elements[0];
  ASSERT_EQ(first.pairs.size(), 7u) << first.ToString();
  EXPECT_EQ(first.Find("started-ms")->integer, start);
  EXPECT_EQ(first.Find("ended-ms")->integer, start + 7);
  EXPECT_EQ(first.Find("outcome")->str, "retrying");
  EXPECT_EQ(first.Find("error")->str, "smtp 451");
  EXPECT_EQ(first.Find("worker")->str, "runner");  // the runner's address
  EXPECT_EQ(first.Find("backoff-ms")->integer, 1000);
  EXPECT_EQ(first.Find("next-due-ms")->integer, start + 1007);
  const resp::Reply& second = history->elements[1];
  EXPECT_EQ(second.Find("started-ms")->integer, start + 1007);
  EXPECT_EQ(second.Find("ended-ms")->integer, 0);
  EXPECT_EQ(second.Find("outcome")->str, "running");
  EXPECT_EQ(second.Find("worker")->str, "mailer-1@runner");

  EXPECT_EQ(runner.Run({"ACKJOB", id}), resp::Reply::Integer(1));
  resp::Reply completed = runner.Run({"SHOW", id});
  history = completed.Find("history");
  ASSERT_NE(history, nullptr);
  ASSERT_EQ(history->elements.size(), 2u);
  EXPECT_EQ(history->elements[1].Find("outcome")->str, "completed");
  EXPECT_EQ(history->elements[1].Find("ended-ms")->integer, start + 1007);
}

TEST(JobCommandsTest, ShowOfAJobNeverTakenHasAnEmptyHistory) {
  CommandRunner runner;
  const std::string id = runner.Run({"ADDJOB", "emails", "x"}).str;
  resp::Reply shown = runner.Run({"SHOW", id});  // RESP2: a flat field/value array
  ASSERT_EQ(shown.elements.size(), 34u) << shown.ToString();
  EXPECT_EQ(shown.elements[32].str, "history");
  EXPECT_EQ(shown.elements[33].type, resp::ReplyType::kArray);
  EXPECT_TRUE(shown.elements[33].elements.empty());
}

// ADDJOB NAME keeps the producer's name (BullMQ's add(name, data)): SHOW reports it, GETJOB
// WITHNAME hands it to the worker as a fifth element, "" for a job without one.
TEST(JobCommandsTest, AJobNameIsShownAndTakenWithName) {
  CommandRunner runner;
  ASSERT_EQ(runner.Run({"HELLO", "3"}).type, resp::ReplyType::kMap);
  const std::string named = runner.Run({"ADDJOB", "emails", "a", "NAME", "booking-event"}).str;
  const std::string plain = runner.Run({"ADDJOB", "emails", "b"}).str;
  EXPECT_EQ(runner.Run({"SHOW", named}).Find("name")->str, "booking-event");
  EXPECT_EQ(runner.Run({"SHOW", plain}).Find("name")->str, "");

  resp::Reply first = runner.Run({"GETJOB", "NOHANG", "WITHNAME", "FROM", "emails"});
  ASSERT_EQ(first.elements.size(), 1u) << first.ToString();
  ASSERT_EQ(first.elements[0].elements.size(), 5u) << first.ToString();
  EXPECT_EQ(first.elements[0].elements[1].str, named);
  EXPECT_EQ(first.elements[0].elements[4].str, "booking-event");
  resp::Reply second = runner.Run({"GETJOB", "NOHANG", "ACK", named, "WITHNAME", "FROM", "emails"});
  ASSERT_EQ(second.elements.size(), 1u) << second.ToString();
  ASSERT_EQ(second.elements[0].elements.size(), 5u);
  EXPECT_EQ(second.elements[0].elements[1].str, plain);
  EXPECT_EQ(second.elements[0].elements[4].str, "");
  // Without WITHNAME the entry keeps its four elements.
  runner.Run({"ADDJOB", "emails", "c", "NAME", "x"});
  resp::Reply third = runner.Run({"GETJOB", "NOHANG", "FROM", "emails"});
  ASSERT_EQ(third.elements.size(), 1u);
  EXPECT_EQ(third.elements[0].elements.size(), 4u);
  // The name survives the job's completion.
  EXPECT_EQ(runner.Run({"SHOW", named}).Find("state")->str, "completed");
  EXPECT_EQ(runner.Run({"SHOW", named}).Find("name")->str, "booking-event");
}

TEST(JobCommandsTest, AJobNameLongerThanOneKibibyteIsRefused) {
  CommandRunner runner;
  resp::Reply refused = runner.Run({"ADDJOB", "emails", "a", "NAME", std::string(1025, 'n')});
  ASSERT_TRUE(refused.is_error()) << refused.ToString();
  EXPECT_NE(refused.str.find("job name is longer than 1024 bytes"), std::string::npos)
      << refused.str;
  EXPECT_EQ(runner.Run({"QLEN", "emails"}), resp::Reply::Integer(0));
  EXPECT_FALSE(runner.Run({"ADDJOB", "emails", "a", "NAME", std::string(1024, 'n')}).is_error());
}

TEST(JobCommandsTest, QcleanRemovesAtMostLimitJobsOldestFirst) {
  CommandRunner runner;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(runner.Run({"ADDJOB", "emails", "x" + std::to_string(i)}).str);
    runner.clock().Advance(1);
  }
  EXPECT_EQ(runner.Run({"QCLEAN", "emails", "waiting", "0", "LIMIT", "2"}),
            resp::Reply::Integer(2));
  EXPECT_TRUE(runner.Run({"SHOW", ids[0]}).is_null());
  EXPECT_TRUE(runner.Run({"SHOW", ids[1]}).is_null());
  EXPECT_FALSE(runner.Run({"SHOW", ids[2]}).is_null());
  // LIMIT without an age counts from age 0.
  EXPECT_EQ(runner.Run({"QCLEAN", "emails", "waiting", "LIMIT", "1"}), resp::Reply::Integer(1));
  EXPECT_TRUE(runner.Run({"SHOW", ids[2]}).is_null());
  EXPECT_TRUE(runner.Run({"QCLEAN", "emails", "waiting", "0", "LIMIT", "0"}).is_error());
  EXPECT_TRUE(runner.Run({"QCLEAN", "emails", "waiting", "0", "LIMIT"}).is_error());
  EXPECT_TRUE(runner.Run({"QCLEAN", "emails", "waiting", "0", "COUNT", "1"}).is_error());
  EXPECT_EQ(runner.Run({"QCLEAN", "emails", "waiting"}), resp::Reply::Integer(2));
}

}  // namespace
}  // namespace herald::net
