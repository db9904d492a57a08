// Storage benchmarks: adds, takes, the whole job cycle (add + take + complete) under each fsync
// mode; the cycle with a million jobs queued and after a million consumed (the tombstones a
// queue on an LSM tree leaves behind); and group commit: `always` with 1 writer vs 64 (threads
// each waiting for its add, or adds kept in flight by one thread).
//
//   storage_bench [--preload=N] [Google Benchmark flags]
//
// --preload (or HERALD_BENCH_PRELOAD) sizes the queued/consumed scenarios; default 1000000.
// CI smoke runs pass a small number. HERALD_BENCH_DIR chooses where the temporary databases go
// (default $TMPDIR or /tmp); `always` numbers mean something only on a real disk.
#include <benchmark/benchmark.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/store.h"

namespace herald::storage {
namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;
constexpr char kQueue[] = "bench";
// Who runs the jobs taken, as a local worker thread names itself in their attempts.
constexpr char kWorker[] = "local:0";

std::uint64_t g_preload = 1'000'000;

// A fresh directory, removed with its contents at the end.
class BenchDir {
 public:
  BenchDir() {
    const char* base = std::getenv("HERALD_BENCH_DIR");
    if (base == nullptr || *base == '\0') base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/herald-bench-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = buffer.data();
  }
  ~BenchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  BenchDir(const BenchDir&) = delete;
  BenchDir& operator=(const BenchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A store in its own temp dir with the queue "bench".
struct BenchStore {
  explicit BenchStore(FsyncMode mode) {
    StoreOptions options;
    options.data_dir = dir.path() + "/db";
    options.fsync = mode;
    options.logger =
        std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
    auto opened = Store::Open(options);
    if (!opened.ok()) throw std::runtime_error(opened.status().ToString());
    store = std::move(opened).value();
    Status s = store->EnsureQueue(kQueue);
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }
  BenchDir dir;
  std::unique_ptr<Store> store;
};

// A payload the size of a typical event (~200 bytes of JSON), fixed seed.
std::string MakePayload(std::mt19937_64& rng) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id(12, 'x');
  for (char& c : id) c = kAlphabet[rng() % (sizeof kAlphabet - 1)];
  return R"({"eventType":"booking.created","eventId":")" + id +
         R"(","timestamp":"2026-01-01T10:00:00Z","data":{"bookingId":"b-)" + id +
         R"(","userId":"u-42","userEmail":"guest@example.com","hotel":"Seaside"}})";
}

NewJob MakeJob(const std::string& payload) {
  NewJob job;
  job.payload = payload;
  job.max_attempts = 5;
  job.backoff_type = BackoffType::kExponential;
  job.backoff_ms = 2000;
  return job;
}

bool Check(benchmark::State& state, const Status& s) {
  if (s.ok()) return true;
  state.SkipWithError(s.ToString().c_str());
  return false;
}

void AddBulk(Store* store, std::uint64_t n, std::mt19937_64& rng) {
  constexpr std::uint64_t kChunk = 10000;
  std::string payload = MakePayload(rng);
  for (std::uint64_t done = 0; done < n; done += kChunk) {
    std::vector<NewJob> jobs;
    for (std::uint64_t i = done; i < std::min(n, done + kChunk); ++i)
      jobs.push_back(MakeJob(payload));
    auto added = store->AddMany(kQueue, std::move(jobs), kNow);
    if (!added.ok()) throw std::runtime_error(added.status().ToString());
  }
}

// One take and complete; false (with the error reported) on failure or an empty queue.
bool TakeAndComplete(benchmark::State& state, Store* store) {
  auto taken = store->Take(kQueue, kNow, kWorker);
  if (!Check(state, taken.status())) return false;
  if (!taken->has_value()) {
    state.SkipWithError("queue unexpectedly empty");
    return false;
  }
  return Check(state, store->Complete((*taken)->id, "", kNow).status());
}

// ---- Single-threaded operations in each fsync mode ---------------------------------------------

void BM_Add(benchmark::State& state, FsyncMode mode) {
  BenchStore bench(mode);
  std::mt19937_64 rng(42);
  std::string payload = MakePayload(rng);
  for (auto _ : state) {
    if (!Check(state, bench.store->Add(kQueue, MakeJob(payload), kNow).status())) break;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_TakeComplete(benchmark::State& state, FsyncMode mode) {
  BenchStore bench(mode);
  std::mt19937_64 rng(42);
  for (auto _ : state) {
    auto counts = bench.store->Counts(kQueue);
    if (counts->waiting == 0) {
      state.PauseTiming();
      AddBulk(bench.store.get(), 20000, rng);
      state.ResumeTiming();
    }
    if (!TakeAndComplete(state, bench.store.get())) break;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Add, take, complete: the life of a job that succeeds at once. Runs on a store shared by the
// benchmark's threads (set up per mode), so Threads(2) shows two workers on two cores.
std::unique_ptr<BenchStore> g_shared;

template <FsyncMode kMode>
void SetUpShared(const benchmark::State&) {
  g_shared = std::make_unique<BenchStore>(kMode);
}
void TearDownShared(const benchmark::State&) { g_shared.reset(); }

void BM_Cycle(benchmark::State& state) {
  std::mt19937_64 rng(42 + static_cast<std::uint64_t>(state.thread_index()));
  std::string payload = MakePayload(rng);
  Store* store = g_shared->store.get();
  for (auto _ : state) {
    // Each thread adds before it takes, so a Take always finds a job.
    if (!Check(state, store->Add(kQueue, MakeJob(payload), kNow).status())) break;
    if (!TakeAndComplete(state, store)) break;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// The same cycle for a batch of jobs at a time, as pipelining producers and workers run it:
// AddMany, TakeMany and CompleteMany of state.range(0) jobs, one write batch each (each job's
// transition still atomic). Items are jobs.
void BM_CycleBatch(benchmark::State& state, FsyncMode mode) {
  BenchStore bench(mode);
  std::mt19937_64 rng(42);
  std::string payload = MakePayload(rng);
  const auto batch = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    std::vector<NewJob> jobs;
    jobs.reserve(batch);
    for (std::size_t i = 0; i < batch; ++i) jobs.push_back(MakeJob(payload));
    if (!Check(state, bench.store->AddMany(kQueue, std::move(jobs), kNow).status())) break;
    auto taken = bench.store->TakeMany(kQueue, batch, kNow, kWorker);
    if (!Check(state, taken.status())) break;
    if (taken->size() != batch) {
      state.SkipWithError("took fewer jobs than were added");
      break;
    }
    std::vector<Completion> done;
    done.reserve(batch);
    for (const Job& job : *taken) done.push_back(Completion{job.id, ""});
    bool ok = true;
    for (const auto& result : bench.store->CompleteMany(std::move(done), kNow)) {
      ok = ok && Check(state, result.status());
    }
    if (!ok) break;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}

// The cycle as a local worker runs it: the completion of one job and the take of the next
// are one batch (Store::CompleteAndTake), so a job costs two writes (add, complete+take).
void BM_CycleCompleteAndTake(benchmark::State& state, FsyncMode mode) {
  BenchStore bench(mode);
  std::mt19937_64 rng(42);
  std::string payload = MakePayload(rng);
  Store* store = bench.store.get();
  if (!Check(state, store->Add(kQueue, MakeJob(payload), kNow).status())) return;
  auto first = store->Take(kQueue, kNow, kWorker);
  if (!Check(state, first.status()) || !first->has_value()) return;
  std::string active = (*first)->id;
  for (auto _ : state) {
    if (!Check(state, store->Add(kQueue, MakeJob(payload), kNow).status())) break;
    CompleteAndTakeResult result = store->CompleteAndTake({active, ""}, kQueue, kNow, kWorker);
    if (!Check(state, result.completed.status())) break;
    if (!result.next) {
      state.SkipWithError("queue unexpectedly empty");
      break;
    }
    active = result.next->id;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// ---- A big queue, and a queue that consumed a lot ------------------------------------------

// Built once (minutes at 10^6) and shared by every run of the benchmark that uses it.
std::unique_ptr<BenchStore> g_queued;
std::unique_ptr<BenchStore> g_consumed;

void BM_Cycle_Queued(benchmark::State& state) {
  if (!g_queued) {
    g_queued = std::make_unique<BenchStore>(FsyncMode::kNo);
    std::mt19937_64 rng(7);
    AddBulk(g_queued->store.get(), g_preload, rng);
  }
  Store* store = g_queued->store.get();
  std::mt19937_64 rng(42);
  std::string payload = MakePayload(rng);
  for (auto _ : state) {
    if (!Check(state, store->Add(kQueue, MakeJob(payload), kNow).status())) break;
    if (!TakeAndComplete(state, store)) break;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["waiting"] = static_cast<double>(store->Counts(kQueue)->waiting);
}

void BM_Cycle_Consumed(benchmark::State& state) {
  if (!g_consumed) {
    g_consumed = std::make_unique<BenchStore>(FsyncMode::kNo);
    std::mt19937_64 rng(7);
    Store* store = g_consumed->store.get();
    AddBulk(store, g_preload, rng);
    for (std::uint64_t i = 0; i < g_preload; ++i) {
      if (!TakeAndComplete(state, store)) return;
    }
  }
  Store* store = g_consumed->store.get();
  std::mt19937_64 rng(42);
  std::string payload = MakePayload(rng);
  for (auto _ : state) {
    if (!Check(state, store->Add(kQueue, MakeJob(payload), kNow).status())) break;
    if (!TakeAndComplete(state, store)) break;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// The first Take after a restart on a queue that consumed --preload jobs: the in-memory head
// is gone, so this one seek crosses whatever tombstones compaction has not removed yet.
void BM_FirstTake_AfterReopenConsumed(benchmark::State& state) {
  BenchStore bench(FsyncMode::kNo);
  std::mt19937_64 rng(7);
  AddBulk(bench.store.get(), g_preload, rng);
  for (std::uint64_t i = 0; i < g_preload; ++i) {
    if (!TakeAndComplete(state, bench.store.get())) return;
  }
  StoreOptions options = bench.store->options();
  for (auto _ : state) {
    state.PauseTiming();
    bench.store.reset();
    auto opened = Store::Open(options);
    if (!Check(state, opened.status())) break;
    bench.store = std::move(opened).value();
    AddBulk(bench.store.get(), 1, rng);
    state.ResumeTiming();
    if (!TakeAndComplete(state, bench.store.get())) break;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// ---- Group commit ------------------------------------------------------------------------------

// Adds made by every run of BM_AddConcurrent_Always (Google Benchmark runs a function several
// times to size it): divided by the fdatasync count from `strace -f -c`, the group commit ratio.
std::atomic<std::uint64_t> g_concurrent_adds{0};

// `always`: every Add returns only after its WAL sync. With many writers RocksDB's write group
// makes one fsync cover every writer waiting at that moment.
void BM_AddConcurrent_Always(benchmark::State& state) {
  std::mt19937_64 rng(42 + static_cast<std::uint64_t>(state.thread_index()));
  std::string payload = MakePayload(rng);
  Store* store = g_shared->store.get();
  for (auto _ : state) {
    if (!Check(state, store->Add(kQueue, MakeJob(payload), kNow).status())) break;
  }
  g_concurrent_adds.fetch_add(state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// `always`, adds kept in flight with AddAsync by one thread (as an event loop serving N
// clients keeps N requests in flight): up to N adds share a WAL sync, and no thread sleeps per
// add. inflight:1 is one writer waiting for each add.
void BM_AddInFlight_Always(benchmark::State& state) {
  const auto limit = static_cast<std::int64_t>(state.range(0));
  // Refilled in steps of a quarter (as a pipelining client sends its next requests as replies
  // come), not one add per wake-up.
  const std::int64_t step = std::max<std::int64_t>(1, limit / 4);
  std::mt19937_64 rng(42);
  std::string payload = MakePayload(rng);
  Store* store = g_shared->store.get();
  std::mutex mu;
  std::condition_variable cv;
  std::int64_t in_flight = 0;  // adds sent and not called back, plus the budget reserved
  std::int64_t budget = 0;     // adds this thread may still send without waiting
  std::atomic<bool> failed{false};
  auto done = [&](Result<AddResult> added) {
    if (!added.ok()) failed = true;
    std::lock_guard<std::mutex> lock(mu);
    --in_flight;
    if (in_flight == limit - step || in_flight == 0) cv.notify_one();
  };
  for (auto _ : state) {
    if (budget == 0) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight <= limit - step; });
      budget = limit - in_flight;
      in_flight = limit;
    }
    --budget;
    store->AddAsync(kQueue, MakeJob(payload), kNow, done);
  }
  std::unique_lock<std::mutex> lock(mu);
  in_flight -= budget;
  cv.wait(lock, [&] { return in_flight == 0; });
  if (failed) state.SkipWithError("an add failed");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void RegisterAll() {
  for (FsyncMode mode : {FsyncMode::kNo, FsyncMode::kEverysec, FsyncMode::kAlways}) {
    std::string name(FsyncModeName(mode));
    benchmark::RegisterBenchmark(("BM_Add_" + name).c_str(), BM_Add, mode)->UseRealTime();
    benchmark::RegisterBenchmark(("BM_TakeComplete_" + name).c_str(), BM_TakeComplete, mode)
        ->UseRealTime();
  }
  for (FsyncMode mode : {FsyncMode::kNo, FsyncMode::kEverysec, FsyncMode::kAlways}) {
    std::string name(FsyncModeName(mode));
    benchmark::RegisterBenchmark(("BM_CycleCompleteAndTake_" + name).c_str(),
                                 BM_CycleCompleteAndTake, mode)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("BM_CycleBatch_" + name).c_str(), BM_CycleBatch, mode)
        ->Arg(4)
        ->Arg(16)
        ->Arg(64)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("BM_Cycle_no", BM_Cycle)
      ->Setup(SetUpShared<FsyncMode::kNo>)
      ->Teardown(TearDownShared)
      ->Threads(1)
      ->Threads(2)
      ->Threads(4)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_Cycle_everysec", BM_Cycle)
      ->Setup(SetUpShared<FsyncMode::kEverysec>)
      ->Teardown(TearDownShared)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_Cycle_always", BM_Cycle)
      ->Setup(SetUpShared<FsyncMode::kAlways>)
      ->Teardown(TearDownShared)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_Cycle_Queued", BM_Cycle_Queued)->UseRealTime();
  benchmark::RegisterBenchmark("BM_Cycle_Consumed", BM_Cycle_Consumed)->UseRealTime();
  benchmark::RegisterBenchmark("BM_FirstTake_AfterReopenConsumed", BM_FirstTake_AfterReopenConsumed)
      ->Iterations(3)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_AddConcurrent_Always", BM_AddConcurrent_Always)
      ->Setup(SetUpShared<FsyncMode::kAlways>)
      ->Teardown(TearDownShared)
      ->Threads(1)
      ->Threads(8)
      ->Threads(64)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_AddInFlight_Always", BM_AddInFlight_Always)
      ->Setup(SetUpShared<FsyncMode::kAlways>)
      ->Teardown(TearDownShared)
      ->ArgName("inflight")
      ->Arg(1)
      ->Arg(8)
      ->Arg(64)
      ->UseRealTime();
}

}  // namespace
}  // namespace herald::storage

int main(int argc, char** argv) {
  using herald::storage::g_preload;
  if (const char* env = std::getenv("HERALD_BENCH_PRELOAD"))
    g_preload = std::strtoull(env, nullptr, 10);
  // Take --preload=N out of argv before Google Benchmark sees it.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--preload=", 0) == 0) {
      g_preload = std::strtoull(arg.c_str() + 10, nullptr, 10);
      continue;
    }
    argv[kept++] = argv[i];
  }
  argc = kept;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  herald::storage::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (std::uint64_t adds = herald::storage::g_concurrent_adds.load(); adds > 0) {
    std::fprintf(stderr, "storage_bench: BM_AddConcurrent_Always made %llu adds in all runs\n",
                 static_cast<unsigned long long>(adds));
  }
  // Close the shared stores before static destruction begins.
  herald::storage::g_queued.reset();
  herald::storage::g_consumed.reset();
  herald::storage::g_shared.reset();
  return 0;
}
