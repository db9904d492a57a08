// `herald export` and `herald import` between two running Heralds (the real binary): every
// job comes across with its state, attempts, history, name and payload, records with
// --records; importing twice changes nothing; the filters choose what is exported.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/client/client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace herald::testing {
namespace {

using namespace std::chrono_literals;
using client::Client;

// The SHOW reply without the fields a move between stores may change (none today but the
// order of the fields, which is fixed), as text for comparison.
std::string ShowText(const resp::Reply& show) { return show.ToString(); }

class ExportTest : public ::testing::Test {
 protected:
  std::unique_ptr<ChildProcess> Start(const std::string& name, int port) {
    auto process = std::make_unique<ChildProcess>(
        std::vector<std::string>{HERALD_BINARY, "--data-dir", dir_.Sub(name), "--port",
                                 std::to_string(port), "--workers", "0", "--http-port", "0",
                                 "--requirepass", "pw", "--log-level", "warn"},
        dir_.Sub(name + ".log"));
    EXPECT_TRUE(WaitForPort(port, 20s)) << process->Output();
    return process;
  }

  static std::unique_ptr<Client> Connect(int port) {
    auto client = Client::Connect("127.0.0.1", static_cast<std::uint16_t>(port), 10s);
    EXPECT_TRUE(client.ok());
    auto auth = (*client)->Auth("pw");
    EXPECT_TRUE(auth.ok() && !auth->is_error());
    return std::move(client).value();
  }

  static resp::Reply Call(Client& client, const std::vector<std::string>& args) {
    auto reply = client.Command(args);
    EXPECT_TRUE(reply.ok()) << reply.status().message();
    return reply.ok() ? std::move(reply).value() : resp::Reply{};
  }

  // `herald <args>` with --connect and --password for `port`; stdout into `out_file` when set.
  std::string Tool(const std::string& verb, int port, const std::string& args, int* code,
                   const std::string& out_file = "") {
    std::string command = "(" + std::string(HERALD_BINARY) + " " + verb +
                          " --connect 127.0.0.1:" + std::to_string(port) + " --password pw " +
                          args + " 2>" + dir_.Sub("tool.err");
    if (!out_file.empty()) command += " >" + out_file;
    command += ")";
    return RunCommand(command, code);
  }
  std::string ToolErrors() { return ReadFile(dir_.Sub("tool.err")); }

  TempDir dir_;
};

TEST_F(ExportTest, JobsAndRecordsMoveToAnotherHeraldWithTheirHistory) {
  const int port_a = FreePort();
  auto a = Start("a", port_a);
  auto client_a = Connect(port_a);
  Call(*client_a, {"ADDJOB", "emails", R"({"to":"jane@example.com"})", "JOBID", "mail-1", "NAME",
                   "booking-created", "PRIORITY", "2"});
  Call(*client_a, {"ADDJOB", "emails", std::string("\xff\x00\x01 binary", 10), "JOBID", "bin-1"});
  Call(*client_a, {"ADDJOB", "emails", "later", "JOBID", "d-1", "DELAY", "3600000"});
  Call(*client_a,
       {"ADDJOB", "tickets", "x", "JOBID", "f-1", "ATTEMPTS", "2", "BACKOFF", "fixed", "1"});
  Call(*client_a, {"ADDJOB", "tickets", "y", "JOBID", "c-1"});
  const std::string generated = Call(*client_a, {"ADDJOB", "tickets", "z"}).str;
  // f-1 fails twice (with a retry between), c-1 completes with a result.
  ASSERT_EQ(Call(*client_a, {"GETJOB", "NOHANG", "FROM", "tickets"}).elements.size(), 1u);
  Call(*client_a, {"NACK", "f-1", "first failure"});
  std::this_thread::sleep_for(50ms);  // the 1 ms backoff passes (real server, real clock)
  for (int i = 0; i < 100; ++i) {
    auto taken = Call(*client_a, {"GETJOB", "NOHANG", "FROM", "tickets"});
    if (taken.elements.empty()) {
      std::this_thread::sleep_for(20ms);
      continue;
    }
    const std::string id = taken.elements[0].elements[1].str;
    if (id == "f-1") {
      Call(*client_a, {"NACK", "f-1", "second failure"});
      break;
    }
    Call(*client_a, {"ACKJOB", id, "RESULT", "done " + id});
  }
  for (int i = 0; i < 5; ++i) {
    auto taken = Call(*client_a, {"GETJOB", "NOHANG", "FROM", "tickets"});
    if (taken.elements.empty()) break;
    const std::string id = taken.elements[0].elements[1].str;
    Call(*client_a, {"ACKJOB", id, "RESULT", "done " + id});
  }
  ASSERT_EQ(Call(*client_a, {"PREFS.SET", "u-1", "email", "off"}).str, "OK");
  ASSERT_EQ(Call(*client_a, {"DEVICES.ADD", "u-1", "token-abc", "android"}).integer, 1);

  const std::vector<std::string> ids = {"mail-1", "bin-1", "d-1", "f-1", "c-1", generated};
  std::vector<std::string> before;
  for (const std::string& id : ids) before.push_back(ShowText(Call(*client_a, {"SHOW", id})));
  ASSERT_NE(before[3].find("second failure"), std::string::npos) << before[3];

  int code = -1;
  const std::string file = dir_.Sub("export.jsonl");
  Tool("export", port_a, "--records", &code, file);
  ASSERT_EQ(code, 0) << ToolErrors();
  EXPECT_NE(ToolErrors().find("export: 6 jobs, 2 records"), std::string::npos) << ToolErrors();
  std::istringstream lines(ReadFile(file));
  std::string first;
  std::getline(lines, first);
  auto header = boost::json::parse(first).as_object();
  EXPECT_EQ(header.at("type"), "header");
  EXPECT_EQ(header.at("format"), "herald-export");
  EXPECT_EQ(header.at("version"), 1);

  const int port_b = FreePort();
  auto b = Start("b", port_b);
  Tool("import", port_b, file, &code);
  ASSERT_EQ(code, 0) << ToolErrors();
  EXPECT_NE(ToolErrors().find("import: 8 imported, 0 already there, 0 refused"), std::string::npos)
      << ToolErrors();
  auto client_b = Connect(port_b);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(ShowText(Call(*client_b, {"SHOW", ids[i]})), before[i]) << ids[i];
  }
  EXPECT_EQ(Call(*client_b, {"PREFS.GET", "u-1"}).ToString(),
            Call(*client_a, {"PREFS.GET", "u-1"}).ToString());
  EXPECT_EQ(Call(*client_b, {"DEVICES.LIST", "u-1"}).ToString(),
            Call(*client_a, {"DEVICES.LIST", "u-1"}).ToString());
  // The generated id came across; B's own ids continue above it.
  const std::string next = Call(*client_b, {"ADDJOB", "tickets", "new"}).str;
  EXPECT_GT(std::stoull(next), std::stoull(generated));

  // Again: nothing changes.
  Tool("import", port_b, file, &code);
  EXPECT_EQ(code, 0) << ToolErrors();
  EXPECT_NE(ToolErrors().find("import: 0 imported, 8 already there, 0 refused"), std::string::npos)
      << ToolErrors();
  EXPECT_EQ(ShowText(Call(*client_b, {"SHOW", "f-1"})), before[3]);

  // Filters: one queue, one state; a future --since leaves nothing.
  const std::string failed = Tool("export", port_a, "--queue tickets --state failed", &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(std::count(failed.begin(), failed.end(), '\n'), 2) << failed;
  EXPECT_NE(failed.find("\"id\":\"f-1\""), std::string::npos) << failed;
  const std::string none = Tool("export", port_a, "--since 2999-01-01T00:00:00Z", &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(std::count(none.begin(), none.end(), '\n'), 1) << none;
  Tool("export", port_a, "--state sleeping", &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(ToolErrors().find("--state 'sleeping' is not a state"), std::string::npos);
}

TEST_F(ExportTest, BadLinesAreReportedWithTheirNumbersAndTheRestIsImported) {
  const int port = FreePort();
  auto herald = Start("a", port);
  const std::string file = WriteFile(
      dir_.Sub("bad.jsonl"),
      R"({"type":"header","format":"herald-export","version":1,"herald_version":"0.1.0","created_ms":1})"
      "\n"
      R"({"type":"job","queue":"emails","id":"ok-1","state":"waiting","payload":"hi"})"
      "\n"
      "not json\n"
      R"({"type":"job","queue":"emails","id":"bad-1","state":"sleeping","payload":"hi"})"
      "\n"
      R"({"type":"job","queue":"emails","id":"bad-2","state":"waiting"})"
      "\n"
      R"({"type":"record","table":"secrets","key_base64":"YQ==","value_base64":"YQ=="})"
      "\n");
  int code = -1;
  Tool("import", port, file, &code);
  EXPECT_EQ(code, 1);
  const std::string errors = ToolErrors();
  EXPECT_NE(errors.find("line 3: ERR IMPORT: not a JSON object"), std::string::npos) << errors;
  EXPECT_NE(errors.find("line 4: ERR IMPORT: unknown job state 'sleeping'"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("line 5: ERR IMPORT: 'payload' is missing"), std::string::npos) << errors;
  EXPECT_NE(errors.find("line 6: ERR IMPORT: unknown record table 'secrets'"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("import: 1 imported, 0 already there, 4 refused"), std::string::npos)
      << errors;
  auto client = Connect(port);
  EXPECT_EQ(Call(*client, {"QLEN", "emails"}).integer, 1);

  // Not an export at all.
  const std::string other = WriteFile(dir_.Sub("other.jsonl"), "{\"type\":\"job\"}\n");
  Tool("import", port, other, &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(ToolErrors().find("line 1: not a herald export"), std::string::npos) << ToolErrors();
}

}  // namespace
}  // namespace herald::testing
