#include "engine/engine_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/temp_dir.h"

namespace herald::engine {
namespace {

TEST(EngineConfigTest, SampleConfigFileLoadsWithTheBriefsPolicies) {
  EngineConfig config;
  Status status = LoadEngineConfig(std::string(HERALD_SOURCE_DIR) + "/config/herald.toml", &config);
  ASSERT_TRUE(status.ok()) << status.ToString();
  const QueuePolicy* emails = FindPolicy(config, "emails");
  ASSERT_NE(emails, nullptr);
  EXPECT_EQ(emails->max_attempts, 5u);
  EXPECT_EQ(emails->backoff_ms, 2000);
  EXPECT_EQ(config.events.size(), 6u);
}

TEST(EngineConfigTest, QueueSettingsOverrideDefaults) {
  EngineConfig config;
  Status status = LoadEngineConfigText(R"(
[engine]
shutdown_grace_ms = 2500
event_queue_capacity = 1024
max_queues = 12
[queues.emails]
attempts = 7
backoff = "fixed"
backoff_delay_ms = 100
concurrency = 1
rate_limit = { max = 10, duration_ms = 1000 }
timeout_ms = 900
lease_ms = 5000
keep_completed = 100
keep_completed_age_ms = 3600000
keep_failed = 1000
keep_failed_age_ms = 604800000
[queues.sms]
attempts = 2
)",
                                       "test.toml", &config);
  ASSERT_TRUE(status.ok()) << status.ToString();
  const QueuePolicy* emails = FindPolicy(config, "emails");
  ASSERT_NE(emails, nullptr);
  EXPECT_EQ(emails->max_attempts, 7u);
  EXPECT_EQ(emails->backoff_type, storage::BackoffType::kFixed);
  EXPECT_EQ(emails->backoff_ms, 100);
  EXPECT_EQ(emails->concurrency, 1u);
  EXPECT_EQ(emails->rate_max, 10u);
  EXPECT_EQ(emails->rate_duration_ms, 1000);
  EXPECT_EQ(emails->timeout_ms, 900);
  EXPECT_EQ(emails->lease_ms, 5000);
  EXPECT_EQ(emails->keep_completed, 100u);
  EXPECT_EQ(emails->keep_completed_age_ms, 3600000);
  EXPECT_EQ(emails->keep_failed, 1000u);
  EXPECT_EQ(emails->keep_failed_age_ms, 604800000);
  EXPECT_FALSE(FindPolicy(config, "sms")->has_retention());
  EXPECT_EQ(config.shutdown_grace_ms, 2500);
  EXPECT_EQ(config.event_queue_capacity, 1024u);
  EXPECT_EQ(config.max_queues, 12u);
  ASSERT_NE(FindPolicy(config, "sms"), nullptr);
  EXPECT_EQ(FindPolicy(config, "sms")->max_attempts, 2u);
}

TEST(EngineConfigTest, EventsAddRoutesAndTheirQueues) {
  EngineConfig config;
  Status status = LoadEngineConfigText(R"(
[events."user.signup"]
queue = "welcome"
required = ["userEmail"]
)",
                                       "test.toml", &config);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(config.events.size(), 7u);
  EXPECT_NE(FindPolicy(config, "welcome"), nullptr);
}

TEST(EngineConfigTest, BadValuesAreNamed) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"[queues.emails]\nattempts = 0\n", "queues.emails.attempts"},
      {"[queues.emails]\nbackoff = \"linear\"\n", "fixed or exponential"},
      {"[queues.emails]\nlease_ms = 10\n", "queues.emails.lease_ms"},
      {"[queues.\"bad name\"]\nattempts = 1\n", "invalid queue name"},
      {"[events.\"x\"]\nrequired = []\n", "queue is required"},
      {"[queues.emails\n", "test.toml:1"},
      {"[engine]\nevent_queue_capacity = 0\n", "engine.event_queue_capacity"},
      {"[engine]\nmax_queues = 0\n", "engine.max_queues"},
  };
  for (const Case& c : cases) {
    EngineConfig config;
    Status status = LoadEngineConfigText(c.text, "test.toml", &config);
    EXPECT_TRUE(status.IsInvalidArgument()) << c.text;
    EXPECT_NE(status.message().find(c.expect), std::string::npos)
        << c.text << " -> " << status.message();
  }
}

TEST(EngineConfigTest, MissingFileIsAnIOError) {
  EngineConfig config;
  EXPECT_TRUE(LoadEngineConfig("/nonexistent/herald.toml", &config).IsIOError());
}

}  // namespace
}  // namespace herald::engine
