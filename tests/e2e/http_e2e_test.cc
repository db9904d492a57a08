// The real herald binary with --mock-events, driven over HTTP as the product brief's test flow
// does: fire mock events, watch their jobs complete, find the e-mail in the outbox, the
// delivery in the user's log, the ticket, the in-app notification; then the audit log and the
// per-minute history after a restart.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace herald::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string Str(const json::value& value) {
  return value.is_string() ? std::string(value.get_string()) : json::serialize(value);
}

class HttpE2eTest : public ::testing::Test {
 protected:
  void Start() {
    herald_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{HERALD_BINARY, "--data-dir", dir_.Sub("data"), "--port",
                                 std::to_string(port_), "--http-port", std::to_string(http_port_),
                                 "--mock-events", "--config",
                                 std::string(HERALD_SOURCE_DIR) + "/config/herald.toml"},
        dir_.Sub("out-" + std::to_string(++starts_) + ".log"));
    ASSERT_TRUE(herald_->WaitForOutput("herald ready", 30s)) << herald_->Output();
    client_ = std::make_unique<HttpClient>(static_cast<std::uint16_t>(http_port_));
  }
  void Stop() {
    client_.reset();
    herald_->Signal(SIGTERM);
    EXPECT_EQ(herald_->Wait(30s), 0) << herald_->Output();
  }

  // Polls GET /api/jobs/<id> until its state is `state` (10 s at most).
  json::value WaitForState(const std::string& id, const std::string& state) {
    json::value job;
    for (int i = 0; i < 1000; ++i) {
      job = client_->Get("/api/jobs/" + id).json();
      if (job.is_object() && job.as_object().contains("state") && Str(job.at("state")) == state) {
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    return job;
  }

  std::string Fire(const std::string& name, const std::string& body = "{}") {
    HttpAnswer answer = client_->Post("/mock-events/" + name, body);
    EXPECT_EQ(answer.status, 202u) << answer.body;
    EXPECT_EQ(answer.json().at("message"), "Event queued");
    return Str(answer.json().at("eventId"));
  }

  TempDir dir_;
  int port_ = FreePort();
  int http_port_ = FreePort();
  int starts_ = 0;
  std::unique_ptr<ChildProcess> herald_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(HttpE2eTest, MockEventsEndToEnd) {
  Start();
  std::string booking = Fire("booking-created");
  json::value job = WaitForState(booking, "completed");
  ASSERT_EQ(job.at("state"), "completed") << job;
  EXPECT_EQ(job.at("queue"), "emails");
  ASSERT_FALSE(job.at("history").as_array().empty());
  EXPECT_EQ(job.at("history").at(0).at("outcome"), "completed");
  EXPECT_EQ(Str(job.at("history").at(0).at("worker")).rfind("local:", 0), 0u);

  // The e-mail is in the outbox, addressed to the mock user.
  bool found = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.Sub("data") + "/outbox")) {
    std::ifstream file(entry.path());
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    found = found || (text.find("alex.martin@example.com") != std::string::npos &&
                      text.find("B-17") != std::string::npos);
  }
  EXPECT_TRUE(found) << "no e-mail to the mock user in the outbox";

  std::string reminder = Fire("booking-reminder");
  std::string payment = Fire("payment-failed", R"({"data":{"reason":"card expired"}})");
  ASSERT_EQ(WaitForState(reminder, "completed").at("state"), "completed");
  ASSERT_EQ(WaitForState(payment, "completed").at("state"), "completed");

  json::value user = client_->Get("/api/users/user_1001").json();
  bool delivered = false;
  for (const json::value& delivery : user.at("deliveries").as_array()) {
    delivered = delivered || (Str(delivery.at("eventId")) == booking &&
                              delivery.at("channel") == "email" && delivery.at("status") == "sent");
  }
  EXPECT_TRUE(delivered) << user;
  bool notified = false;
  for (const json::value& entry : user.at("inbox").as_array()) {
    notified = notified || Str(entry.at("eventId")) == reminder;
  }
  EXPECT_TRUE(notified) << user;
  EXPECT_GE(user.at("jobs").as_array().size(), 3u);

  json::value tickets = client_->Get("/api/tickets").json();
  ASSERT_FALSE(tickets.at("tickets").as_array().empty()) << tickets;
  EXPECT_EQ(Str(tickets.at("tickets").at(0).at("eventId")), payment);
  EXPECT_EQ(tickets.at("tickets").at(0).at("reason"), "card expired");
  EXPECT_EQ(tickets.at("tickets").at(0).at("amount"), "18.5");

  HttpAnswer prefs =
      client_->Request("PUT", "/api/users/user_1001/preferences", R"({"email":false})");
  EXPECT_EQ(prefs.status, 200u) << prefs.body;
  EXPECT_EQ(prefs.json().at("preferences").at("email"), false);
  EXPECT_EQ(client_->Request("PUT", "/api/users/user_1001/preferences", R"({"fax":true})").status,
            400u);

  HttpAnswer device = client_->Request("PUT", "/api/users/user_1001/devices",
                                       R"({"token":"fcm:abc-1","platform":"ios"})");
  EXPECT_EQ(device.status, 201u) << device.body;
  EXPECT_EQ(device.json().at("devices").at(0).at("token"), "fcm:abc-1");
  EXPECT_EQ(device.json().at("devices").at(0).at("platform"), "ios");
  EXPECT_EQ(
      client_->Request("PUT", "/api/users/user_1001/devices", R"({"token":"fcm:abc-1"})").status,
      200u);
  HttpAnswer bad = client_->Request("PUT", "/api/users/user_1001/devices", R"({"tok":"x"})");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("unknown field 'tok'"), std::string::npos) << bad.body;
  EXPECT_EQ(client_->Request("PUT", "/api/users/user_1001/devices", R"({"platform":"ios"})").status,
            400u);
  EXPECT_EQ(client_->Get("/api/users/user_1001").json().at("devices").at(0).at("token"),
            "fcm:abc-1");
  EXPECT_EQ(client_->Request("DELETE", "/api/users/user_1001/devices/fcm%3Aabc-1", "").status,
            200u);
  EXPECT_EQ(client_->Request("DELETE", "/api/users/user_1001/devices/fcm%3Aabc-1", "").status,
            404u);
  EXPECT_TRUE(client_->Get("/api/users/user_1001").json().at("devices").as_array().empty());

  std::string metrics = client_->Get("/metrics").body;
  EXPECT_NE(metrics.find("bullmq_job_completed_total{queue=\"emails\"} 1\n"), std::string::npos)
      << metrics;
  EXPECT_EQ(client_->Get("/queues").status, 200u);
}

// A job nothing recorded yet (its queue paused: no handler ran) is on its user's page all the
// same, found by the user its event names; another user's page does not show it.
TEST_F(HttpE2eTest, AUsersPageShowsTheirJobsBeforeAnyHandlerRan) {
  Start();
  ASSERT_EQ(client_->Post("/api/queues/emails/pause").status, 200u);
  std::string waiting = Fire("booking-created", R"({"data":{"userId":"user_2002"}})");
  std::string other = Fire("booking-created", R"({"data":{"userId":"user_20"}})");
  json::value user = client_->Get("/api/users/user_2002").json();
  ASSERT_TRUE(user.is_object()) << user;
  EXPECT_TRUE(user.at("deliveries").as_array().empty()) << user;
  ASSERT_EQ(user.at("jobs").as_array().size(), 1u) << user;
  EXPECT_EQ(Str(user.at("jobs").at(0).at("id")), waiting);
  EXPECT_EQ(user.at("jobs").at(0).at("state"), "waiting");
  json::value nobody = client_->Get("/api/users/user_3003").json();
  EXPECT_TRUE(nobody.at("jobs").as_array().empty()) << nobody;

  // Once it ran, it is listed once: from its delivery record.
  ASSERT_EQ(client_->Post("/api/queues/emails/resume").status, 200u);
  ASSERT_EQ(WaitForState(waiting, "completed").at("state"), "completed");
  ASSERT_EQ(WaitForState(other, "completed").at("state"), "completed");
  user = client_->Get("/api/users/user_2002").json();
  ASSERT_EQ(user.at("jobs").as_array().size(), 1u) << user;
  EXPECT_EQ(user.at("jobs").at(0).at("state"), "completed");
  EXPECT_EQ(user.at("deliveries").as_array().size(), 1u) << user;
}

TEST_F(HttpE2eTest, AuditAndHistorySurviveARestart) {
  Start();
  std::string booking = Fire("booking-confirmed");
  ASSERT_EQ(WaitForState(booking, "completed").at("state"), "completed");
  ASSERT_EQ(client_->Post("/api/queues/tickets/pause").status, 200u);
  ASSERT_EQ(client_->Post("/api/queues/tickets/resume").status, 200u);
  Stop();
  Start();
  json::value audit = client_->Get("/api/audit").json();
  ASSERT_GE(audit.at("entries").as_array().size(), 2u) << audit;
  EXPECT_EQ(audit.at("entries").at(0).at("action"), "resume");
  EXPECT_EQ(audit.at("entries").at(1).at("action"), "pause");
  EXPECT_EQ(audit.at("entries").at(1).at("target"), "tickets");
  EXPECT_EQ(Str(audit.at("entries").at(0).at("client")).rfind("http 127.0.0.1:", 0), 0u);

  json::value history = client_->Get("/api/stats/history?minutes=10").json();
  std::uint64_t completed = 0;
  for (const json::value& minute : history.at("minutes").as_array()) {
    if (minute.at("queue") == "emails")
      completed += minute.at("completed").to_number<std::uint64_t>();
  }
  EXPECT_EQ(completed, 1u) << history;
  Stop();
}

}  // namespace
}  // namespace herald::testing
