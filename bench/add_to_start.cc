// add_to_start: the time from ADDJOB to a worker taking the job, over RESP, at a fixed rate.
//
//   add_to_start --port 6380 --queue bench --rate 500 --seconds 10
//
// Adds `rate` jobs a second for `seconds` (each ADDJOB waits for its reply, as a producer
// does), then reads every job back (SHOW) once it is no longer waiting and reports the
// percentiles of processed-ms minus created-ms: both stamped by the broker, so the figure is
// the broker's hand-off to whichever worker took the job (in-process or `herald worker`), at
// millisecond resolution. Needs workers on `queue` and enough completed_retention to keep the
// jobs (SHOW of a removed job is skipped and counted).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/client/client.h"

namespace {

using herald::client::Client;
using herald::resp::Reply;
using Clock = std::chrono::steady_clock;

struct Options {
  std::uint16_t port = 6380;
  std::string queue = "bench";
  int rate = 500;
  int seconds = 10;
};

bool ParseArgs(int argc, char** argv, Options* options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--port") {
      options->port = static_cast<std::uint16_t>(std::atoi(value));
    } else if (flag == "--queue") {
      options->queue = value;
    } else if (flag == "--rate") {
      options->rate = std::atoi(value);
    } else if (flag == "--seconds") {
      options->seconds = std::atoi(value);
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && options->rate > 0 && options->seconds > 0;
}

// The integer field `name` of a SHOW reply (a map, or a flat array in RESP2); -1 when absent.
std::int64_t Field(const Reply& show, const std::string& name) {
  for (std::size_t i = 0; i + 1 < show.elements.size(); i += 2) {
    if (show.elements[i].str == name) return show.elements[i + 1].integer;
  }
  const Reply* value = show.Find(name);
  return value != nullptr ? value->integer : -1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseArgs(argc, argv, &options)) {
    std::fprintf(stderr, "usage: add_to_start [--port P] [--queue Q] [--rate N] [--seconds S]\n");
    return 2;
  }
  auto connected = Client::Connect("127.0.0.1", options.port, std::chrono::seconds(10));
  if (!connected.ok()) {
    spdlog::error("cannot connect: {}", connected.status().message());
    return 1;
  }
  std::unique_ptr<Client> client = std::move(connected).value();
  const int total = options.rate * options.seconds;
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(total));
  const auto interval = std::chrono::nanoseconds(1'000'000'000 / options.rate);
  const auto start = Clock::now();
  for (int i = 0; i < total; ++i) {
    std::this_thread::sleep_until(start + interval * i);
    auto added = client->Command({"ADDJOB", options.queue, "probe-" + std::to_string(i)});
    if (!added.ok() || added->is_error()) {
      spdlog::error("ADDJOB failed: {}", added.ok() ? added->str : added.status().message());
      return 1;
    }
    ids.push_back(added->str);
    if ((i + 1) % options.rate == 0) {
      std::fprintf(stderr, "\r  added %d/%d", i + 1, total);
    }
  }
  std::fprintf(stderr, "\n");
  // Every job handed out (QLEN 0), then read back.
  for (int tries = 0; tries < 1000; ++tries) {
    auto waiting = client->Command({"QLEN", options.queue});
    if (waiting.ok() && waiting->integer == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<std::int64_t> delays;
  int missing = 0;
  for (const std::string& id : ids) {
    auto show = client->Command({"SHOW", id});
    if (!show.ok() || show->is_null()) {
      ++missing;
      continue;
    }
    const std::int64_t created = Field(*show, "created-ms");
    const std::int64_t processed = Field(*show, "processed-ms");
    if (created <= 0 || processed <= 0) {
      ++missing;
      continue;
    }
    delays.push_back(processed - created);
  }
  if (delays.empty()) {
    spdlog::error("no job was taken ({} missing)", missing);
    return 1;
  }
  std::sort(delays.begin(), delays.end());
  auto at = [&](double q) {
    return delays[std::min(delays.size() - 1, static_cast<std::size_t>(q * delays.size()))];
  };
  std::printf("%-8s %8s %8s %8s %8s %8s %8s\n", "jobs", "p50_ms", "p90_ms", "p99_ms", "max_ms",
              "missing", "rate");
  std::printf("%-8zu %8lld %8lld %8lld %8lld %8d %8d\n", delays.size(),
              static_cast<long long>(at(0.50)), static_cast<long long>(at(0.90)),
              static_cast<long long>(at(0.99)), static_cast<long long>(delays.back()), missing,
              options.rate);
  return 0;
}
