// Soak: the real binary under mixed load for HERALD_SOAK_SECONDS (default 40; hours on
// demand) — events emitted to the three handler queues, whose handlers fail a share of their
// attempts on purpose (retries, some jobs failed for good); delayed jobs on a fourth queue that
// remote workers take with GETJOB and acknowledge or NACK; the dashboard's API and /metrics
// polled; two event-stream clients reading. Then the load stops and every queue drains.
//
// Checked per queue: every add acknowledged to the producers was counted added by the server,
// and added = completed + failed for good (nothing left waiting, active or delayed). And the
// process did not grow: its RSS and open file descriptors at the end against a sample taken
// once the load was up (after a warm-up), within a bound that catches a leak per job or per
// request, not the allocator's noise.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/client/client.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace herald::testing {
namespace {

using namespace std::chrono_literals;
using client::Client;

constexpr const char* kQueues[] = {"emails", "notifications", "tickets", "audit"};

int SoakSeconds() {
  const char* text = std::getenv("HERALD_SOAK_SECONDS");
  const int seconds = text != nullptr ? std::atoi(text) : 40;
  return seconds > 0 ? seconds : 40;
}

// VmRSS of `pid` in KiB.
long RssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

long OpenFds(pid_t pid) {
  long n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

// `name{queue="q"} value` of a Prometheus text body, per queue.
std::map<std::string, long> Metric(const std::string& body, const std::string& name) {
  std::map<std::string, long> out;
  std::istringstream lines(body);
  std::string line;
  const std::string prefix = name + "{queue=\"";
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    const auto end = line.find('"', prefix.size());
    out[line.substr(prefix.size(), end - prefix.size())] = std::atol(line.c_str() + end + 3);
  }
  return out;
}

class SoakTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if defined(__SANITIZE_ADDRESS__)
    // An ASan build keeps up to 256 MiB of freed memory in quarantine, which would read as
    // growth: the server (started from here, with this environment) keeps 16 MiB.
    const char* asan = std::getenv("ASAN_OPTIONS");
    const std::string options = std::string(asan != nullptr ? asan : "") + ":quarantine_size_mb=16";
    setenv("ASAN_OPTIONS", options.c_str(), 1);
#endif
    const std::string config = dir_.Sub("soak.toml");
    std::ofstream(config) << R"(
[queues.emails]
attempts = 3
backoff = "fixed"
backoff_delay_ms = 50
[queues.notifications]
attempts = 2
backoff = "exponential"
backoff_delay_ms = 20
[queues.tickets]
attempts = 3
backoff = "fixed"
backoff_delay_ms = 10
[queues.audit]
attempts = 3
backoff = "fixed"
backoff_delay_ms = 30
lease_ms = 5000
[handlers.faults.emails]
fail_rate = 0.3
seed = 11
[handlers.faults.notifications]
fail_rate = 0.5
seed = 12
[handlers.faults.tickets]
fail_first = 1
)";
    herald_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{HERALD_BINARY, "--data-dir", dir_.Sub("data"), "--port",
                                 std::to_string(port_), "--http-port", std::to_string(http_port_),
                                 "--config", config, "--fsync", "everysec", "--log-level", "info"},
        dir_.Sub("herald.log"));
    ASSERT_TRUE(herald_->WaitForOutput("herald ready", 30s)) << herald_->Output();
  }

  std::unique_ptr<Client> Connect() {
    auto client = Client::Connect("127.0.0.1", static_cast<std::uint16_t>(port_), 10s);
    return client.ok() ? std::move(client).value() : nullptr;
  }

  void Acked(const std::string& queue, long n = 1) {
    std::lock_guard lock(mu_);
    acked_[queue] += n;
  }

  TempDir dir_;
  int port_ = FreePort();
  int http_port_ = FreePort();
  std::unique_ptr<ChildProcess> herald_;
  std::mutex mu_;
  std::map<std::string, long> acked_;  // adds the server acknowledged, per queue
  std::atomic<long> http_requests_{0};
  std::atomic<long> http_errors_{0};
  std::atomic<long> stream_bytes_{0};
};

TEST_F(SoakTest, MixedLoadDrainsToAddedEqualsCompletedPlusFailedWithoutGrowth) {
  const int seconds = SoakSeconds();
  std::atomic<bool> stop{false};          // the load
  std::atomic<bool> stop_workers{false};  // the remote workers, once every queue drained
  std::vector<std::jthread> threads;
  std::vector<std::jthread> workers;

  // Events for the three handler queues, pipelined 10 at a time, ~400/s.
  threads.emplace_back([&] {
    auto client = Connect();
    const char* bodies[] = {
        R"("eventType":"booking.created","data":{"bookingId":"BK-1","userId":"u-%d","userEmail":"u%d@example.com"})",
        R"("eventType":"booking.reminder","data":{"bookingId":"BK-2","userId":"u-%d"})",
        R"("eventType":"payment.failed","data":{"paymentId":"P-%d","bookingId":"BK-3","userId":"u-1","amount":12.5,"reason":"card declined"})"};
    const char* queues[] = {"emails", "notifications", "tickets"};
    for (long n = 0; client && !stop; n += 10) {
      std::vector<int> kinds;
      for (int i = 0; i < 10; ++i) {
        const int kind = static_cast<int>((n + i) % 3);
        char body[400];
        std::snprintf(body, sizeof body, bodies[kind], static_cast<int>(n + i),
                      static_cast<int>(n + i));
        client->Append({"EMIT", std::string("{\"eventId\":\"evt-") + std::to_string(n + i) + "\"," +
                                    body + "}"});
        kinds.push_back(kind);
      }
      auto replies = client->ReadReplies(kinds.size());
      if (!replies.ok()) return;
      for (std::size_t i = 0; i < kinds.size(); ++i) {
        if (!(*replies)[i].is_error()) Acked(queues[kinds[i]]);
      }
      std::this_thread::sleep_for(25ms);
    }
  });
  // Delayed jobs for the remote workers, one by one, ~200/s, due 0-300 ms later.
  threads.emplace_back([&] {
    auto client = Connect();
    std::mt19937 random(7);
    for (long n = 0; client && !stop; ++n) {
      auto reply = client->Command({"ADDJOB", "audit", "entry " + std::to_string(n), "DELAY",
                                    std::to_string(random() % 300)});
      if (!reply.ok()) return;
      if (!reply->is_error()) Acked("audit");
      std::this_thread::sleep_for(5ms);
    }
  });
  // Two remote workers: GETJOB, then ACK, or NACK one in eight (retried after the backoff).
  for (int w = 0; w < 2; ++w) {
    workers.emplace_back([&, w] {
      auto client = Connect();
      std::mt19937 dice(100 + w);
      while (client && !stop_workers) {
        auto taken = client->Command({"GETJOB", "TIMEOUT", "100", "COUNT", "4", "FROM", "audit"});
        if (!taken.ok()) return;
        if (taken->is_error() || taken->elements.empty()) continue;
        for (const auto& job : taken->elements) {
          const std::string& id = job.elements[1].str;
          client->Append(dice() % 8 == 0 ? std::vector<std::string>{"NACK", id, "soak"}
                                         : std::vector<std::string>{"ACKJOB", id});
        }
        if (!client->ReadReplies(taken->elements.size()).ok()) return;
      }
    });
  }
  // The dashboard's polling.
  threads.emplace_back([&] {
    HttpClient http(static_cast<std::uint16_t>(http_port_));
    const char* targets[] = {"/api/queues",
                             "/api/queues/emails/jobs?state=failed&limit=20",
                             "/api/queues/audit/jobs?state=delayed",
                             "/metrics",
                             "/api/queues/emails/failures",
                             "/queues"};
    for (int n = 0; !stop; ++n) {
      HttpAnswer answer = http.Get(targets[n % 6]);
      ++http_requests_;
      if (answer.status != 200) ++http_errors_;
      std::this_thread::sleep_for(20ms);
    }
  });
  // Two event-stream clients reading as the dashboard does; each reconnects every few seconds.
  for (int s = 0; s < 2; ++s) {
    threads.emplace_back([&] {
      while (!stop) {
        const int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<std::uint16_t>(http_port_));
        timeval timeout{0, 200000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
          const std::string request = "GET /api/events/stream HTTP/1.1\r\nHost: x\r\n\r\n";
          send(fd, request.data(), request.size(), MSG_NOSIGNAL);
          char buffer[4096];
          for (auto until = std::chrono::steady_clock::now() + 3s;
               !stop && std::chrono::steady_clock::now() < until;) {
            const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
            if (n == 0) break;
            if (n > 0) stream_bytes_ += n;
          }
        }
        close(fd);
      }
    });
  }

  // Warm-up, then the baseline sample; the rest of the run, then the last sample.
  const auto warm_up = std::chrono::seconds(std::max(5, seconds / 5));
  std::this_thread::sleep_for(warm_up);
  const long rss_start = RssKib(herald_->pid());
  const long fds_start = OpenFds(herald_->pid());
  std::this_thread::sleep_for(std::chrono::seconds(seconds) - warm_up);
  stop = true;
  threads.clear();

  // Drain: nothing waiting, active or delayed in any queue.
  HttpClient http(static_cast<std::uint16_t>(http_port_));
  std::string metrics;
  for (auto deadline = std::chrono::steady_clock::now() + 60s;
       std::chrono::steady_clock::now() < deadline;) {
    metrics = http.Get("/metrics").body;
    long open = 0;
    for (const std::string state : {"waiting", "active", "delayed"}) {
      std::istringstream lines(metrics);
      std::string line;
      while (std::getline(lines, line)) {
        if (line.rfind("bullmq_job_count{", 0) == 0 &&
            line.find("state=\"" + state + "\"") != std::string::npos) {
          open += std::atol(line.c_str() + line.rfind(' ') + 1);
        }
      }
    }
    // The counters follow the states a moment later (the ends of attempts are counted after
    // their writes): drained once nothing is open and every queue's counters balance.
    bool balanced = open == 0;
    if (balanced) {
      const auto added_now = Metric(metrics, "herald_job_added_total");
      const auto completed_now = Metric(metrics, "bullmq_job_completed_total");
      const auto failed_now = Metric(metrics, "bullmq_job_failed_total");
      for (const char* queue : kQueues) {
        auto count = [&](const auto& m) { return m.count(queue) ? m.at(queue) : 0; };
        balanced = balanced && count(added_now) == count(completed_now) + count(failed_now);
      }
    }
    if (balanced) break;
    std::this_thread::sleep_for(100ms);
  }
  stop_workers = true;
  workers.clear();
  const long rss_end = RssKib(herald_->pid());
  const long fds_end = OpenFds(herald_->pid());

  const auto added = Metric(metrics, "herald_job_added_total");
  const auto completed = Metric(metrics, "bullmq_job_completed_total");
  const auto failed = Metric(metrics, "bullmq_job_failed_total");
  long total = 0;
  for (const char* queue : kQueues) {
    SCOPED_TRACE(queue);
    EXPECT_GT(acked_[queue], 0);
    EXPECT_EQ(added.at(queue), acked_[queue]);
    EXPECT_EQ(added.at(queue), completed.at(queue) + failed.at(queue))
        << "completed " << completed.at(queue) << ", failed " << failed.at(queue);
    total += added.at(queue);
  }
  EXPECT_GT(failed.at("emails"), 0);  // the injected faults exhausted some jobs' attempts
  EXPECT_GT(http_requests_.load(), 0);
  EXPECT_EQ(http_errors_.load(), 0);
  EXPECT_GT(stream_bytes_.load(), 0);
  // A leak of a few hundred bytes per job or request would show over the run.
  EXPECT_LE(rss_end, rss_start + rss_start / 2 + 64 * 1024)
      << "RSS " << rss_start << " KiB -> " << rss_end << " KiB";
  EXPECT_LE(fds_end, fds_start + 16) << "fds " << fds_start << " -> " << fds_end;
  std::printf(
      "soak: %d s, %ld jobs added, %ld HTTP requests, %ld event-stream bytes; RSS %ld -> "
      "%ld KiB, fds %ld -> %ld\n",
      seconds, total, http_requests_.load(), stream_bytes_.load(), rss_start, rss_end, fds_start,
      fds_end);
  herald_->Signal(SIGTERM);
  EXPECT_EQ(herald_->Wait(30s), 0) << herald_->Output();
}

}  // namespace
}  // namespace herald::testing
