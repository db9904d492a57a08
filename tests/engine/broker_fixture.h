// BrokerFixture: a Broker over a real store in a fresh temp dir (fsync off), built from the
// fixture's config_ with a fake clock (the scheduler driven by Tick()) unless a test asks for
// the system clock and the scheduler thread, and the helpers the engine tests share to add,
// take and wait for jobs.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "engine/broker.h"
#include "engine/engine_config.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace herald::engine {

// How long a test waits for something that should take microseconds.
inline constexpr std::chrono::seconds kTestDeadline{10};

// Polls `done` until it holds or `timeout` passes; for state that no one signals (a job's
// state on disk, a counter).
template <typename Predicate>
bool Eventually(Predicate done, std::chrono::milliseconds timeout = kTestDeadline) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

class BrokerFixture : public ::testing::Test {
 protected:
  BrokerFixture() { config_.scheduler_thread = false; }

  void SetUp() override { OpenStore(); }
  void TearDown() override { CloseStore(); }

  // Opens the store in data_dir_ (default: in the fixture's temp dir); the same data again
  // after CloseStore().
  void OpenStore() {
    storage::StoreOptions options;
    options.data_dir = data_dir_.empty() ? dir_.Sub("db") : data_dir_;
    options.fsync = storage::FsyncMode::kNo;
    auto store = storage::Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  // Shuts the broker down and destroys it, then closes the store.
  void CloseStore() {
    CloseBroker();
    store_.reset();
  }

  // A new broker from config_ over the open store (the one before is shut down first), on the
  // fake clock or, after UseSystemClock(), the system clock; logs to logger_. Not started.
  void CreateBroker() {
    CloseBroker();
    Clock* clock = system_clock_ ? static_cast<Clock*>(&system_clock_.value()) : &clock_;
    auto broker = Broker::Create(store_.get(), config_, clock, logger_);
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
  }

  void StartBroker() {
    Status started = broker_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }

  void CloseBroker() {
    if (broker_) broker_->Shutdown();
    broker_.reset();
  }

  // Closes broker and store and opens both again, the broker started (a restart).
  void Reopen() {
    CloseStore();
    OpenStore();
    CreateBroker();
    StartBroker();
  }

  // For tests of the worker threads and the scheduler thread: real time, scheduler running.
  // Before CreateBroker().
  void UseSystemClock() {
    system_clock_.emplace();
    config_.scheduler_thread = true;
  }

  // The policy of `name` in config_ (added with defaults when absent), to change before
  // CreateBroker().
  QueuePolicy& Policy(const std::string& name) {
    for (QueuePolicy& policy : config_.queues) {
      if (policy.name == name) return policy;
    }
    config_.queues.push_back(QueuePolicy{});
    config_.queues.back().name = name;
    return config_.queues.back();
  }

  // Adds a job and returns its id ("" after a failed expectation).
  std::string AddJob(const std::string& queue, const std::string& payload = "payload",
                     const JobOptions& options = {}) {
    auto added = broker_->Add(queue, payload, options);
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    return added.ok() ? added->id : "";
  }

  // A take of up to `count` jobs of `queues` (lease 0: each queue's policy) by `worker`.
  static TakeRequest Request(std::vector<std::string> queues, std::uint32_t count = 1,
                             std::int64_t lease_ms = 0, std::string worker = {}) {
    TakeRequest request;
    request.queues = std::move(queues);
    request.count = count;
    request.lease_ms = lease_ms;
    request.worker = std::move(worker);
    return request;
  }

  // Takes exactly one job of `queue`, as a remote worker would, or fails the test.
  LeasedJob TakeOne(const std::string& queue, std::int64_t lease_ms = 0) {
    auto jobs = broker_->Take(Request({queue}, 1, lease_ms));
    EXPECT_TRUE(jobs.ok()) << jobs.status().ToString();
    EXPECT_EQ(jobs.ok() ? jobs->size() : 0u, 1u);
    return jobs.ok() && !jobs->empty() ? (*jobs)[0] : LeasedJob{};
  }

  // Takes every job of `queue` it can (up to 100) and says how many that was.
  std::size_t Available(const std::string& queue) {
    auto jobs = broker_->Take(Request({queue}, 100, 0));
    EXPECT_TRUE(jobs.ok());
    return jobs.ok() ? jobs->size() : 0;
  }

  // Waits until the job reaches `state` (worker threads finish on their own time).
  bool WaitForState(const std::string& id, storage::JobState state,
                    std::chrono::milliseconds timeout = kTestDeadline) {
    return Eventually(
        [&] {
          auto job = broker_->Show(id);
          return job.ok() && job->state == state;
        },
        timeout);
  }

  testing::TempDir dir_;
  std::string data_dir_;  // "" = dir_/db
  testing::FakeClock clock_;
  std::optional<SystemClock> system_clock_;
  EngineConfig config_;
  std::shared_ptr<spdlog::logger> logger_ = spdlog::default_logger();
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Broker> broker_;
};

}  // namespace herald::engine
