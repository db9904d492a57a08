// The public API (include/herald/engine.h) as an embedding program uses it: only public headers
// of Herald are included here, plus the test support.
#include "herald/engine.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace std::chrono_literals;
using herald::AddOptions;
using herald::Engine;
using herald::EngineOptions;
using herald::JobEvent;
using herald::JobState;
using herald::Outcome;
using herald::QueueOptions;
using herald::Work;

class EngineApiTest : public ::testing::Test {
 protected:
  EngineOptions Options(std::uint32_t workers = 2) {
    EngineOptions options;
    options.data_dir = dir_.Sub("jobs");
    options.workers = workers;
    options.log_level = herald::LogLevel::kWarn;
    options.log = [this](herald::LogLevel, std::string_view line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.emplace_back(line);
    };
    QueueOptions emails;
    emails.name = "emails";
    emails.attempts = 3;
    emails.backoff = herald::Backoff::kFixed;
    emails.backoff_ms = 10;
    options.queues.push_back(emails);
    return options;
  }

  std::unique_ptr<Engine> Open(EngineOptions options) {
    auto engine = Engine::Open(std::move(options));
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(engine).value() : nullptr;
  }

  // Polls until `id` is in `state` (handlers run on the engine's threads).
  static herald::JobInfo WaitFor(Engine& engine, const std::string& id, JobState state) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto job = engine.Show(id);
      if (job.ok() && job->state == state) return *job;
      std::this_thread::sleep_for(2ms);
    }
    auto job = engine.Show(id);
    ADD_FAILURE() << id << " is not " << herald::JobStateName(state) << " but "
                  << (job.ok() ? std::string(herald::JobStateName(job->state)) : "missing");
    return job.ok() ? *job : herald::JobInfo{};
  }

  herald::testing::TempDir dir_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_F(EngineApiTest, TheRegisteredHandlerRunsEveryAddedJob) {
  // What the handler captures outlives the engine.
  std::mutex mu;
  std::vector<std::string> seen;
  auto engine = Open(Options());
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine
                  ->RegisterHandler("emails",
                                    [&](const Work& work) {
                                      std::lock_guard<std::mutex> lock(mu);
                                      seen.emplace_back(work.payload);
                                      return Outcome::Success("sent " + std::string(work.id));
                                    })
                  .ok());
  ASSERT_TRUE(engine->Start().ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto added = engine->Add("emails", "mail-" + std::to_string(i));
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    EXPECT_TRUE(added->created);
    ids.push_back(added->id);
  }
  for (const std::string& id : ids) {
    herald::JobInfo job = WaitFor(*engine, id, JobState::kCompleted);
    EXPECT_EQ(job.return_value, "sent " + id);
    EXPECT_EQ(job.attempts_made, 1u);
    EXPECT_EQ(job.queue, "emails");
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen.size(), 20u);
  auto counts = engine->Counts("emails");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->completed, 20u);
  EXPECT_EQ(counts->waiting + counts->active + counts->failed, 0u);
}

TEST_F(EngineApiTest, FailedAttemptsAreRetriedWithTheQueuesBackoffThenFail) {
  std::mutex mu;
  std::vector<JobEvent> events;
  auto engine = Open(Options());
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine
                  ->Subscribe([&](const JobEvent& event) {
                    std::lock_guard<std::mutex> lock(mu);
                    events.push_back(event);
                  })
                  .ok());
  ASSERT_TRUE(engine
                  ->RegisterHandler("emails",
                                    [](const Work& work) -> Outcome {
                                      if (work.payload == "throws") {
                                        throw std::runtime_error("relay exploded");
                                      }
                                      if (work.payload == "permanent") {
                                        return Outcome::Fail("550 no such user");
                                      }
                                      return Outcome::Retry("451 try later (attempt " +
                                                            std::to_string(work.attempt) + ")");
                                    })
                  .ok());
  ASSERT_TRUE(engine->Start().ok());
  auto retried = engine->Add("emails", "flaky", AddOptions{.id = "job-flaky"});
  auto permanent = engine->Add("emails", "permanent", AddOptions{.id = "job-permanent"});
  auto thrown = engine->Add("emails", "throws", AddOptions{.id = "job-throws"});
  ASSERT_TRUE(retried.ok() && permanent.ok() && thrown.ok());

  herald::JobInfo flaky = WaitFor(*engine, "job-flaky", JobState::kFailed);
  EXPECT_EQ(flaky.attempts_made, 3u);
  EXPECT_EQ(flaky.last_error, "451 try later (attempt 3)");
  herald::JobInfo refused = WaitFor(*engine, "job-permanent", JobState::kFailed);
  EXPECT_EQ(refused.attempts_made, 1u);
  EXPECT_EQ(refused.last_error, "550 no such user");
  herald::JobInfo exploded = WaitFor(*engine, "job-throws", JobState::kFailed);
  EXPECT_NE(exploded.last_error.find("relay exploded"), std::string::npos) << exploded.last_error;

  // The events of the flaky job: added, then active, retrying and promoted (its backoff over)
  // twice, then active and failed.
  std::vector<std::string> types;
  for (int i = 0; i < 500 && types.size() < 9; ++i) {
    std::this_thread::sleep_for(5ms);
    std::lock_guard<std::mutex> lock(mu);
    types.clear();
    for (const JobEvent& event : events) {
      if (event.id == "job-flaky") types.emplace_back(herald::JobEventTypeName(event.type));
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{"added", "active", "retrying", "promoted", "active",
                                             "retrying", "promoted", "active", "failed"}));

  // Retry puts a failed job back; RetryAll the rest.
  ASSERT_TRUE(engine->Retry("job-permanent").ok());
  WaitFor(*engine, "job-permanent", JobState::kFailed);
  EXPECT_EQ(*engine->RetryAll("emails"), 3u);
}

TEST_F(EngineApiTest, AHandlerSetsItsQueuesConcurrencyTimeoutAndRateLimit) {
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::atomic<int> limited_runs{0};
  auto engine = Open(Options(/*workers=*/4));
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine
                  ->RegisterHandler("emails",
                                    [&](const Work&) {
                                      const int now = ++running;
                                      int seen = most.load();
                                      while (now > seen && !most.compare_exchange_weak(seen, now)) {
                                      }
                                      std::this_thread::sleep_for(5ms);
                                      --running;
                                      return Outcome::Success();
                                    },
                                    {.concurrency = 1})
                  .ok());
  ASSERT_TRUE(engine
                  ->RegisterHandler("slow",
                                    [](const Work& work) {
                                      std::this_thread::sleep_for(300ms);
                                      return work.stop.stop_requested() ? Outcome::Retry("stopped")
                                                                        : Outcome::Success();
                                    },
                                    {.timeout_ms = 50})
                  .ok());
  ASSERT_TRUE(engine
                  ->RegisterHandler("quota",
                                    [&](const Work&) {
                                      ++limited_runs;
                                      return Outcome::Success();
                                    },
                                    {.rate_max = 2, .rate_duration_ms = 3600000})
                  .ok());
  EXPECT_TRUE(
      engine->RegisterHandler("x", [](const Work&) { return Outcome::Success(); }, {.rate_max = 2})
          .IsInvalidArgument());
  ASSERT_TRUE(engine->Start().ok());
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(engine->Add("emails", "m", AddOptions{.id = "e-" + std::to_string(i)}).ok());
  }
  ASSERT_TRUE(engine->Add("slow", "s", AddOptions{.id = "slow-1", .attempts = 1}).ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(engine->Add("quota", "q", AddOptions{.id = "q-" + std::to_string(i)}).ok());
  }
  for (int i = 0; i < 8; ++i) WaitFor(*engine, "e-" + std::to_string(i), JobState::kCompleted);
  EXPECT_EQ(most.load(), 1);
  herald::JobInfo slow = WaitFor(*engine, "slow-1", JobState::kFailed);
  EXPECT_NE(slow.last_error.find("timed out"), std::string::npos) << slow.last_error;
  WaitFor(*engine, "q-1", JobState::kCompleted);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(limited_runs.load(), 2);
  EXPECT_EQ(engine->Counts("quota")->waiting, 3u);
}

TEST_F(EngineApiTest, JobsTakenByHandAreAckedFailedAndExtended) {
  auto engine = Open(Options(/*workers=*/0));
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine->Start().ok());
  ASSERT_TRUE(engine->Add("reports", "r-1", AddOptions{.id = "r-1", .name = "daily"}).ok());
  ASSERT_TRUE(engine->Add("reports", "r-2", AddOptions{.id = "r-2", .priority = 5}).ok());
  ASSERT_TRUE(engine->Add("reports", "r-0", AddOptions{.id = "r-0", .priority = 0}).ok());
  auto taken = engine->Take({"nothing-here", "reports"}, 2, 5000);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  ASSERT_EQ(taken->size(), 2u);
  EXPECT_EQ((*taken)[0].job.id, "r-1");  // priority 0, FIFO
  EXPECT_EQ((*taken)[0].job.name, "daily");
  EXPECT_EQ((*taken)[1].job.id, "r-0");
  EXPECT_EQ((*taken)[0].job.state, JobState::kActive);
  EXPECT_GT((*taken)[0].lease_until_ms, 0);

  EXPECT_TRUE(engine->Ack("r-1", "done").ok());
  EXPECT_EQ(engine->Show("r-1")->return_value, "done");
  EXPECT_TRUE(engine->Ack("r-1").IsNotFound());
  auto lease = engine->Extend("r-0", 60000);
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(*lease, 60000);
  EXPECT_TRUE(engine->Fail("r-0", "disk full", /*permanent=*/true).ok());
  EXPECT_EQ(engine->Show("r-0")->state, JobState::kFailed);
  EXPECT_TRUE(engine->Extend("r-0").status().IsNotFound());
  EXPECT_TRUE(engine->Take({"bad queue name!"}).status().IsInvalidArgument());
}

TEST_F(EngineApiTest, DelaysPausesCleaningAndPages) {
  auto engine = Open(Options(0));
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine->Start().ok());
  auto later = engine->Add("q", "later", AddOptions{.id = "later", .delay_ms = 3600000});
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->state, JobState::kDelayed);
  ASSERT_TRUE(engine->Promote("later").ok());
  EXPECT_EQ(engine->Show("later")->state, JobState::kWaiting);
  // The same id again adds nothing.
  auto again = engine->Add("q", "other", AddOptions{.id = "later"});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(engine->Show("later")->payload, "later");

  std::vector<std::pair<std::string, AddOptions>> batch;
  for (int i = 0; i < 25; ++i) batch.emplace_back("p" + std::to_string(i), AddOptions{});
  auto many = engine->AddMany("q", std::move(batch));
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(many->size(), 25u);
  std::size_t listed = 0;
  std::string cursor;
  int pages = 0;
  do {
    auto page = engine->List("q", JobState::kWaiting, cursor, 10);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    listed += page->jobs.size();
    cursor = page->next_cursor;
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(listed, 26u);
  EXPECT_GE(pages, 3);

  ASSERT_TRUE(engine->Pause("q").ok());
  EXPECT_TRUE(engine->Counts("q")->paused);
  EXPECT_TRUE(engine->Take({"q"})->empty());
  ASSERT_TRUE(engine->Resume("q").ok());
  ASSERT_EQ(engine->Take({"q"})->size(), 1u);
  EXPECT_TRUE(engine->Remove("later").ok());
  EXPECT_TRUE(engine->Show("later").status().IsNotFound());
  auto queues = engine->Queues();
  EXPECT_NE(std::find(queues.begin(), queues.end(), "q"), queues.end());

  for (int i = 0; i < 3; ++i) {
    auto job = engine->Take({"q"});
    ASSERT_EQ(job->size(), 1u);
    ASSERT_TRUE(engine->Ack(job->at(0).job.id).ok());
  }
  EXPECT_EQ(*engine->Clean("q", JobState::kCompleted, 0, 2), 2u);
  EXPECT_EQ(engine->Counts("q")->completed, 1u);
}

TEST_F(EngineApiTest, ARestartFindsTheUnfinishedJobs) {
  {
    auto engine = Open(Options(0));
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->Start().ok());
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(engine->Add("emails", "m", AddOptions{.id = "m-" + std::to_string(i)}).ok());
    }
    ASSERT_EQ(engine->Take({"emails"}, 2)->size(), 2u);  // active when the process stops
    ASSERT_TRUE(engine->Ack("m-0").ok());
    EXPECT_TRUE(engine->Close());
    EXPECT_TRUE(engine->Close());  // idempotent
    EXPECT_TRUE(engine->Add("emails", "x").status().IsShuttingDown());
  }
  std::atomic<int> runs{0};
  auto engine = Open(Options(2));
  ASSERT_NE(engine, nullptr);
  auto counts = engine->Counts("emails");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->completed, 1u);
  EXPECT_EQ(counts->waiting, 4u);  // m-1 was active: waiting again
  ASSERT_TRUE(engine
                  ->RegisterHandler("emails",
                                    [&](const Work&) {
                                      ++runs;
                                      return Outcome::Success();
                                    })
                  .ok());
  ASSERT_TRUE(engine->Start().ok());
  for (int i = 1; i < 5; ++i) WaitFor(*engine, "m-" + std::to_string(i), JobState::kCompleted);
  EXPECT_EQ(runs.load(), 4);
  EXPECT_EQ(engine->Show("m-1")->attempts_made, 2u);
}

TEST_F(EngineApiTest, OptionsAreChecked) {
  EngineOptions options = Options();
  options.data_dir.clear();
  EXPECT_TRUE(Engine::Open(options).status().IsInvalidArgument());
  options = Options();
  options.queues[0].name = "no spaces";
  auto bad = Engine::Open(options);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument()) << bad.status().ToString();
  auto engine = Open(Options());
  ASSERT_NE(engine, nullptr);
  EXPECT_TRUE(engine->RegisterHandler("emails", nullptr).IsInvalidArgument());
  auto noop = [](const Work&) { return Outcome::Success(); };
  EXPECT_TRUE(engine->RegisterHandler("emails", noop).ok());
  EXPECT_TRUE(engine->RegisterHandler("emails", noop).IsAlreadyExists());
  EXPECT_TRUE(engine->RegisterHandler("bad name", noop).IsInvalidArgument());
  // A second engine on the same directory is refused while the first has it.
  auto second = Engine::Open(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsIOError()) << second.status().ToString();
  ASSERT_TRUE(engine->Start().ok());
  EXPECT_TRUE(engine->RegisterHandler("tickets", noop).IsInvalidArgument());
}

// A RESP command over a plain socket; returns the raw reply.
std::string Resp(std::uint16_t port, const std::string& command) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  const std::string request = command + "\r\n";
  if (::write(fd, request.data(), request.size()) < 0) {
    ::close(fd);
    return "write failed";
  }
  char buffer[4096];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  ::close(fd);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "";
}

TEST_F(EngineApiTest, ServersGiveRedisClientsAndTheDashboardTheSameJobs) {
  EngineOptions options = Options(0);
  options.fsync = herald::Fsync::kAlways;
  auto engine = Open(options);
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine->Start().ok());
  herald::ServerOptions servers;
  servers.resp_port = 0;
  servers.http_port = 0;
  auto ports = engine->StartServers(servers);
  ASSERT_TRUE(ports.ok()) << ports.status().ToString();
  EXPECT_NE(ports->resp, 0);
  EXPECT_NE(ports->http, 0);
  EXPECT_TRUE(engine->StartServers(servers).status().IsAlreadyExists());

  ASSERT_TRUE(engine->Add("emails", "from-api", AddOptions{.id = "api-1"}).ok());
  EXPECT_EQ(Resp(ports->resp, "PING"), "+PONG\r\n");
  EXPECT_EQ(Resp(ports->resp, "CONFIG GET appendfsync"),
            "*2\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n");
  EXPECT_EQ(Resp(ports->resp, "ADDJOB emails from-resp JOBID resp-1"), "$6\r\nresp-1\r\n");
  EXPECT_EQ(engine->Show("resp-1")->payload, "from-resp");
  herald::testing::HttpClient http(ports->http);
  auto job = http.Get("/api/jobs/api-1");
  EXPECT_EQ(job.status, 200u) << job.body;
  EXPECT_NE(job.body.find("from-api"), std::string::npos) << job.body;
  EXPECT_EQ(http.Get("/queues").status, 200u);

  herald::ServerOptions open_to_all;
  open_to_all.bind = "0.0.0.0";
  EXPECT_TRUE(engine->StartServers(open_to_all).status().IsInvalidArgument());
  EXPECT_TRUE(engine->Close());
  EXPECT_EQ(Resp(ports->resp, "PING"), "connect failed");
}

TEST_F(EngineApiTest, LogLinesReachTheCallback) {
  {
    auto engine = Open(Options(0));
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->Start().ok());
    ASSERT_TRUE(engine->Add("emails", "x", AddOptions{.id = "x"}).ok());
    ASSERT_EQ(engine->Take({"emails"})->size(), 1u);
  }
  auto engine = Open(Options(0));  // the job that was active is reported at open
  ASSERT_NE(engine, nullptr);
  std::lock_guard<std::mutex> lock(log_mu_);
  bool found = false;
  for (const std::string& line : log_)
    found = found || line.find("waiting again") != std::string::npos;
  EXPECT_TRUE(found);
}

}  // namespace
