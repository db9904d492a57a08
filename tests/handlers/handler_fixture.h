// Shared set-up for the handler tests: a real Store in a fresh temp dir, Records over it, a fake
// clock, the built-in templates, a quiet logger, and helpers to build events and jobs.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "engine/handler.h"
#include "engine/records.h"
#include "handlers/handler_deps.h"
#include "handlers/templates.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace herald::handlers {

class HandlerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions options;
    options.data_dir = dir_.Sub("db");
    options.logger = logger_;
    auto store = storage::Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    records_ = std::make_unique<engine::StoreRecords>(store_.get());
  }

  HandlerDeps Deps() {
    HandlerDeps deps;
    deps.records = records_.get();
    deps.clock = &clock_;
    deps.templates = std::make_shared<LiveTemplates>(TemplateSet::BuiltIn());
    deps.logger = logger_;
    return deps;
  }

  // An event envelope; `data` is a JSON object text.
  static std::string EventJson(const std::string& type, const std::string& id,
                               boost::json::object data) {
    boost::json::object event;
    event["eventType"] = type;
    event["eventId"] = id;
    event["timestamp"] = "2024-03-05T10:00:00.000Z";
    event["data"] = std::move(data);
    return boost::json::serialize(event);
  }

  static std::string BookingEvent(const std::string& type, const std::string& id,
                                  const std::string& user = "user-1",
                                  const std::string& email = "jane@example.com") {
    return EventJson(type, id, {{"bookingId", "BK-7"}, {"userId", user}, {"userEmail", email}});
  }

  // A job on its `attempt`-th run (1 = first), deadline 10 s from now.
  engine::HandlerJob Job(const std::string& payload, std::uint32_t attempt = 1,
                         std::uint32_t max_attempts = 5) {
    payload_ = payload;
    engine::HandlerJob job{};
    job.id = "job-1";
    job.queue = "test";
    job.payload = payload_;
    job.attempts_made = attempt;
    job.max_attempts = max_attempts;
    job.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    return job;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{1'709'632'800'000};  // 2024-03-05T10:00:00Z
  std::shared_ptr<spdlog::logger> logger_ =
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<engine::Records> records_;
  std::string payload_;
};

inline const char* KindName(engine::HandlerOutcome::Kind kind) {
  switch (kind) {
    case engine::HandlerOutcome::Kind::kSuccess:
      return "success";
    case engine::HandlerOutcome::Kind::kFailure:
      return "failure";
    case engine::HandlerOutcome::Kind::kPermanent:
      return "permanent";
  }
  return "?";
}

#define EXPECT_OUTCOME(outcome, expected_kind)                           \
  EXPECT_EQ((outcome).kind, engine::HandlerOutcome::Kind::expected_kind) \
      << "got " << KindName((outcome).kind) << ": " << (outcome).text

}  // namespace herald::handlers
