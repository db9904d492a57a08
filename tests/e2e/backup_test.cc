// `herald backup` and `herald restore` against the real binary: a backup taken while a producer
// keeps writing holds every job acknowledged before it started, with its state and attempts,
// and a Herald started on the restored directory serves them.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/client/client.h"
#include "tests/support/process.h"
#include "tests/support/show_reply.h"
#include "tests/support/temp_dir.h"

namespace herald::testing {
namespace {

using namespace std::chrono_literals;
using client::Client;

class BackupTest : public ::testing::Test {
 protected:
  std::unique_ptr<ChildProcess> Start(const std::string& data, int port,
                                      std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        HERALD_BINARY, "--data-dir", data,      "--port", std::to_string(port),
        "--workers",   "0",          "--fsync", "always", "--log-level",
        "warn"};
    if (std::find(extra.begin(), extra.end(), "--http-port") == extra.end()) {
      extra.insert(extra.end(), {"--http-port", "0"});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = std::make_unique<ChildProcess>(args, data + ".log");
    EXPECT_TRUE(WaitForPort(port, 20s)) << process->Output();
    return process;
  }

  static std::unique_ptr<Client> Connect(int port) {
    auto client = Client::Connect("127.0.0.1", static_cast<std::uint16_t>(port), 10s);
    EXPECT_TRUE(client.ok()) << client.status().message();
    return std::move(client).value();
  }

  static resp::Reply Call(Client& client, const std::vector<std::string>& args) {
    auto reply = client.Command(args);
    EXPECT_TRUE(reply.ok()) << reply.status().message();
    return reply.ok() ? std::move(reply).value() : resp::Reply{};
  }

  std::string Tool(const std::string& args, int* code) {
    return RunCommand(
        "(" + std::string(HERALD_BINARY) + " " + args + " 2>" + dir_.Sub("tool.err") + ")", code);
  }
  std::string ToolErrors() { return ReadFile(dir_.Sub("tool.err")); }

  TempDir dir_;
};

TEST_F(BackupTest, ABackupDuringWritesHoldsEveryAcknowledgedJobWithItsStateAndAttempts) {
  const int port = FreePort();
  auto herald = Start(dir_.Sub("data"), port);
  auto setup = Connect(port);
  // One job in each state, some with attempts made.
  Call(*setup, {"ADDJOB", "emails", "waiting one", "JOBID", "w-1"});
  Call(*setup, {"ADDJOB", "emails", "later", "JOBID", "d-1", "DELAY", "3600000"});
  Call(*setup, {"ADDJOB", "tickets", "done", "JOBID", "c-1"});
  Call(*setup, {"ADDJOB", "tickets", "broken", "JOBID", "f-1", "ATTEMPTS", "1"});
  Call(*setup, {"ADDJOB", "notifications", "again", "JOBID", "r-1", "ATTEMPTS", "3", "BACKOFF",
                "fixed", "3600000"});
  Call(*setup, {"ADDJOB", "notifications", "held", "JOBID", "a-1", "ATTEMPTS", "3"});
  ASSERT_EQ(Call(*setup, {"GETJOB", "NOHANG", "FROM", "tickets"}).elements.size(), 1u);
  EXPECT_EQ(Call(*setup, {"ACKJOB", "c-1"}).integer, 1);
  ASSERT_EQ(Call(*setup, {"GETJOB", "NOHANG", "FROM", "tickets"}).elements.size(), 1u);
  Call(*setup, {"NACK", "f-1", "helpdesk down"});
  ASSERT_EQ(Call(*setup, {"GETJOB", "NOHANG", "FROM", "notifications"}).elements.size(), 1u);
  Call(*setup, {"NACK", "r-1", "push gateway down"});
  // a-1 stays active on this connection through the backup.
  ASSERT_EQ(Call(*setup, {"GETJOB", "NOHANG", "LEASE", "600000", "FROM", "notifications"})
                .elements.size(),
            1u);

  // A producer pipelines adds until told to stop; what it saw acknowledged is recorded.
  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::thread producer([&] {
    auto client = Connect(port);
    for (int batch = 0; !stop.load(); ++batch) {
      std::vector<std::string> ids;
      for (int i = 0; i < 20; ++i) {
        ids.push_back("load-" + std::to_string(batch) + "-" + std::to_string(i));
        client->Append({"ADDJOB", "load", std::string(300, 'x'), "JOBID", ids.back()});
      }
      auto replies = client->ReadReplies(ids.size());
      if (!replies.ok()) return;
      std::lock_guard lock(mu);
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if ((*replies)[i].str == ids[i]) acknowledged.push_back(ids[i]);
      }
    }
  });
  auto count = [&] {
    std::lock_guard lock(mu);
    return acknowledged.size();
  };
  for (int i = 0; i < 400 && count() < 500; ++i) std::this_thread::sleep_for(10ms);
  std::vector<std::string> before;
  {
    std::lock_guard lock(mu);
    before = acknowledged;
  }
  ASSERT_GE(before.size(), 500u);

  int code = -1;
  const std::string backup = dir_.Sub("backup");
  const std::string summary =
      Tool("backup --connect 127.0.0.1:" + std::to_string(port) + " " + backup, &code);
  const std::size_t during = count();
  stop = true;
  producer.join();
  ASSERT_EQ(code, 0) << ToolErrors();
  EXPECT_GT(during, before.size()) << "the producer was not served during the backup";
  EXPECT_NE(summary.find("QUEUE"), std::string::npos) << summary;
  EXPECT_NE(summary.find("backup: "), std::string::npos) << summary;
  EXPECT_NE(summary.find("1 jobs were active"), std::string::npos) << summary;
  EXPECT_NE(ToolErrors().find("(100%)"), std::string::npos) << ToolErrors();

  auto manifest = boost::json::parse(ReadFile(backup + "/manifest.json")).as_object();
  EXPECT_EQ(manifest.at("version"), 1);
  EXPECT_EQ(manifest.at("format"), "herald-backup");
  EXPECT_EQ(manifest.at("active_at_backup"), 1);
  for (const auto& queue : manifest.at("queues").as_array()) {
    if (queue.at("name") == "load") {
      EXPECT_GE(queue.at("waiting").to_number<std::uint64_t>(), before.size());
    }
  }
  // Nothing staged is left on the server once the backup is read.
  EXPECT_TRUE(std::filesystem::is_empty(dir_.Sub("data") + "/backup-staging") ||
              !std::filesystem::exists(dir_.Sub("data") + "/backup-staging"));

  const std::string restored = dir_.Sub("restored");
  const std::string report = Tool("restore " + backup + " --data-dir " + restored, &code);
  ASSERT_EQ(code, 0) << ToolErrors();
  EXPECT_NE(report.find("checksums and counts match"), std::string::npos) << report;

  const int port2 = FreePort();
  auto second = Start(restored, port2);
  auto client = Connect(port2);
  for (const std::string& id : before) {
    client->Append({"SHOW", id});
  }
  auto shows = client->ReadReplies(before.size());
  ASSERT_TRUE(shows.ok()) << shows.status().message();
  for (std::size_t i = 0; i < before.size(); ++i) {
    ASSERT_EQ(ShowField((*shows)[i], "state"), "waiting") << before[i];
  }
  auto show = [&](const std::string& id) { return Call(*client, {"SHOW", id}); };
  EXPECT_EQ(ShowField(show("w-1"), "state"), "waiting");
  EXPECT_EQ(ShowField(show("d-1"), "state"), "delayed");
  EXPECT_EQ(ShowField(show("c-1"), "state"), "completed");
  EXPECT_EQ(ShowField(show("f-1"), "state"), "failed");
  EXPECT_EQ(ShowField(show("f-1"), "last-error"), "helpdesk down");
  EXPECT_EQ(ShowField(show("f-1"), "attempts-made"), "1");
  EXPECT_EQ(ShowField(show("r-1"), "state"), "delayed");
  EXPECT_EQ(ShowField(show("r-1"), "attempts-made"), "1");
  // Active at the backup: waiting in the copy, its attempt counted.
  EXPECT_EQ(ShowField(show("a-1"), "state"), "waiting");
  EXPECT_EQ(ShowField(show("a-1"), "attempts-made"), "1");
  // The restored Herald serves them.
  auto taken = Call(*client, {"GETJOB", "NOHANG", "FROM", "emails"});
  ASSERT_EQ(taken.elements.size(), 1u);
  EXPECT_EQ(taken.elements[0].elements[1].str, "w-1");
  second->Signal(SIGTERM);
  EXPECT_EQ(second->Wait(20s), 0);

  // A restore over a store refuses unless told to empty it first.
  Tool("restore " + backup + " --data-dir " + restored, &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(ToolErrors().find("is not empty; refusing to overwrite it"), std::string::npos)
      << ToolErrors();
  Tool("restore " + backup + " --data-dir " + restored + " --force", &code);
  EXPECT_EQ(code, 0) << ToolErrors();
  herald->Signal(SIGTERM);
  EXPECT_EQ(herald->Wait(20s), 0);
}

TEST_F(BackupTest, OnTheServerOverHttpAndTheRefusals) {
  const int port = FreePort();
  const int http_port = FreePort();
  auto herald = Start(dir_.Sub("data"), port,
                      {"--http-port", std::to_string(http_port), "--requirepass", "s3cret"});
  auto client = Connect(port);
  Call(*client, {"AUTH", "s3cret"});
  Call(*client, {"ADDJOB", "emails", "hello", "JOBID", "m-1"});

  int code = -1;
  // The password is required, and given.
  Tool("backup --connect 127.0.0.1:" + std::to_string(port) + " " + dir_.Sub("nopass"), &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(ToolErrors().find("NOAUTH"), std::string::npos) << ToolErrors();
  const std::string on_server = dir_.Sub("on-server");
  const std::string summary = Tool("backup --connect 127.0.0.1:" + std::to_string(port) +
                                       " --password s3cret --on-server " + on_server,
                                   &code);
  ASSERT_EQ(code, 0) << ToolErrors();
  EXPECT_NE(summary.find("emails"), std::string::npos) << summary;
  EXPECT_TRUE(std::filesystem::exists(on_server + "/manifest.json"));
  EXPECT_TRUE(std::filesystem::exists(on_server + "/db/CURRENT"));

  // Into a directory that is not empty: refused, naming it.
  auto again = Call(*client, {"BACKUP", "SAVE", on_server});
  EXPECT_TRUE(again.is_error());
  EXPECT_NE(again.str.find("is not empty"), std::string::npos) << again.str;
  auto bad_token = Call(*client, {"BACKUP", "READ", "nope", "CURRENT", "0"});
  EXPECT_EQ(bad_token.str, "ERR no backup is staged with that token");
  auto bad_offset = Call(*client, {"BACKUP", "READ", "nope", "CURRENT", "-1"});
  EXPECT_EQ(bad_offset.str, "ERR BACKUP READ offset is not a non-negative integer");
  // A staged backup reads only its own files.
  auto staged = Call(*client, {"BACKUP", "START"});
  ASSERT_EQ(staged.elements.size(), 2u);
  const std::string token = staged.elements[0].str;
  auto outside = Call(*client, {"BACKUP", "READ", token, "../CURRENT", "0"});
  EXPECT_EQ(outside.str, "ERR the backup has no file '../CURRENT'");
  auto current = Call(*client, {"BACKUP", "READ", token, "CURRENT", "0"});
  EXPECT_EQ(current.str.rfind("MANIFEST-", 0), 0u) << current.str;
  EXPECT_EQ(Call(*client, {"BACKUP", "READ", token, "CURRENT", "1000000"}).str, "");
  EXPECT_EQ(Call(*client, {"BACKUP", "END", token}).str, "OK");
  EXPECT_TRUE(Call(*client, {"BACKUP", "END", token}).is_error());

  // POST /api/backup writes on the server and answers the manifest.
  const std::string url = "http://127.0.0.1:" + std::to_string(http_port) + "/api/backup";
  const std::string over_http = dir_.Sub("over-http");
  const std::string answer =
      RunCommand("curl -s -u admin:s3cret -X POST -d '{\"dir\":\"" + over_http + "\"}' " + url);
  auto parsed = boost::json::parse(answer).as_object();
  EXPECT_EQ(parsed.at("jobs"), 1) << answer;
  const std::string missing =
      RunCommand("curl -s -u admin:s3cret -X POST -d '{}' -w ' %{http_code}' " + url);
  EXPECT_NE(missing.find("dir is required"), std::string::npos) << missing;
  EXPECT_NE(missing.find(" 400"), std::string::npos) << missing;

  const std::string restored = dir_.Sub("restored");
  Tool("restore " + over_http + " --data-dir " + restored, &code);
  EXPECT_EQ(code, 0) << ToolErrors();
  herald->Signal(SIGTERM);
  EXPECT_EQ(herald->Wait(20s), 0);
}

TEST_F(BackupTest, RestoreRefusesAnIncompleteOrDamagedBackup) {
  const int port = FreePort();
  auto herald = Start(dir_.Sub("data"), port);
  auto client = Connect(port);
  Call(*client, {"ADDJOB", "emails", "hello", "JOBID", "m-1"});
  const std::string backup = dir_.Sub("backup");
  int code = -1;
  Tool("backup --connect 127.0.0.1:" + std::to_string(port) + " " + backup, &code);
  ASSERT_EQ(code, 0) << ToolErrors();
  herald->Signal(SIGTERM);
  EXPECT_EQ(herald->Wait(20s), 0);

  // Into a directory that is not empty, the backup tool refuses before asking the server.
  Tool("backup --connect 127.0.0.1:" + std::to_string(port) + " " + backup, &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(ToolErrors().find("is not empty"), std::string::npos) << ToolErrors();

  // A file cut short.
  std::string sst;
  for (const auto& entry : std::filesystem::directory_iterator(backup + "/db")) {
    if (entry.path().extension() == ".sst") sst = entry.path().string();
  }
  ASSERT_FALSE(sst.empty());
  const auto size = std::filesystem::file_size(sst);
  std::filesystem::resize_file(sst, size - 1);
  Tool("restore " + backup + " --data-dir " + dir_.Sub("r1"), &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(ToolErrors().find("bytes, the manifest says"), std::string::npos) << ToolErrors();

  // No manifest: not a backup (or one that did not finish).
  std::filesystem::remove(backup + "/manifest.json");
  Tool("restore " + backup + " --data-dir " + dir_.Sub("r2"), &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(ToolErrors().find("not a backup, or one that did not finish"), std::string::npos)
      << ToolErrors();
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("r2")));
}

TEST_F(BackupTest, CheckReadsAStoppedStoreAndRefusesARunningOne) {
  const int port = FreePort();
  auto herald = Start(dir_.Sub("data"), port);
  auto client = Connect(port);
  Call(*client, {"ADDJOB", "emails", "hello", "JOBID", "m-1"});
  int code = -1;
  Tool("check --data-dir " + dir_.Sub("data"), &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(ToolErrors().find("is a Herald running on it?"), std::string::npos) << ToolErrors();
  herald->Signal(SIGTERM);
  EXPECT_EQ(herald->Wait(20s), 0);
  const std::string report = Tool("check --data-dir " + dir_.Sub("data"), &code);
  EXPECT_EQ(code, 0) << report << ToolErrors();
  EXPECT_NE(report.find("emails         1        0       0        0          0       no"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("check: 1 job records, 0 problem(s)"), std::string::npos) << report;
  Tool("check --data-dir " + dir_.Sub("nothing"), &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(ToolErrors().find("no store in"), std::string::npos) << ToolErrors();
}

}  // namespace
}  // namespace herald::testing
