// `herald worker --connect` (RemoteWorker) in-process, against the RESP server in-process on a
// free loopback port with a real store: what each handler outcome does to the job.
#include "tools/herald/remote_worker.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "tests/net/server_fixture.h"

namespace herald::tools {
namespace {

using namespace std::chrono_literals;

// Answers every job with the same outcome and counts its runs.
class FixedOutcomeHandler final : public engine::Handler {
 public:
  explicit FixedOutcomeHandler(engine::HandlerOutcome outcome) : outcome_(std::move(outcome)) {}
  engine::HandlerOutcome Run(const engine::HandlerJob&) override {
    ++runs;
    return outcome_;
  }
  std::atomic<int> runs{0};

 private:
  engine::HandlerOutcome outcome_;
};

// Throws from every run, and counts them.
class ThrowingHandler final : public engine::Handler {
 public:
  engine::HandlerOutcome Run(const engine::HandlerJob&) override {
    ++runs;
    throw std::runtime_error("template missing");
  }
  std::atomic<int> runs{0};
};

class RemoteWorkerTest : public net::ServerFixture {
 protected:
  // Runs a worker for `queue` with `handler` until the job `id` is in `state` (or 10 s pass),
  // then stops it.
  void RunUntil(const std::shared_ptr<engine::Handler>& handler, const std::string& queue,
                const std::string& id, storage::JobState state) {
    RemoteWorkerOptions options;
    options.port = server_->port();
    options.threads = 1;
    options.poll_ms = 100;
    options.lease_ms = 5000;
    auto logger =
        std::make_shared<spdlog::logger>("worker", std::make_shared<spdlog::sinks::null_sink_mt>());
    worker_ = std::make_unique<RemoteWorker>(
        options, std::map<std::string, std::shared_ptr<engine::Handler>>{{queue, handler}}, logger);
    std::jthread runner([this](std::stop_token stop) { worker_->Run(stop); });
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(10ms)) {
      auto job = broker_->Show(id);
      if (job.ok() && job->state == state) break;
    }
    runner.request_stop();
  }

  std::unique_ptr<RemoteWorker> worker_;
};

TEST_F(RemoteWorkerTest, APermanentFailureFailsTheJobWithoutRetrying) {
  auto handler = std::make_shared<FixedOutcomeHandler>(
      engine::HandlerOutcome::Permanent("550 5.1.1 mailbox unavailable"));
  const std::string id =
      Cmd({"ADDJOB", "mails", "x", "ATTEMPTS", "5", "BACKOFF", "fixed", "100"}).str;
  RunUntil(handler, "mails", id, storage::JobState::kFailed);
  auto job = broker_->Show(id);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->state, storage::JobState::kFailed);
  EXPECT_EQ(job->attempts_made, 1u);
  EXPECT_EQ(job->last_error, "550 5.1.1 mailbox unavailable");
  EXPECT_EQ(handler->runs.load(), 1);
  EXPECT_EQ(worker_->failed(), 1u);
}

TEST_F(RemoteWorkerTest, AFailedAttemptIsRetriedEvenWhenItsTextIsTheWordPermanent) {
  auto handler =
      std::make_shared<FixedOutcomeHandler>(engine::HandlerOutcome::Failure("permanent"));
  const std::string id =
      Cmd({"ADDJOB", "mails", "x", "ATTEMPTS", "2", "BACKOFF", "fixed", "100"}).str;
  RunUntil(handler, "mails", id, storage::JobState::kFailed);
  auto job = broker_->Show(id);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->state, storage::JobState::kFailed);
  EXPECT_EQ(job->attempts_made, 2u);  // retried once, then out of attempts
  EXPECT_EQ(job->last_error, "handler failed: permanent");
  EXPECT_EQ(handler->runs.load(), 2);
  // Both attempts in its history, each run by the worker's connection, named by host, process
  // and thread.
  ASSERT_EQ(job->history.size(), 2u);
  EXPECT_EQ(job->history[0].outcome, storage::AttemptOutcome::kRetrying);
  EXPECT_EQ(job->history[0].backoff_ms, 100);
  EXPECT_EQ(job->history[1].outcome, storage::AttemptOutcome::kFailed);
  for (const storage::Attempt& attempt : job->history) {
    EXPECT_EQ(attempt.error, "handler failed: permanent");
    EXPECT_EQ(attempt.worker.rfind("herald-worker:", 0), 0u) << attempt.worker;
    EXPECT_NE(attempt.worker.find(":" + std::to_string(getpid()) + ":0@127.0.0.1:"),
              std::string::npos)
        << attempt.worker;
  }
}

// The value of `key` in a reply that is a map (RESP3) or a flat field/value array (RESP2).
const resp::Reply* FieldOf(const resp::Reply& reply, const std::string& key) {
  if (reply.type == resp::ReplyType::kMap) return reply.Find(key);
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    if (reply.elements[i].str == key) return &reply.elements[i + 1];
  }
  return nullptr;
}

// GETJOB records who took the job: the CLIENT SETNAME name and the address, or the address
// alone; SHOW reports each attempt.
TEST_F(RemoteWorkerTest, ShowReportsEachAttemptWithTheClientThatTookIt) {
  const std::string id =
      Cmd({"ADDJOB", "mails", "x", "ATTEMPTS", "3", "BACKOFF", "fixed", "0"}).str;
  const std::string info = Cmd({"CLIENT", "INFO"}).str;
  const std::size_t at = info.find("addr=");
  ASSERT_NE(at, std::string::npos) << info;
  const std::string addr = info.substr(at + 5, info.find(' ', at) - at - 5);
  ASSERT_EQ(Cmd({"GETJOB", "NOHANG", "FROM", "mails"}).elements.size(), 1u);
  ASSERT_EQ(Cmd({"NACK", id, "smtp 451"}), Int(1));
  ASSERT_EQ(Cmd({"CLIENT", "SETNAME", "mailer-1"}), Ok());
  ASSERT_EQ(Cmd({"GETJOB", "NOHANG", "FROM", "mails"}).elements.size(), 1u);

  resp::Reply shown = Cmd({"SHOW", id});
  const std::size_t show_fields =
      shown.type == resp::ReplyType::kMap ? shown.pairs.size() : shown.elements.size() / 2;
  EXPECT_EQ(show_fields, 17u) << shown.ToString();
  const resp::Reply* history = FieldOf(shown, "history");
  ASSERT_NE(history, nullptr) << shown.ToString();
  ASSERT_EQ(history->elements.size(), 2u) << history->ToString();
  const resp::Reply& first = history->elements[0];
  const std::size_t fields =
      first.type == resp::ReplyType::kMap ? first.pairs.size() : first.elements.size() / 2;
  EXPECT_EQ(fields, 7u) << first.ToString();
  ASSERT_NE(FieldOf(first, "worker"), nullptr) << first.ToString();
  EXPECT_EQ(FieldOf(first, "worker")->str, addr);
  EXPECT_EQ(FieldOf(first, "outcome")->str, "retrying");
  EXPECT_EQ(FieldOf(first, "error")->str, "smtp 451");
  EXPECT_EQ(FieldOf(first, "backoff-ms")->integer, 0);
  EXPECT_GT(FieldOf(first, "started-ms")->integer, 0);
  EXPECT_GE(FieldOf(first, "ended-ms")->integer, FieldOf(first, "started-ms")->integer);
  EXPECT_EQ(FieldOf(first, "next-due-ms")->integer, FieldOf(first, "ended-ms")->integer);
  const resp::Reply& second = history->elements[1];
  EXPECT_EQ(FieldOf(second, "worker")->str, "mailer-1@" + addr);
  EXPECT_EQ(FieldOf(second, "outcome")->str, "running");
  EXPECT_EQ(FieldOf(second, "ended-ms")->integer, 0);

  ASSERT_EQ(Cmd({"ACKJOB", id}), Int(1));
  auto job = broker_->Show(id);
  ASSERT_TRUE(job.ok());
  ASSERT_EQ(job->history.size(), 2u);
  EXPECT_EQ(job->history[1].outcome, storage::AttemptOutcome::kCompleted);
  EXPECT_EQ(job->history[1].worker, "mailer-1@" + addr);
}

// As on the broker's own workers (the same HandlerCall): the exception is a failed attempt
// with its message, and the worker lives on to run the retry.
TEST_F(RemoteWorkerTest, AnExceptionIsAFailedAttemptNotADeadWorker) {
  auto handler = std::make_shared<ThrowingHandler>();
  const std::string id =
      Cmd({"ADDJOB", "mails", "x", "ATTEMPTS", "2", "BACKOFF", "fixed", "100"}).str;
  RunUntil(handler, "mails", id, storage::JobState::kFailed);
  auto job = broker_->Show(id);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->state, storage::JobState::kFailed);
  EXPECT_EQ(job->attempts_made, 2u);
  EXPECT_EQ(job->last_error, "handler threw: template missing");
  EXPECT_EQ(handler->runs.load(), 2);
  EXPECT_EQ(worker_->failed(), 2u);
}

// The steady loop: each finished job is acknowledged by the GETJOB that takes the next one, in
// one write, with the handler's return value as its result.
TEST_F(RemoteWorkerTest, EachJobIsAcknowledgedWithTheTakeOfTheNextInOneWrite) {
  auto handler = std::make_shared<FixedOutcomeHandler>(engine::HandlerOutcome::Success("ticket-7"));
  constexpr int kJobs = 20;
  std::string last;
  for (int i = 0; i < kJobs; ++i) last = Cmd({"ADDJOB", "tickets", "x"}).str;
  const std::uint64_t writes_before = store_->Writes();
  RunUntil(handler, "tickets", last, storage::JobState::kCompleted);
  EXPECT_EQ(handler->runs.load(), kJobs);
  EXPECT_EQ(worker_->completed(), static_cast<std::uint64_t>(kJobs));
  auto counts = broker_->Counts("tickets");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->completed, static_cast<std::uint64_t>(kJobs));
  EXPECT_EQ(broker_->Show(last)->return_value, "ticket-7");
  // The first take, one write per job after it, the last acknowledgement: not two per job.
  const std::uint64_t writes = store_->Writes() - writes_before;
  EXPECT_GE(writes, static_cast<std::uint64_t>(kJobs));
  EXPECT_LE(writes, static_cast<std::uint64_t>(kJobs + 2));
}

}  // namespace
}  // namespace herald::tools
