#include "handlers/fault_injection.h"

#include <gtest/gtest.h>

#include "handlers/handler_config.h"
#include "tests/support/recording_handler.h"

namespace herald::handlers {
namespace {

engine::HandlerJob JobOnAttempt(std::uint32_t attempt) {
  engine::HandlerJob job{};
  job.id = "job";
  job.queue = "emails";
  job.payload = "{}";
  job.attempts_made = attempt;
  job.max_attempts = 5;
  job.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  return job;
}

TEST(FaultInjectorTest, FailsTheFirstAttemptsOfEachJobThenRunsTheHandler) {
  auto inner = std::make_unique<testing::RecordingHandler>();
  testing::RecordingHandler* recording = inner.get();
  FaultInjector injector(std::move(inner), FaultInjection{.fail_first = 2});
  auto first = injector.Run(JobOnAttempt(1));
  EXPECT_EQ(first.kind, engine::HandlerOutcome::Kind::kFailure);
  EXPECT_EQ(first.text, "injected fault: attempt 1 of the first 2 fails");
  EXPECT_EQ(injector.Run(JobOnAttempt(2)).kind, engine::HandlerOutcome::Kind::kFailure);
  EXPECT_EQ(recording->call_count(), 0u);
  auto third = injector.Run(JobOnAttempt(3));
  EXPECT_EQ(third.kind, engine::HandlerOutcome::Kind::kSuccess);
  EXPECT_EQ(third.text, "ok");
  EXPECT_EQ(recording->call_count(), 1u);
}

TEST(FaultInjectorTest, FailRateIsDeterministicForASeed) {
  auto run = [](std::uint64_t seed) {
    FaultInjector injector(std::make_unique<testing::RecordingHandler>(),
                           FaultInjection{.fail_rate = 0.5, .seed = seed});
    std::string pattern;
    for (int i = 0; i < 200; ++i) {
      pattern +=
          injector.Run(JobOnAttempt(1)).kind == engine::HandlerOutcome::Kind::kSuccess ? 's' : 'f';
    }
    return pattern;
  };
  const std::string a = run(7);
  EXPECT_EQ(a, run(7));
  EXPECT_NE(a, run(8));
  const auto failures = std::count(a.begin(), a.end(), 'f');
  EXPECT_GT(failures, 60);
  EXPECT_LT(failures, 140);
}

TEST(FaultInjectorTest, RateOneFailsEverythingAndZeroNothing) {
  FaultInjector always(std::make_unique<testing::RecordingHandler>(),
                       FaultInjection{.fail_rate = 1.0});
  FaultInjector never(std::make_unique<testing::RecordingHandler>(), FaultInjection{});
  for (std::uint32_t attempt = 1; attempt <= 20; ++attempt) {
    EXPECT_EQ(always.Run(JobOnAttempt(attempt)).kind, engine::HandlerOutcome::Kind::kFailure);
    EXPECT_EQ(never.Run(JobOnAttempt(attempt)).kind, engine::HandlerOutcome::Kind::kSuccess);
  }
}

TEST(FaultSpecTest, CommandLineSpecSetsQueueFaults) {
  HandlersConfig config;
  ASSERT_TRUE(ApplyFaultSpec("emails:first=2", &config).ok());
  ASSERT_TRUE(ApplyFaultSpec("notifications:rate=0.25,seed=9", &config).ok());
  EXPECT_EQ(config.faults["emails"].fail_first, 2u);
  EXPECT_DOUBLE_EQ(config.faults["notifications"].fail_rate, 0.25);
  EXPECT_EQ(config.faults["notifications"].seed, 9u);
  for (const char* bad : {"emails", ":first=1", "emails:", "emails:first=x", "emails:rate=2",
                          "emails:sometimes=1", "emails:first"}) {
    Status status = ApplyFaultSpec(bad, &config);
    EXPECT_TRUE(status.IsInvalidArgument()) << bad;
  }
}

}  // namespace
}  // namespace herald::handlers
