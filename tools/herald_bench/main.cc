// herald-bench: load for the job workload over RESP, against a Herald it starts itself (at
// --fsync MODE) or one given with --connect. Scenarios:
//
//   add      ADDJOB from --connections connections, each keeping --depth in flight (1: one by
//            one), or in pipelined batches of --batch: the add rate and each add's latency
//   cycle    producers as `add`, and --workers connections each looping GETJOB ACK id FROM
//            (a worker's step in one round trip): the processing rate, and the time from a
//            job's ADDJOB to its GETJOB
//   retry    as cycle, every job failing its first attempt (NACK) and completing its second
//   delayed  jobs added with DELAY (--delay-ms; with --burst all due at one moment): the
//            lateness of each job's GETJOB against its due time
//   e2e      EMIT at --rate while the server's 5 in-process workers run a no-op handler: the
//            time from add to handler start, from each job's own timestamps (created-ms,
//            processed-ms: millisecond resolution). A server it starts gets the config for it;
//            one given with --connect needs queue `bench` served by a `noop` handler and
//            event type `bench.event` routed to it
//   fill     --jobs waiting jobs, pipelined: the rate, then the server's RSS and disk use, and
//            (a server of its own) the restart's time to the first PONG and the first GETJOB
//
// Jobs are booking.created-shaped events of --payload bytes with ids "j-<n>". Progress goes to
// stderr, the summary table (throughput, latency p50/p90/p99/max, errors, duplicates) to stdout,
// or a JSON object with --json. bench/README.md has figures and how they were made.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "net/client/client.h"
#include "tools/herald_bench/bench_server.h"

namespace herald::bench {
namespace {

using client::Client;
using resp::Reply;
using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::string scenario;
  std::string connect;  // "" = start a server
  std::string password;
  std::string fsync = "everysec";
  std::string herald;  // the binary; default: ../herald beside this one
  std::uint64_t jobs = 20000;
  std::uint32_t connections = 4;
  std::uint32_t depth = 16;
  std::uint32_t batch = 0;
  std::uint32_t payload = 300;
  double rate = 0;  // adds per second over all producers; 0 = as fast as possible
  std::uint32_t workers = 4;
  std::int64_t delay_ms = 1000;
  bool burst = false;
  bool json = false;
};

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

// What every thread of a run reports.
struct Run {
  std::atomic<std::uint64_t> added{0};
  std::atomic<std::uint64_t> done{0};  // completed (cycle, retry, delayed) or added (add, fill)
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> duplicates{0};
  std::unique_ptr<std::atomic<std::uint8_t>[]> seen;  // per job: taken to completion
  std::mutex mu;
  std::vector<std::int64_t> latencies_ns;  // merged from the threads
  std::string first_error;

  void Merge(std::vector<std::int64_t>& mine) {
    std::lock_guard lock(mu);
    latencies_ns.insert(latencies_ns.end(), mine.begin(), mine.end());
  }
  void Error(const std::string& what) {
    if (errors.fetch_add(1) == 0) {
      std::lock_guard lock(mu);
      first_error = what;
    }
  }
};

// A booking.created-shaped event of about `size` bytes carrying `stamp` (ns, steady clock) as
// "t".
std::string Payload(std::uint64_t n, std::int64_t stamp, std::uint32_t size,
                    std::string_view type = "booking.created") {
  std::string event = R"({"eventType":")" + std::string(type) + R"(","eventId":"j-)" +
                      std::to_string(n) + R"(","timestamp":"2026-12-01T10:00:00Z","t":)" +
                      std::to_string(stamp) + R"(,"data":{"bookingId":"b-)" + std::to_string(n) +
                      R"(","userId":"u-1","userEmail":"u1@example.com","pad":")";
  if (event.size() + 3 < size) event.append(size - event.size() - 3, 'x');
  return event + "\"}}";
}

std::int64_t StampOf(const std::string& payload) {
  const std::size_t at = payload.find("\"t\":");
  return at == std::string::npos ? 0 : std::atoll(payload.c_str() + at + 4);
}

std::unique_ptr<Client> Connect(const std::string& host, std::uint16_t port,
                                const std::string& password, Run* run) {
  auto client = Client::Connect(host, port, std::chrono::seconds(30));
  if (!client.ok()) {
    run->Error(client.status().message());
    return nullptr;
  }
  if (!password.empty()) (void)(*client)->Auth(password);
  return std::move(client).value();
}

class Bench {
 public:
  Bench(Options options, std::string host, std::uint16_t port)
      : options_(std::move(options)), host_(std::move(host)), port_(port) {
    run_.seen = std::make_unique<std::atomic<std::uint8_t>[]>(options_.jobs);
  }

  Run& run() { return run_; }

  // Producer `index` of `of`: its share of the jobs, `depth` in flight (or batches).
  void Produce(std::uint32_t index, std::uint32_t of) {
    auto client = Connect(host_, port_, options_.password, &run_);
    if (!client) return;
    std::vector<std::int64_t> latencies;
    const std::uint64_t first = options_.jobs * index / of;
    const std::uint64_t last = options_.jobs * (index + 1) / of;
    const std::int64_t interval_ns =
        options_.rate > 0 ? static_cast<std::int64_t>(1e9 * of / options_.rate) : 0;
    std::vector<std::int64_t> sent;  // send times of the adds in flight, oldest first
    std::size_t oldest = 0;
    std::int64_t next_send = Now();
    std::uint64_t n = first;
    auto send = [&] {
      if (interval_ns > 0) {
        while (Now() < next_send) std::this_thread::sleep_for(std::chrono::microseconds(50));
        next_send += interval_ns;
      }
      const std::int64_t now = Now();
      client->Append(AddCommand(n++, now));
      sent.push_back(now);
      // One at a time: out now, not with the next read (a batch goes out whole when read).
      if (options_.batch == 0 && !client->ReadReplies(0).ok()) run_.Error("send failed");
    };
    while (n < last || oldest < sent.size()) {
      if (options_.batch > 0) {
        // A pipelined batch: sent whole, read whole.
        while (n < last && sent.size() - oldest < options_.batch) send();
      } else {
        while (n < last && sent.size() - oldest < options_.depth) send();
      }
      const std::size_t to_read = options_.batch > 0 ? sent.size() - oldest : 1;
      auto replies = client->ReadReplies(to_read);
      if (!replies.ok()) {
        run_.Error(replies.status().message());
        return;
      }
      const std::int64_t now = Now();
      for (const Reply& reply : *replies) {
        if (reply.is_error()) {
          run_.Error(reply.str);
        } else {
          run_.added.fetch_add(1, std::memory_order_relaxed);
          if (!TakesJobs() && options_.scenario != "e2e") {
            run_.done.fetch_add(1, std::memory_order_relaxed);
          }
        }
        if (!TakesJobs() && options_.scenario != "e2e") latencies.push_back(now - sent[oldest]);
        ++oldest;
      }
      if (oldest == sent.size()) {
        sent.clear();
        oldest = 0;
      }
    }
    run_.Merge(latencies);
  }

  // A worker connection: GETJOB (with the ACK of the job before) until every job is done.
  void Work() {
    auto client = Connect(host_, port_, options_.password, &run_);
    if (!client) return;
    std::vector<std::int64_t> latencies;
    std::optional<std::string> to_ack;
    while (run_.done.load(std::memory_order_relaxed) < options_.jobs && run_.errors.load() == 0) {
      std::vector<std::string> args = {"GETJOB", "TIMEOUT", "100"};
      if (to_ack) {
        args.insert(args.end(), {"ACK", *to_ack});
        to_ack.reset();
      }
      args.insert(args.end(), {"FROM", "bench"});
      auto reply = client->Command(args);
      if (!reply.ok()) {
        run_.Error(reply.status().message());
        break;
      }
      if (reply->is_error()) {
        run_.Error(reply->str);
        break;
      }
      if (reply->elements.empty()) continue;
      const Reply& job = reply->elements[0];
      const std::int64_t now = Now();
      const std::string& id = job.elements[1].str;
      const std::int64_t attempts = job.elements[3].integer;
      if (options_.scenario == "retry" && attempts == 1) {
        auto nack = client->Command({"NACK", id, "the first attempt fails"});
        if (!nack.ok() || nack->is_error()) run_.Error("NACK failed");
        continue;
      }
      const std::uint64_t n = std::strtoull(id.c_str() + 2, nullptr, 10);
      if (n < options_.jobs && run_.seen[n].exchange(1) != 0) {
        run_.duplicates.fetch_add(1, std::memory_order_relaxed);
      } else {
        const std::int64_t stamp = StampOf(job.elements[2].str);
        latencies.push_back(now - stamp);
        run_.done.fetch_add(1, std::memory_order_relaxed);
      }
      to_ack = id;
    }
    if (to_ack) (void)client->Command({"ACKJOB", *to_ack});
    run_.Merge(latencies);
  }

  bool TakesJobs() const {
    return options_.scenario != "add" && options_.scenario != "fill" && options_.scenario != "e2e";
  }

  // e2e: waits until every job is completed (QSTAT), then reads each one's created-ms and
  // processed-ms (SHOW, pipelined).
  void CollectHandOffs(std::chrono::seconds limit) {
    auto client = Connect(host_, port_, options_.password, &run_);
    if (!client) return;
    const auto deadline = SteadyClock::now() + limit;
    while (SteadyClock::now() < deadline) {
      auto stat = client->Command({"QSTAT", "bench"});
      std::uint64_t completed = 0;
      if (stat.ok()) {
        for (std::size_t i = 0; i + 1 < stat->elements.size(); i += 2) {
          if (stat->elements[i].str == "completed") {
            completed = static_cast<std::uint64_t>(stat->elements[i + 1].integer);
          }
        }
      }
      run_.done.store(completed);
      if (completed >= options_.jobs) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (run_.done.load() < options_.jobs) {
      run_.Error("only " + std::to_string(run_.done.load()) + " jobs completed in time");
    }
    std::vector<std::int64_t> latencies;
    for (std::uint64_t from = 0; from < options_.jobs; from += 1000) {
      const std::uint64_t to = std::min<std::uint64_t>(options_.jobs, from + 1000);
      for (std::uint64_t n = from; n < to; ++n) client->Append({"SHOW", "j-" + std::to_string(n)});
      auto shows = client->ReadReplies(to - from);
      if (!shows.ok()) return run_.Error(shows.status().message());
      for (const Reply& show : *shows) {
        std::int64_t created = 0, processed = 0;
        for (std::size_t i = 0; i + 1 < show.elements.size(); i += 2) {
          if (show.elements[i].str == "created-ms") created = show.elements[i + 1].integer;
          if (show.elements[i].str == "processed-ms") processed = show.elements[i + 1].integer;
        }
        if (processed > 0) latencies.push_back((processed - created) * 1'000'000);
      }
    }
    run_.Merge(latencies);
  }

 private:
  std::vector<std::string> AddCommand(std::uint64_t n, std::int64_t now) {
    if (options_.scenario == "e2e")
      return {"EMIT", Payload(n, now, options_.payload, "bench.event")};
    std::vector<std::string> args = {"ADDJOB", "bench", "", "JOBID", "j-" + std::to_string(n)};
    std::int64_t stamp = now;
    if (options_.scenario == "delayed") {
      const std::int64_t due = options_.burst ? burst_due_ns_ : now + options_.delay_ms * 1'000'000;
      const std::int64_t delay_ms = std::max<std::int64_t>(0, (due - now) / 1'000'000);
      args.insert(args.end(), {"DELAY", std::to_string(delay_ms)});
      stamp = now + delay_ms * 1'000'000;  // lateness is measured against the due time
    }
    if (options_.scenario == "retry") {
      args.insert(args.end(), {"ATTEMPTS", "2", "BACKOFF", "fixed", "0"});
    }
    args[2] = Payload(n, stamp, options_.payload);
    return args;
  }

  const Options options_;
  const std::string host_;
  const std::uint16_t port_;
  const std::int64_t burst_due_ns_ = Now() + options_.delay_ms * 1'000'000;
  Run run_;
};

std::string Micros(std::int64_t ns) {
  char text[32];
  if (ns >= 10'000'000) {
    std::snprintf(text, sizeof text, "%.1f ms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.0f us", static_cast<double>(ns) / 1e3);
  }
  return text;
}

std::int64_t Percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const std::size_t at = std::min(sorted.size() - 1, static_cast<std::size_t>(p * sorted.size()));
  return sorted[at];
}

int Main(int argc, char** argv) {
  Options options;
  CLI::App app{"herald-bench: load for Herald's job workload over RESP"};
  app.add_option("scenario", options.scenario, "add | cycle | retry | delayed | e2e | fill")
      ->required()
      ->check(CLI::IsMember({"add", "cycle", "retry", "delayed", "e2e", "fill"}));
  app.add_option("--connect", options.connect,
                 "host:port of a running Herald (default: start one)");
  app.add_option("--password", options.password, "AUTH password");
  app.add_option("--fsync", options.fsync, "the fsync mode of the server it starts")
      ->check(CLI::IsMember({"always", "everysec", "no"}));
  app.add_option("--herald", options.herald, "the herald binary to start");
  app.add_option("--jobs", options.jobs, "jobs in all")->check(CLI::Range(1, 100'000'000));
  app.add_option("--connections", options.connections, "producer connections")
      ->check(CLI::Range(1, 1000));
  app.add_option("--depth", options.depth, "adds in flight per connection (1: one by one)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--batch", options.batch, "pipelined batches of this many adds instead")
      ->check(CLI::Range(0, 100000));
  app.add_option("--payload", options.payload, "bytes per job")->check(CLI::Range(64, 1 << 20));
  app.add_option("--rate", options.rate, "adds per second in all (0: as fast as possible)");
  app.add_option("--workers", options.workers, "worker connections (cycle, retry, delayed)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--delay-ms", options.delay_ms, "delayed: DELAY of each job")
      ->check(CLI::Range(0, 3'600'000));
  app.add_flag("--burst", options.burst, "delayed: every job due at the same moment");
  app.add_flag("--json", options.json, "a JSON object instead of the table");
  CLI11_PARSE(app, argc, argv);
  if (options.scenario == "fill") {
    options.batch = options.batch > 0 ? options.batch : 1000;
  }
  if (options.scenario == "e2e") {
    if (options.rate <= 0) options.rate = 500;
    options.depth = 1;
  }
  char config_path[] = "/tmp/herald-bench-config-XXXXXX";
  std::string config_file;
  if (options.scenario == "e2e" && options.connect.empty()) {
    const int fd = ::mkstemp(config_path);
    if (fd < 0) return 2;
    const std::string config = "[engine]\ncompleted_retention = " +
                               std::to_string(std::max<std::uint64_t>(options.jobs, 1000)) +
                               "\n[events.\"bench.event\"]\nqueue = \"bench\"\nrequired = []\n"
                               "[handlers]\nqueues = { bench = \"noop\" }\n";
    const bool written =
        ::write(fd, config.data(), config.size()) == static_cast<ssize_t>(config.size());
    ::close(fd);
    if (!written) return 2;
    config_file = config_path;
  }

  std::unique_ptr<BenchServer> server;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  if (options.connect.empty()) {
    BenchServerOptions server_options;
    server_options.binary = options.herald.empty()
                                ? (std::filesystem::path(argv[0]).parent_path() / "herald").string()
                                : options.herald;
    server_options.fsync = options.fsync;
    server_options.config_file = config_file;
    server_options.workers = options.scenario == "e2e" ? 5 : 0;
    auto started = BenchServer::Start(server_options);
    if (!started.ok()) {
      std::fprintf(stderr, "herald-bench: %s\n", started.status().message().c_str());
      return 2;
    }
    server = std::move(started).value();
    port = server->port();
  } else {
    const std::size_t colon = options.connect.rfind(':');
    if (colon == std::string::npos) {
      std::fprintf(stderr, "herald-bench: --connect wants host:port\n");
      return 2;
    }
    host = options.connect.substr(0, colon);
    port = static_cast<std::uint16_t>(std::atoi(options.connect.c_str() + colon + 1));
  }

  Bench bench(options, host, port);
  Run& run = bench.run();
  const auto start = SteadyClock::now();
  auto end = start;
  {
    std::vector<std::jthread> threads;
    for (std::uint32_t i = 0; i < options.connections; ++i) {
      threads.emplace_back([&bench, i, &options] { bench.Produce(i, options.connections); });
    }
    if (bench.TakesJobs()) {
      for (std::uint32_t i = 0; i < options.workers; ++i) {
        threads.emplace_back([&bench] { bench.Work(); });
      }
    }
    std::jthread progress([&run, &options](std::stop_token stop) {
      while (!stop.stop_requested()) {
        const std::uint64_t done = run.done.load();
        const int percent = static_cast<int>(done * 100 / options.jobs);
        std::fprintf(stderr, "\r[%-40s] %3d%% %llu/%llu %s",
                     std::string(percent * 40 / 100, '#').c_str(), percent,
                     static_cast<unsigned long long>(done),
                     static_cast<unsigned long long>(options.jobs), options.scenario.c_str());
        std::fflush(stderr);
        if (done >= options.jobs || run.errors.load() > 0) break;
        // Woken by the stop as well: the run's time must not wait for the next tick.
        std::mutex mu;
        std::unique_lock<std::mutex> lock(mu);
        std::condition_variable_any().wait_for(lock, stop, std::chrono::milliseconds(200),
                                               [] { return false; });
      }
    });
    for (std::jthread& thread : threads) thread.join();
    if (options.scenario == "e2e") bench.CollectHandOffs(std::chrono::seconds(60));
    end = SteadyClock::now();
    progress.request_stop();
    progress.join();
    std::fprintf(stderr, "\r[%s] %3d%% %llu/%llu %s", std::string(40, '#').c_str(),
                 static_cast<int>(run.done.load() * 100 / options.jobs),
                 static_cast<unsigned long long>(run.done.load()),
                 static_cast<unsigned long long>(options.jobs), options.scenario.c_str());
  }
  const double seconds = std::chrono::duration<double>(end - start).count();
  std::fprintf(stderr, "\n");

  std::sort(run.latencies_ns.begin(), run.latencies_ns.end());
  const std::vector<std::int64_t>& l = run.latencies_ns;
  const double rate = static_cast<double>(run.done.load()) / seconds;
  boost::json::object result{{"scenario", options.scenario},
                             {"fsync", options.connect.empty() ? options.fsync : "(server's)"},
                             {"jobs", run.done.load()},
                             {"seconds", seconds},
                             {"per_second", rate},
                             {"p50_us", Percentile(l, 0.50) / 1000},
                             {"p90_us", Percentile(l, 0.90) / 1000},
                             {"p99_us", Percentile(l, 0.99) / 1000},
                             {"max_us", l.empty() ? 0 : l.back() / 1000},
                             {"errors", run.errors.load()},
                             {"duplicates", run.duplicates.load()}};
  std::vector<std::pair<std::string, std::string>> extra;
  if (options.scenario == "fill") {
    auto client = Client::Connect(host, port, std::chrono::seconds(10));
    if (client.ok()) {
      auto info = (*client)->Command({"INFO", "all"});
      auto field = [&](const std::string& name) -> std::uint64_t {
        if (!info.ok()) return 0;
        const std::size_t at = info->str.find("\r\n" + name + ":");
        return at == std::string::npos
                   ? 0
                   : std::strtoull(info->str.c_str() + at + name.size() + 3, nullptr, 10);
      };
      result["rss_bytes"] = field("used_memory_rss");
      result["disk_bytes"] = field("disk_bytes");
    }
    if (server) {
      auto restarted = server->Restart();
      if (restarted.ok()) {
        result["restart_to_pong_ms"] = static_cast<double>(restarted->count()) / 1e6;
        const auto before = SteadyClock::now();
        auto again = Client::Connect(host, port, std::chrono::seconds(10));
        if (again.ok()) {
          auto taken = (*again)->Command({"GETJOB", "NOHANG", "FROM", "bench"});
          if (taken.ok() && !taken->elements.empty()) {
            result["pong_to_first_getjob_ms"] =
                std::chrono::duration<double, std::milli>(SteadyClock::now() - before).count();
          }
        }
      } else {
        run.Error(restarted.status().message());
      }
    }
  }
  if (!config_file.empty()) ::unlink(config_file.c_str());
  if (options.json) {
    if (!run.first_error.empty()) result["first_error"] = run.first_error;
    std::printf("%s\n", boost::json::serialize(result).c_str());
  } else {
    std::printf("%-8s  %-9s  %9s  %8s  %10s  %9s  %9s  %9s  %9s  %6s  %10s\n", "SCENARIO", "FSYNC",
                "JOBS", "SECONDS", "JOBS/S", "P50", "P90", "P99", "MAX", "ERRORS", "DUPLICATES");
    std::printf("%-8s  %-9s  %9llu  %8.2f  %10.0f  %9s  %9s  %9s  %9s  %6llu  %10llu\n",
                options.scenario.c_str(), std::string(result["fsync"].as_string()).c_str(),
                static_cast<unsigned long long>(run.done.load()), seconds, rate,
                Micros(Percentile(l, 0.50)).c_str(), Micros(Percentile(l, 0.90)).c_str(),
                Micros(Percentile(l, 0.99)).c_str(), Micros(l.empty() ? 0 : l.back()).c_str(),
                static_cast<unsigned long long>(run.errors.load()),
                static_cast<unsigned long long>(run.duplicates.load()));
    for (const char* key :
         {"rss_bytes", "disk_bytes", "restart_to_pong_ms", "pong_to_first_getjob_ms"}) {
      if (const boost::json::value* value = result.if_contains(key)) {
        std::printf("%s: %s\n", key, boost::json::serialize(*value).c_str());
      }
    }
    if (!run.first_error.empty()) std::printf("first error: %s\n", run.first_error.c_str());
  }
  return run.errors.load() == 0 && run.duplicates.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace herald::bench

int main(int argc, char** argv) { return herald::bench::Main(argc, argv); }
