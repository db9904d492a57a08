// End-to-end engine benchmarks: add -> a worker thread runs a no-op handler -> completed, with
// the real store in a temp dir.
//
//   BM_EndToEnd_NoopHandler/<fsync>   jobs/s through 5 workers (items_per_second)
//   BM_AddToStartLatency/<fsync>      p50/p99 from Add() to the handler starting, at a fixed
//                                      1000 jobs/s (counters p50_us, p99_us)
//   BM_EndToEnd_JobEvents/<n>         jobs/s as BM_EndToEnd_NoopHandler in fsync `no`, with n
//                                      subscribers counting job events (0 or 1)
//   BM_JobEventPublish/<n>            one Publish as the engine makes it, n subscribers
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/broker.h"
#include "storage/store.h"

namespace herald::engine {
namespace {

using Clock = std::chrono::steady_clock;

struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/herald-bench-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

storage::FsyncMode ModeOf(int64_t index) {
  switch (index) {
    case 0:
      return storage::FsyncMode::kNo;
    case 1:
      return storage::FsyncMode::kEverysec;
    default:
      return storage::FsyncMode::kAlways;
  }
}

const char* ModeName(int64_t index) { return storage::FsyncModeName(ModeOf(index)).data(); }

// Counts completed jobs and records when each handler started.
class NoopHandler : public Handler {
 public:
  HandlerOutcome Run(const HandlerJob& job) override {
    if (started_ != nullptr) {
      auto now = Clock::now();
      // The payload is the add time in ns since the steady clock's epoch.
      int64_t added = std::strtoll(std::string(job.payload).c_str(), nullptr, 10);
      std::lock_guard<std::mutex> lock(mu_);
      started_->push_back(now.time_since_epoch().count() - added);
    }
    ++done_;
    return HandlerOutcome::Success();
  }
  std::atomic<int64_t> done_{0};
  std::vector<int64_t>* started_ = nullptr;
  std::mutex mu_;
};

struct Rig {
  TempDir dir;
  std::unique_ptr<storage::Store> store;
  SystemClock clock;
  std::unique_ptr<Broker> broker;
  std::shared_ptr<NoopHandler> handler = std::make_shared<NoopHandler>();

  std::atomic<int64_t> events{0};  // seen by the counting subscribers

  explicit Rig(storage::FsyncMode mode, int subscribers = 0) {
    storage::StoreOptions options;
    options.data_dir = dir.path;
    options.fsync = mode;
    store = std::move(storage::Store::Open(options)).value();
    EngineConfig config;
    config.workers = 5;
    broker =
        std::move(Broker::Create(store.get(), config, &clock, spdlog::default_logger())).value();
    for (int i = 0; i < subscribers; ++i) {
      (void)broker->events().Subscribe(
          [this](const JobEvent&) { events.fetch_add(1, std::memory_order_relaxed); });
    }
    (void)broker->RegisterHandler("bench", handler);
    (void)broker->Start();
  }
  ~Rig() {
    broker->Shutdown();
    broker.reset();
    store.reset();
  }
};

// Adds batches of 1000 jobs through `rig`'s workers until the benchmark has enough; returns
// how many were added (all of them completed).
int64_t RunEndToEnd(benchmark::State& state, Rig& rig) {
  const int64_t batch = 1000;
  int64_t added = 0;
  for (auto _ : state) {
    std::vector<std::pair<std::string, JobOptions>> jobs(batch, {"x", JobOptions{}});
    auto result = rig.broker->AddMany("bench", std::move(jobs));
    if (!result.ok()) state.SkipWithError(result.status().ToString().c_str());
    added += batch;
    // Keep at most a few batches in flight, so the measurement is of throughput, not of
    // queueing up. Sleeping (not yielding in a loop) leaves both cores to the workers.
    while (added - rig.handler->done_.load() > 4 * batch) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  while (rig.handler->done_.load() < added)
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  return added;
}

void BM_EndToEnd_NoopHandler(benchmark::State& state) {
  Rig rig(ModeOf(state.range(0)));
  state.SetLabel(ModeName(state.range(0)));
  state.SetItemsProcessed(RunEndToEnd(state, rig));
}
BENCHMARK(BM_EndToEnd_NoopHandler)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The same with n subscribers that count events: each job publishes added, active and
// completed; the subscribers run on the event dispatcher's thread, not on the workers.
void BM_EndToEnd_JobEvents(benchmark::State& state) {
  const int subscribers = static_cast<int>(state.range(0));
  Rig rig(storage::FsyncMode::kNo, subscribers);
  state.SetLabel(subscribers == 0 ? "no, no subscriber" : "no, 1 counting subscriber");
  const int64_t jobs = RunEndToEnd(state, rig);
  rig.broker->Shutdown();  // delivers the events still queued
  const JobEventStats stats = rig.broker->event_stats();
  state.SetItemsProcessed(jobs);
  state.counters["events_per_job"] =
      static_cast<double>(rig.events.load()) / static_cast<double>(std::max<int64_t>(jobs, 1));
  state.counters["dropped"] = static_cast<double>(stats.dropped);
}
BENCHMARK(BM_EndToEnd_JobEvents)
    ->ArgName("subscribers")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// One Publish as Broker::Publish makes it (check empty(), then build and queue the event),
// from 1 or 4 threads: with no subscriber it is a load of an atomic; with one, a lock and an
// append. A tight loop publishes far faster than any engine does, so with 4 threads the
// dispatcher falls behind and `dropped_pct` shows what the bound throws away.
void BM_JobEventPublish(benchmark::State& state) {
  static std::unique_ptr<JobEventBus> bus;
  static std::atomic<int64_t> seen{0};
  if (state.thread_index() == 0) {
    bus = std::make_unique<JobEventBus>(65536, spdlog::default_logger());
    for (int64_t i = 0; i < state.range(0); ++i) {
      (void)bus->Subscribe([](const JobEvent&) { seen.fetch_add(1, std::memory_order_relaxed); });
    }
  }
  const std::string queue = "emails";
  const std::string id = "1234567";  // generated ids are short decimals (no allocation)
  for (auto _ : state) {
    if (!bus->empty()) bus->Publish(JobEvent{JobEventType::kActive, queue, id, 1, {}, 0});
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    bus->Stop();
    const JobEventStats stats = bus->stats();
    state.counters["dropped_pct"] =
        stats.published == 0
            ? 0.0
            : 100.0 * static_cast<double>(stats.dropped) / static_cast<double>(stats.published);
    bus.reset();
  }
}
BENCHMARK(BM_JobEventPublish)->ArgName("subscribers")->Arg(0)->Arg(1)->Threads(1)->Threads(4);

void BM_AddToStartLatency(benchmark::State& state) {
  Rig rig(ModeOf(state.range(0)));
  state.SetLabel(ModeName(state.range(0)));
  std::vector<int64_t> latencies;
  latencies.reserve(1 << 16);
  rig.handler->started_ = &latencies;
  const auto interval = std::chrono::microseconds(1000);  // 1000 jobs/s
  int64_t added = 0;
  for (auto _ : state) {
    auto next = Clock::now();
    for (int i = 0; i < 200; ++i) {
      next += interval;
      std::this_thread::sleep_until(next);
      auto result = rig.broker->Add(
          "bench", std::to_string(Clock::now().time_since_epoch().count()), JobOptions{});
      if (!result.ok()) state.SkipWithError(result.status().ToString().c_str());
      ++added;
    }
  }
  while (rig.handler->done_.load() < added)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::vector<int64_t> sorted;
  {
    std::lock_guard<std::mutex> lock(rig.handler->mu_);
    sorted = latencies;
  }
  std::sort(sorted.begin(), sorted.end());
  if (!sorted.empty()) {
    state.counters["p50_us"] = static_cast<double>(sorted[sorted.size() / 2]) / 1000.0;
    state.counters["p99_us"] = static_cast<double>(sorted[sorted.size() * 99 / 100]) / 1000.0;
    state.counters["max_us"] = static_cast<double>(sorted.back()) / 1000.0;
  }
  state.SetItemsProcessed(added);
}
BENCHMARK(BM_AddToStartLatency)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Records how late each handler started after its job's due time (payload: due, in system
// clock microseconds).
class LatenessHandler : public Handler {
 public:
  HandlerOutcome Run(const HandlerJob& job) override {
    const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    const int64_t due_us = std::strtoll(std::string(job.payload).c_str(), nullptr, 10);
    std::lock_guard<std::mutex> lock(mu_);
    lateness_us_.push_back(now_us - due_us);
    return HandlerOutcome::Success();
  }
  std::mutex mu_;
  std::vector<int64_t> lateness_us_;
};

// Lateness of delayed jobs with many other delayed jobs waiting (HERALD_BENCH_DELAYED of them,
// default 100000, due an hour later): the scheduler sleeps until the earliest due key.
void BM_DelayedLateness(benchmark::State& state) {
  int64_t preload = 100000;
  if (const char* env = std::getenv("HERALD_BENCH_DELAYED")) preload = std::atoll(env);
  TempDir dir;
  storage::StoreOptions options;
  options.data_dir = dir.path;
  options.fsync = storage::FsyncMode::kEverysec;
  auto store = std::move(storage::Store::Open(options)).value();
  SystemClock clock;
  EngineConfig config;
  auto broker =
      std::move(Broker::Create(store.get(), config, &clock, spdlog::default_logger())).value();
  auto handler = std::make_shared<LatenessHandler>();
  (void)broker->RegisterHandler("late", handler);
  for (int64_t added = 0; added < preload; added += 1000) {
    std::vector<std::pair<std::string, JobOptions>> jobs;
    for (int i = 0; i < 1000; ++i) {
      JobOptions later;
      later.delay_ms = 3600 * 1000;
      jobs.emplace_back("0", later);
    }
    (void)broker->AddMany("parked", std::move(jobs));
  }
  (void)broker->Start();
  int64_t scheduled = 0;
  for (auto _ : state) {
    for (int i = 0; i < 100; ++i) {
      JobOptions options_i;
      options_i.delay_ms = 5 + (i % 20);
      const int64_t due_us = (clock.NowMs() + options_i.delay_ms) * 1000;
      (void)broker->Add("late", std::to_string(due_us), options_i);
      ++scheduled;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  for (int i = 0; i < 5000; ++i) {
    {
      std::lock_guard<std::mutex> lock(handler->mu_);
      if (static_cast<int64_t>(handler->lateness_us_.size()) >= scheduled) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  broker->Shutdown();
  std::vector<int64_t> sorted;
  {
    std::lock_guard<std::mutex> lock(handler->mu_);
    sorted = handler->lateness_us_;
  }
  std::sort(sorted.begin(), sorted.end());
  if (!sorted.empty()) {
    state.counters["p50_late_us"] = static_cast<double>(sorted[sorted.size() / 2]);
    state.counters["p99_late_us"] = static_cast<double>(sorted[sorted.size() * 99 / 100]);
    state.counters["max_late_us"] = static_cast<double>(sorted.back());
  }
  state.counters["delayed_waiting"] = static_cast<double>(preload);
  state.SetItemsProcessed(scheduled);
}
BENCHMARK(BM_DelayedLateness)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace herald::engine

BENCHMARK_MAIN();
