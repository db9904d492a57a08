// `herald admin` against the real binary, with and without a password.
#include <gtest/gtest.h>

#include <signal.h>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace herald::testing {
namespace {

using namespace std::chrono_literals;

class AdminTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra = {}, const std::string& log_level = "warn") {
    std::vector<std::string> args = {HERALD_BINARY, "--data-dir",          dir_.Sub("data"),
                                     "--port",      std::to_string(port_), "--log-level",
                                     log_level};
    for (const char* flag : {"--workers", "--http-port"}) {
      if (std::find(extra.begin(), extra.end(), flag) == extra.end()) {
        extra.insert(extra.end(), {flag, "0"});
      }
    }
    args.insert(args.end(), extra.begin(), extra.end());
    herald_ = std::make_unique<ChildProcess>(args, dir_.Sub("herald.log"));
    ASSERT_TRUE(WaitForPort(port_, 20s)) << herald_->Output();
  }

  // `herald admin --connect ... <args>`: its standard output; *code its exit status.
  std::string Admin(const std::string& args, int* code = nullptr) {
    return RunCommand(std::string(HERALD_BINARY) +
                          " admin --connect 127.0.0.1:" + std::to_string(port_) + " " + args,
                      code);
  }

  std::string Cli(const std::string& args) { return RedisCli(port_, args); }

  TempDir dir_;
  int port_ = FreePort();
  int http_port_ = FreePort();
  std::unique_ptr<ChildProcess> herald_;
};

TEST_F(AdminTest, QueuesJobsShowAndTheActions) {
  Start();
  Cli("ADDJOB emails '{\"to\":\"jane@example.com\"}' JOBID mail-1 NAME booking-created");
  Cli("ADDJOB emails second JOBID mail-2");
  Cli("ADDJOB tickets t JOBID t-1 ATTEMPTS 1");
  // Taken and failed on one connection (a client's leases end with its connection).
  ASSERT_EQ(RunCommand("printf 'GETJOB NOHANG FROM tickets\\nNACK t-1 \"helpdesk down\"\\n' | "
                       "redis-cli -p " +
                       std::to_string(port_)),
            "tickets\nt-1\nt\n1\n1\n");

  int code = -1;
  const std::string queues = Admin("queues", &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(queues.rfind("QUEUE", 0), 0u) << queues;
  EXPECT_NE(queues.find("emails         2        0       0        0          0       no"),
            std::string::npos)
      << queues;

  auto parsed = boost::json::parse(Admin("--json queues"));
  ASSERT_TRUE(parsed.is_array());
  bool found = false;
  for (const auto& queue : parsed.as_array()) {
    if (queue.at("name") == "tickets") {
      found = true;
      EXPECT_EQ(queue.at("failed"), "1");
    }
  }
  EXPECT_TRUE(found);

  const std::string jobs = Admin("jobs emails waiting");
  EXPECT_NE(jobs.find("mail-1  booking-created  0/5"), std::string::npos) << jobs;
  EXPECT_NE(jobs.find("2 waiting job(s) of emails shown"), std::string::npos) << jobs;

  auto failed = boost::json::parse(Admin("--json show t-1"));
  EXPECT_EQ(failed.at("state"), "failed");
  EXPECT_EQ(failed.at("last-error"), "helpdesk down");
  ASSERT_TRUE(failed.at("history").is_array());
  EXPECT_EQ(failed.at("history").as_array().size(), 1u);
  EXPECT_NE(Admin("show mail-1").find("booking-created"), std::string::npos);

  EXPECT_EQ(Admin("retry tickets"), "retried: 1\n");
  EXPECT_NE(Cli("SHOW t-1").find("state\nwaiting"), std::string::npos);
  EXPECT_EQ(Admin("pause emails"), "paused: emails\n");
  EXPECT_NE(Cli("QSTAT emails").find("paused\n1"), std::string::npos);
  EXPECT_EQ(Admin("--json resume emails"), "{\"resumed\":\"emails\"}\n");
  ASSERT_EQ(RunCommand("printf 'GETJOB NOHANG FROM emails\\nACKJOB mail-1\\n' | redis-cli -p " +
                       std::to_string(port_)),
            "emails\nmail-1\n{\"to\":\"jane@example.com\"}\n1\n1\n");
  EXPECT_EQ(Admin("clean emails completed"), "removed: 1\n");

  const std::string stats = Admin("stats");
  EXPECT_NE(stats.find("jobs_waiting"), std::string::npos) << stats;
  EXPECT_NE(stats.find("fsync                     everysec"), std::string::npos) << stats;
}

TEST_F(AdminTest, ErrorsAreNamedAndExitNonZero) {
  Start({"--requirepass", "s3cret"});
  int code = 0;
  Admin("queues", &code);
  EXPECT_EQ(code, 1);  // NOAUTH from the server
  EXPECT_EQ(Admin("--password wrong queues", &code), "");
  EXPECT_EQ(code, 1);
  EXPECT_NE(Admin("--password s3cret queues", &code).find("emails"), std::string::npos);
  EXPECT_EQ(code, 0);
  Admin("--password s3cret show nope", &code);
  EXPECT_EQ(code, 1);
  Admin("--password s3cret frobnicate", &code);
  EXPECT_EQ(code, 2);
  Admin("--password s3cret clean emails sideways", &code);
  EXPECT_EQ(code, 1);
  const std::string refused =
      RunCommand("(" + std::string(HERALD_BINARY) +
                     " admin --connect 127.0.0.1:" + std::to_string(FreePort()) + " queues 2>&1)",
                 &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(refused.find("cannot reach"), std::string::npos) << refused;
}

TEST_F(AdminTest, JsonLogLinesAreOneObjectPerLine) {
  Start({"--log-format", "json"}, "info");
  ASSERT_TRUE(herald_->WaitForOutput("herald ready", 20s));
  herald_->Signal(SIGTERM);
  herald_->Wait(20s);
  const std::string log = herald_->Output();
  std::size_t lines = 0, components = 0;
  std::size_t start = 0;
  while (start < log.size()) {
    const std::size_t end = log.find('\n', start);
    const std::string line = log.substr(start, end - start);
    start = end == std::string::npos ? log.size() : end + 1;
    if (line.empty()) continue;
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    ASSERT_TRUE(value.is_object()) << line;
    EXPECT_TRUE(value.as_object().contains("time")) << line;
    EXPECT_TRUE(value.as_object().contains("level")) << line;
    EXPECT_TRUE(value.as_object().contains("message")) << line;
    components += value.as_object().contains("component");
    ++lines;
  }
  EXPECT_GE(lines, 5u);
  EXPECT_GE(components, 1u);
  EXPECT_NE(log.find("\"message\":\"herald ready\""), std::string::npos) << log;
}

TEST_F(AdminTest, AnUnknownLogFormatIsRefusedAtStart) {
  int code = 0;
  RunCommand(std::string(HERALD_BINARY) + " --log-format yaml --data-dir " + dir_.Sub("a"), &code);
  EXPECT_NE(code, 0);
  const std::string config =
      WriteFile(dir_.Sub("herald.toml"), "[server]\nlog_format = \"yaml\"\n");
  const std::string output = RunCommand("(" + std::string(HERALD_BINARY) + " --config " + config +
                                            " --data-dir " + dir_.Sub("b") + " 2>&1)",
                                        &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("log_format must be text or json, not 'yaml'"), std::string::npos)
      << output;
}

}  // namespace
}  // namespace herald::testing

namespace herald::testing {
namespace {

// retry --filter / --type: only the failed jobs that match are retried.
TEST_F(AdminTest, RetryOfTheFailedJobsThatMatchAFilter) {
  Start();
  const std::vector<std::pair<std::string, std::string>> jobs = {
      {"a", R"({"eventType":"booking.created","n":1})"},
      {"b", R"({"eventType":"payment.failed","n":2})"},
      {"c", R"({"eventType":"booking.created","n":3})"}};
  for (const auto& [id, payload] : jobs) {
    Cli("ADDJOB q '" + payload + "' JOBID " + id + " ATTEMPTS 1");
  }
  for (const auto& [id, reason] : std::vector<std::pair<std::string, std::string>>{
           {"a", "smtp timeout"}, {"b", "smtp timeout"}, {"c", "mailbox full"}}) {
    RunCommand("printf 'GETJOB NOHANG FROM q\\nNACK " + id + " \"" + reason +
               "\"\\n' | redis-cli -p " + std::to_string(port_));
  }
  ASSERT_NE(Cli("QSTAT q").find("failed\n3"), std::string::npos) << Cli("QSTAT q");
  EXPECT_EQ(Admin("retry q --filter timeout --type booking.created"),
            "retried: 1 of 1 matching failed job(s) of q\n");
  EXPECT_NE(Cli("SHOW a").find("state\nwaiting"), std::string::npos);
  EXPECT_NE(Cli("SHOW b").find("state\nfailed"), std::string::npos);
  EXPECT_NE(Cli("SHOW c").find("state\nfailed"), std::string::npos);
  EXPECT_EQ(Admin("--json retry q --filter full"), "{\"matched\":1,\"retried\":1}\n");
  EXPECT_NE(Cli("SHOW c").find("state\nwaiting"), std::string::npos);
  int code = 0;
  Admin("retry q b --filter x", &code);
  EXPECT_EQ(code, 2);
}

// A config reload (SIGHUP, and `herald reload`): policies, routes and templates change at
// once; a broken file is refused and the running configuration kept.
TEST_F(AdminTest, ReloadChangesPoliciesRoutesAndTemplatesAndRefusesABrokenFile) {
  const std::string config = dir_.Sub("herald.toml");
  WriteFile(config, R"(
[queues.emails]
attempts = 2
[templates."booking.created"]
email_subject = "Booking {{bookingId}} is in"
)");
  Start({"--config", config, "--workers", "1"}, "info");
  auto attempts = [&] {
    return RunCommand("redis-cli -p " + std::to_string(port_) +
                      " QSTAT emails | sed -n '/^attempts$/{n;p}'");
  };
  EXPECT_EQ(attempts(), "2\n");
  EXPECT_NE(Cli("EMIT '{\"eventType\":\"room.cleaned\",\"eventId\":\"e-0\",\"timestamp\":"
                "\"2026-01-01T10:00:00Z\",\"data\":{\"roomId\":\"r-1\"}}'")
                .find("unknown event type"),
            std::string::npos);

  WriteFile(config, R"(
[queues.emails]
attempts = 4
keep_completed = 10
[events."room.cleaned"]
queue = "tickets"
required = ["roomId"]
[templates."booking.created"]
email_subject = "Your booking {{bookingId}} is confirmed"
)");
  herald_->Signal(SIGHUP);
  std::string now;
  for (int i = 0; i < 100 && (now = attempts()) != "4\n"; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(now, "4\n");
  EXPECT_NE(Cli("QSTAT emails").find("keep-completed\n10"), std::string::npos);
  EXPECT_EQ(Cli("EMIT '{\"eventType\":\"room.cleaned\",\"eventId\":\"e-1\",\"timestamp\":"
                "\"2026-01-01T10:00:00Z\",\"data\":{\"roomId\":\"r-1\"}}'"),
            "e-1");
  Cli("EMIT '{\"eventType\":\"booking.created\",\"eventId\":\"b-1\",\"timestamp\":"
      "\"2026-01-01T10:00:00Z\",\"data\":{\"bookingId\":\"B42\",\"userId\":\"u-1\","
      "\"userEmail\":\"u1@example.com\"}}'");
  std::string mail;
  for (int i = 0; i < 200; ++i) {
    if (std::filesystem::exists(dir_.Sub("data/outbox/b-1.eml"))) {
      mail = ReadFile(dir_.Sub("data/outbox/b-1.eml"));
      if (!mail.empty()) break;
    }
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(mail.find("Subject: Your booking B42 is confirmed"), std::string::npos) << mail;

  // Broken: refused by `herald reload`, with the reason; nothing changes.
  WriteFile(config, "[queues.emails]\nattempts = 0\n");
  int code = -1;
  const std::string refused =
      RunCommand("(" + std::string(HERALD_BINARY) +
                     " reload --connect 127.0.0.1:" + std::to_string(port_) + " 2>&1)",
                 &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(refused.find("ERR reload: config:"), std::string::npos) << refused;
  EXPECT_EQ(attempts(), "4\n");
  WriteFile(config, "[queues.emails]\nattempts = 3\n");
  const std::string ok = RunCommand(
      std::string(HERALD_BINARY) + " reload --connect 127.0.0.1:" + std::to_string(port_), &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(ok.rfind("OK ", 0), 0u) << ok;
  EXPECT_EQ(attempts(), "3\n");
  EXPECT_TRUE(herald_->WaitForOutput("reload refused, the running configuration is kept", 5s));
}

// The password is never shown: not in the log, INFO, CLIENT LIST, errors, nor to an HTTP
// client without it.
TEST_F(AdminTest, ThePasswordAppearsInNoLogReplyOrError) {
  const std::string secret = "s3cret-Zq81";
  Start({"--requirepass", secret, "--http-port", std::to_string(http_port_)}, "debug");
  const std::string with = "-a " + secret + " --no-auth-warning ";
  std::string seen = Cli("AUTH wrong-one") + Cli(with + "INFO all") + Cli(with + "CLIENT LIST") +
                     Cli(with + "CONFIG SET requirepass") + Cli(with + "AUTH nope nope") +
                     Cli("PING") + Cli(with + "QPAUSE") + Cli(with + "HELLO 3 AUTH default x");
  seen += RunCommand("curl -s http://127.0.0.1:" + std::to_string(http_port_) + "/api/queues");
  seen += RunCommand("curl -s -u x:wrong http://127.0.0.1:" + std::to_string(http_port_) +
                     "/api/queues");
  EXPECT_NE(seen.find("WRONGPASS"), std::string::npos) << seen;
  EXPECT_NE(seen.find("NOAUTH"), std::string::npos) << seen;
  EXPECT_EQ(seen.find(secret), std::string::npos) << seen;
  herald_->Signal(SIGTERM);
  EXPECT_EQ(herald_->Wait(20s), 0);
  EXPECT_EQ(herald_->Output().find(secret), std::string::npos);
}

// Retention from the config file: the oldest completed jobs beyond the count go, QSTAT shows it.
TEST_F(AdminTest, RetentionFromTheConfigRemovesTheOldestFinishedJobs) {
  const std::string config = WriteFile(dir_.Sub("herald.toml"), R"(
[queues.kept]
attempts = 1
keep_completed = 2
keep_failed_age_ms = 3600000
)");
  Start({"--config", config});
  for (int i = 1; i <= 4; ++i) {
    Cli("ADDJOB kept x JOBID k-" + std::to_string(i));
    ASSERT_EQ(RunCommand("printf 'GETJOB NOHANG FROM kept\\nACKJOB k-" + std::to_string(i) +
                         "\\n' | redis-cli -p " + std::to_string(port_)),
              "kept\nk-" + std::to_string(i) + "\nx\n1\n1\n");
  }
  std::string completed;
  for (int i = 0; i < 100; ++i) {
    completed = Cli("QLEN kept");  // touch the server while the scheduler trims
    completed = RunCommand("redis-cli -p " + std::to_string(port_) +
                           " QSTAT kept | sed -n '/^completed$/{n;p}'");
    if (completed == "2\n") break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(completed, "2\n");
  EXPECT_EQ(Cli("SHOW k-1"), "");
  EXPECT_NE(Cli("SHOW k-4"), "");
  const std::string stat = Cli("QSTAT kept");
  EXPECT_NE(stat.find("keep-completed\n2\nkeep-completed-age-ms\n0\nkeep-failed\n0\n"
                      "keep-failed-age-ms\n3600000"),
            std::string::npos)
      << stat;
}

}  // namespace
}  // namespace herald::testing
