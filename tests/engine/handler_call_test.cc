// HandlerCall alone: an exception or a run past the timeout is a failed attempt with a message
// saying so; what the handler returns otherwise passes through.
#include "engine/handler_call.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "tests/support/recording_handler.h"

namespace herald::engine {
namespace {

using namespace std::chrono_literals;
using Kind = HandlerOutcome::Kind;

HandlerJob AJob() { return HandlerJob{"7", "emails", "payload", 1, 3, {}, {}}; }

TEST(HandlerCallTest, TheOutcomePassesThroughWithTheDeadlineSet) {
  testing::RecordingHandler handler;
  std::chrono::steady_clock::time_point deadline;
  handler.script = [&](const HandlerJob& job) {
    deadline = job.deadline;
    return HandlerOutcome::Permanent("550 no such user");
  };
  const auto before = std::chrono::steady_clock::now();
  HandlerOutcome outcome = HandlerCall(&handler, 30s).Run(AJob());
  EXPECT_EQ(outcome.kind, Kind::kPermanent);
  EXPECT_EQ(outcome.text, "550 no such user");
  EXPECT_GE(deadline, before + 30s);
  EXPECT_EQ(handler.calls().at(0).id, "7");
}

TEST(HandlerCallTest, AnExceptionIsAFailedAttempt) {
  testing::RecordingHandler handler;
  handler.script = [](const HandlerJob&) -> HandlerOutcome {
    throw std::runtime_error("smtp connection reset");
  };
  HandlerOutcome outcome = HandlerCall(&handler, 30s).Run(AJob());
  EXPECT_EQ(outcome.kind, Kind::kFailure);
  EXPECT_EQ(outcome.text, "handler threw: smtp connection reset");

  handler.script = [](const HandlerJob&) -> HandlerOutcome { throw 42; };
  outcome = HandlerCall(&handler, 30s).Run(AJob());
  EXPECT_EQ(outcome.kind, Kind::kFailure);
  EXPECT_EQ(outcome.text, "handler threw a non-standard exception");
}

TEST(HandlerCallTest, ARunPastTheTimeoutFailsWhateverItReturned) {
  testing::RecordingHandler handler;
  handler.script = [](const HandlerJob&) {
    std::this_thread::sleep_for(30ms);
    return HandlerOutcome::Success("sent");
  };
  HandlerOutcome outcome = HandlerCall(&handler, 10ms).Run(AJob());
  EXPECT_EQ(outcome.kind, Kind::kFailure);
  EXPECT_EQ(outcome.text, "timed out after 10 ms");
}

TEST(HandlerCallTest, AFailureWithoutTextSaysTheHandlerFailed) {
  testing::RecordingHandler handler;
  handler.script = [](const HandlerJob&) { return HandlerOutcome::Failure(""); };
  HandlerOutcome outcome = HandlerCall(&handler, 30s).Run(AJob());
  EXPECT_EQ(outcome.kind, Kind::kFailure);
  EXPECT_EQ(outcome.text, "handler failed");
  handler.script = [](const HandlerJob&) { return HandlerOutcome::Success(""); };
  EXPECT_EQ(HandlerCall(&handler, 30s).Run(AJob()).text, "");
}

}  // namespace
}  // namespace herald::engine
