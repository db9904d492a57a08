// EverysecSyncer: syncs once per interval on its own thread until destroyed, stops at once
// without waiting out the interval, and logs a failing sync once per run of failures.
#include "storage/everysec_syncer.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

namespace herald::storage {
namespace {

using std::chrono::milliseconds;

// Polls `done` for up to 10 s (the thread runs on a loaded machine).
template <typename Pred>
bool Eventually(Pred done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

class EverysecSyncerTest : public ::testing::Test {
 protected:
  std::shared_ptr<spdlog::logger> MakeLogger() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text_);
    return std::make_shared<spdlog::logger>("everysec_syncer_test", sink);
  }
  std::size_t LoggedFailures() const {
    std::string text = log_text_.str();
    std::size_t n = 0;
    for (std::size_t at = text.find("background WAL sync"); at != std::string::npos;
         at = text.find("background WAL sync", at + 1)) {
      ++n;
    }
    return n;
  }

  std::ostringstream log_text_;
};

TEST_F(EverysecSyncerTest, SyncsOncePerIntervalUntilDestroyed) {
  std::atomic<int> syncs{0};
  {
    EverysecSyncer syncer(
        [&] {
          ++syncs;
          return Status::Ok();
        },
        MakeLogger(), milliseconds(2));
    ASSERT_TRUE(Eventually([&] { return syncs.load() >= 3; }));
  }
  int at_stop = syncs.load();
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(syncs.load(), at_stop);
  EXPECT_EQ(LoggedFailures(), 0u);
}

TEST_F(EverysecSyncerTest, StopsWithoutWaitingOutTheInterval) {
  std::atomic<int> syncs{0};
  auto start = std::chrono::steady_clock::now();
  {
    EverysecSyncer syncer(
        [&] {
          ++syncs;
          return Status::Ok();
        },
        MakeLogger(), std::chrono::hours(1));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(syncs.load(), 0);  // no last sync at stop
}

TEST_F(EverysecSyncerTest, LogsAFailingSyncOncePerRunOfFailures) {
  // Calls 1-3 fail, 4-5 succeed, 6 on fail again: two runs of failures.
  std::atomic<int> calls{0};
  {
    EverysecSyncer syncer(
        [&] {
          int n = ++calls;
          if (n <= 3 || n >= 6) return Status::IOError("injected: the disk is gone");
          return Status::Ok();
        },
        MakeLogger(), milliseconds(1));
    ASSERT_TRUE(Eventually([&] { return calls.load() >= 8; }));
  }
  EXPECT_EQ(LoggedFailures(), 2u);
  EXPECT_NE(log_text_.str().find("injected: the disk is gone"), std::string::npos);
}

}  // namespace
}  // namespace herald::storage
