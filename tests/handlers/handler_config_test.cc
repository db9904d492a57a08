#include "handlers/handler_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "handlers/email_handler.h"
#include "handlers/fault_injection.h"
#include "handlers/push_handler.h"
#include "handlers/registry.h"
#include "handlers/ticket_handler.h"
#include "tests/handlers/fake_fcm.h"
#include "tests/handlers/handler_fixture.h"
#include "tests/support/temp_dir.h"

namespace herald::handlers {
namespace {

TEST(HandlersConfigTest, DefaultsWorkOffline) {
  HandlersConfig config;
  EXPECT_TRUE(config.smtp.host.empty());
  EXPECT_EQ(config.OutboxDir(), "./data/outbox");
  EXPECT_TRUE(config.push.url.empty());
  EXPECT_EQ(config.queues.at("emails"), "email");
  EXPECT_EQ(config.queues.at("notifications"), "push");
  EXPECT_EQ(config.queues.at("tickets"), "ticket");
  EXPECT_TRUE(ValidateHandlersConfig(config).ok());
}

TEST(HandlersConfigTest, ReadsEveryKey) {
  HandlersConfig config;
  Status status = LoadHandlersConfigText(R"(
[server]
data_dir = "/var/lib/herald"

[handlers]
templates_dir = ""
queues = { mail = "email" }

[handlers.smtp]
host = "relay.local"
port = 2525
from = "Parking <noreply@parking.example>"
helo = "parking.example"
timeout_ms = 3000

[handlers.push]
webhook_url = "http://127.0.0.1:9000/push"
timeout_ms = 1500

[handlers.tickets]
helpdesk_url = "http://127.0.0.1:9000/tickets"
timeout_ms = 2500

[handlers.faults.emails]
fail_first = 2
fail_rate = 0.1
seed = 42

[templates."booking.created"]
email_subject = "Reserved: {{bookingId}}"
)",
                                         "test.toml", &config);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(config.OutboxDir(), "/var/lib/herald/outbox");
  EXPECT_EQ(config.queues.at("mail"), "email");
  EXPECT_EQ(config.smtp.host, "relay.local");
  EXPECT_EQ(config.smtp.port, 2525);
  EXPECT_EQ(config.smtp.from, "Parking <noreply@parking.example>");
  EXPECT_EQ(config.smtp.helo_name, "parking.example");
  EXPECT_EQ(config.smtp.timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(config.push.url, "http://127.0.0.1:9000/push");
  EXPECT_EQ(config.push.timeout_ms, 1500);
  EXPECT_EQ(config.helpdesk.url, "http://127.0.0.1:9000/tickets");
  EXPECT_EQ(config.helpdesk.timeout_ms, 2500);
  EXPECT_EQ(config.faults.at("emails").fail_first, 2u);
  EXPECT_DOUBLE_EQ(config.faults.at("emails").fail_rate, 0.1);
  EXPECT_EQ(config.faults.at("emails").seed, 42u);
  EXPECT_EQ(config.templates.at("booking.created").at("email_subject"), "Reserved: {{bookingId}}");
}

TEST(HandlersConfigTest, TheSampleConfigFileLoads) {
  HandlersConfig config;
  Status status =
      LoadHandlersConfig(std::string(HERALD_SOURCE_DIR) + "/config/herald.toml", &config);
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TEST(HandlersConfigTest, ReadsProviderSettingsAndSecretsFromEnvAndFiles) {
  testing::TempDir dir;
  const std::string key_file = dir.Sub("helpdesk.secret");
  {
    std::ofstream out(key_file);
    out << "file-secret\n";
  }
  ::setenv("HERALD_TEST_SMTP_PASSWORD", "env-password", 1);
  ::setenv("HERALD_TEST_PUSH_TOKEN", "Bearer env-token", 1);
  const std::string toml = R"(
[handlers.smtp]
host = "smtp.example.com"
port = 465
tls = "implicit"
username = "apikey"
password_env = "HERALD_TEST_SMTP_PASSWORD"
auth = "login"
ca_file = "/etc/herald/ca.pem"
idle_s = 12

[handlers.push]
webhook_url = "https://hooks.example.com/push"
headers = { Authorization = { env = "HERALD_TEST_PUSH_TOKEN" }, X-Team = "ops" }
secret = "push-secret"
insecure = true

[handlers.tickets]
helpdesk_url = "https://helpdesk.example.com/t"
secret_file = ")" + key_file +
                           R"("
)";
  HandlersConfig config;
  Status status = LoadHandlersConfigText(toml, "test.toml", &config);
  ::unsetenv("HERALD_TEST_SMTP_PASSWORD");
  ::unsetenv("HERALD_TEST_PUSH_TOKEN");
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(config.smtp.tls, SmtpTls::kImplicit);
  EXPECT_EQ(config.smtp.username, "apikey");
  EXPECT_EQ(config.smtp.password, "env-password");
  EXPECT_EQ(config.smtp.auth, SmtpAuth::kLogin);
  EXPECT_EQ(config.smtp.ca_file, "/etc/herald/ca.pem");
  EXPECT_EQ(config.smtp.idle, std::chrono::seconds(12));
  EXPECT_EQ(config.push.url, "https://hooks.example.com/push");
  const HttpHeaders expected = {{"Authorization", "Bearer env-token"}, {"X-Team", "ops"}};
  EXPECT_EQ(config.push.headers, expected);
  EXPECT_EQ(config.push.secret, "push-secret");
  EXPECT_TRUE(config.push.insecure);
  EXPECT_EQ(config.helpdesk.secret, "file-secret");  // the final newline is not part of it
}

TEST(HandlersConfigTest, MistakesAreNamed) {
  struct Case {
    const char* toml;
    const char* expected;
  };
  const Case cases[] = {
      {"[handlers.smtp]\nhots = \"x\"\n", "handlers.smtp.hots is not a known key"},
      {"[handlers.smtp]\nport = 70000\n", "handlers.smtp.port must be an integer"},
      {"[handlers.push]\nwebhook_url = \"ftp://x.example/\"\n", "only http:// and https://"},
      {"[handlers.smtp]\ntls = \"ssl\"\n",
       "handlers.smtp.tls is 'ssl'; it must be none, starttls or"},
      {"[handlers.smtp]\nauth = \"cram\"\n", "handlers.smtp.auth is 'cram'"},
      {"[handlers.smtp]\npassword = \"a\"\npassword_env = \"B\"\n", "is given twice"},
      {"[handlers.smtp]\npassword_env = \"HERALD_TEST_SURELY_UNSET\"\n",
       "handlers.smtp.password_env names HERALD_TEST_SURELY_UNSET, which is not set"},
      {"[handlers.push]\nsecret_file = \"/nonexistent/secret\"\n",
       "handlers.push.secret_file names /nonexistent/secret, which cannot be read"},
      {"[handlers.push]\nheaders = { \"Bad Name\" = \"x\" }\n", "is not a valid header name"},
      {"[handlers.tickets]\nheaders = { X-Token = { vault = \"x\" } }\n", "is not a known key"},
      {"[handlers.faults.emails]\nfail_rate = 1.5\n", "fail_rate must be a number from 0 to 1"},
      {"[handlers]\nqueues = { emails = \"fax\" }\n", "must be email, push, ticket or noop"},
      {"[handlers.smtp]\nfrom = \"nobody\"\n", "handlers.smtp.from"},
      {"[templates.\"booking.created\"]\nemail_subjet = \"x\"\n", "unknown template kind"},
      {"[handlers\n", "test.toml:1"},
      {"[handlers.fcm]\nservice_account = '{\"client_email\":\"a@b\"}'\n",
       "handlers.fcm: service account JSON has no private_key"},
      {"[handlers.fcm]\nservice_account_file = \"/nonexistent/sa.json\"\n",
       "handlers.fcm.service_account_file names /nonexistent/sa.json, which cannot be read"},
      {"[handlers.fcm]\nprojectid = \"x\"\n", "handlers.fcm.projectid is not a known key"},
  };
  for (const Case& c : cases) {
    HandlersConfig config;
    Status status = LoadHandlersConfigText(c.toml, "test.toml", &config);
    ASSERT_FALSE(status.ok()) << c.toml;
    EXPECT_TRUE(status.IsInvalidArgument()) << status.ToString();
    EXPECT_NE(status.message().find(c.expected), std::string::npos)
        << c.toml << " -> " << status.message();
  }
}

class RegistryTest : public HandlerFixture {};

TEST_F(RegistryTest, FcmFromAServiceAccountFilePushesToDevices) {
  testing::FakeFcm fcm;
  const std::string account =
      testing::WriteFile(dir_.Sub("firebase.json"), fcm.ServiceAccountJson());
  const std::string toml = "[handlers.fcm]\nservice_account_file = \"" + account +
                           "\"\nsend_url = \"" + fcm.send_url() + "\"\nca_file = \"" +
                           fcm.ca_file() + "\"\ntimeout_ms = 3000\n";
  HandlersConfig config;
  config.data_dir = dir_.path();
  Status status = LoadHandlersConfigText(toml, "test.toml", &config);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_TRUE(config.fcm.enabled());
  EXPECT_EQ(config.fcm.timeout_ms, 3000);
  auto handlers = BuildHandlers(config, records_.get(), &clock_, logger_);
  ASSERT_TRUE(handlers.ok()) << handlers.status().ToString();
  ASSERT_TRUE(Devices(records_.get()).Add("user-1", "phone", "ios", 1).ok());
  auto outcome = handlers->at("notifications")
                     ->Run(Job(EventJson("booking.reminder", "evt-fcm",
                                         {{"bookingId", "BK-7"}, {"userId", "user-1"}})));
  EXPECT_OUTCOME(outcome, kSuccess);
  EXPECT_EQ(outcome.text, "inapp: sent (inbox); fcm: sent (1 device)");
  ASSERT_EQ(fcm.messages().size(), 1u);
  EXPECT_EQ(fcm.messages()[0].at("token").as_string(), "phone");
}

TEST_F(RegistryTest, BuildsOneHandlerPerConfiguredQueue) {
  HandlersConfig config;
  config.data_dir = dir_.path();
  auto handlers = BuildHandlers(config, records_.get(), &clock_, logger_);
  ASSERT_TRUE(handlers.ok()) << handlers.status().ToString();
  ASSERT_EQ(handlers->size(), 3u);
  EXPECT_NE(dynamic_cast<EmailHandler*>(handlers->at("emails").get()), nullptr);
  EXPECT_NE(dynamic_cast<PushHandler*>(handlers->at("notifications").get()), nullptr);
  EXPECT_NE(dynamic_cast<TicketHandler*>(handlers->at("tickets").get()), nullptr);

  // The email handler writes to <data_dir>/outbox.
  auto outcome = handlers->at("emails")->Run(Job(BookingEvent("booking.created", "evt-1")));
  EXPECT_OUTCOME(outcome, kSuccess);
  EXPECT_FALSE(testing::ReadFile(dir_.Sub("outbox/evt-1.eml")).empty());
}

TEST_F(RegistryTest, FaultsWrapTheirQueuesHandler) {
  HandlersConfig config;
  config.data_dir = dir_.path();
  config.faults["emails"].fail_first = 1;
  auto handlers = BuildHandlers(config, records_.get(), &clock_, logger_);
  ASSERT_TRUE(handlers.ok());
  EXPECT_NE(dynamic_cast<FaultInjector*>(handlers->at("emails").get()), nullptr);
  const std::string event = BookingEvent("booking.created", "evt-2");
  EXPECT_OUTCOME(handlers->at("emails")->Run(Job(event, 1)), kFailure);
  EXPECT_OUTCOME(handlers->at("emails")->Run(Job(event, 2)), kSuccess);
}

TEST_F(RegistryTest, ConfigTemplatesReachTheHandlers) {
  HandlersConfig config;
  config.data_dir = dir_.path();
  config.templates["booking.created"]["email_subject"] = "Reserved {{bookingId}}";
  auto handlers = BuildHandlers(config, records_.get(), &clock_, logger_);
  ASSERT_TRUE(handlers.ok());
  EXPECT_OUTCOME(handlers->at("emails")->Run(Job(BookingEvent("booking.created", "evt-3"))),
                 kSuccess);
  EXPECT_NE(testing::ReadFile(dir_.Sub("outbox/evt-3.eml")).find("Subject: Reserved BK-7\r\n"),
            std::string::npos);
}

TEST_F(RegistryTest, RefusesFaultsForAQueueWithoutHandler) {
  HandlersConfig config;
  config.faults["mails"].fail_first = 1;
  auto handlers = BuildHandlers(config, records_.get(), &clock_, logger_);
  ASSERT_FALSE(handlers.ok());
  EXPECT_NE(handlers.status().message().find("mails"), std::string::npos);
}

}  // namespace
}  // namespace herald::handlers
