// embedded_notifier: a booking service's notifications with Herald inside the process. No
// broker to run: the jobs live in <data-dir>, its handlers send (here: append to
// <data-dir>/sent.log), and what was added before a crash is sent after the restart.
//
//   embedded_notifier <data-dir> add <count>   add <count> booking emails, one line per job
//                                              ("added <id>") once it is durable
//   embedded_notifier <data-dir> work          send until nothing is left, then exit
//
// With HERALD_EXAMPLE_SLOW_MS set, each send takes that long (to kill the process mid-way).
#include <herald/engine.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

namespace {

int Usage() {
  std::fprintf(stderr, "usage: embedded_notifier <data-dir> add <count> | work\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  const std::string dir = argv[1];
  const std::string mode = argv[2];

  herald::EngineOptions options;
  options.data_dir = dir;
  options.fsync = herald::Fsync::kAlways;  // "added" is printed only once it is on disk
  options.workers = 2;
  options.queues.push_back({.name = "emails",
                            .attempts = 5,
                            .backoff = herald::Backoff::kExponential,
                            .backoff_ms = 100});
  auto engine = herald::Engine::Open(options);
  if (!engine.ok()) {
    std::fprintf(stderr, "cannot open %s: %s\n", dir.c_str(), engine.status().message().c_str());
    return 1;
  }

  if (mode == "add" && argc == 4) {
    const int count = std::atoi(argv[3]);
    for (int i = 0; i < count; ++i) {
      auto added =
          (*engine)->Add("emails", R"({"to":"user)" + std::to_string(i) + R"(@example.com"})");
      if (!added.ok()) {
        std::fprintf(stderr, "add: %s\n", added.status().message().c_str());
        return 1;
      }
      std::printf("added %s\n", added->id.c_str());
      std::fflush(stdout);
    }
    return (*engine)->Close() ? 0 : 1;
  }
  if (mode != "work") return Usage();

  const char* slow = std::getenv("HERALD_EXAMPLE_SLOW_MS");
  const auto pause = std::chrono::milliseconds(slow != nullptr ? std::atoi(slow) : 0);
  std::mutex log_mu;
  std::ofstream log(dir + "/sent.log", std::ios::app);
  auto status = (*engine)->RegisterHandler("emails", [&](const herald::Work& work) {
    std::this_thread::sleep_for(pause);
    std::lock_guard<std::mutex> lock(log_mu);
    log << work.id << ' ' << work.payload << '\n';
    log.flush();
    return herald::Outcome::Success("sent");
  });
  if (!status.ok() || !(status = (*engine)->Start()).ok()) {
    std::fprintf(stderr, "start: %s\n", status.message().c_str());
    return 1;
  }
  for (;;) {
    auto counts = (*engine)->Counts("emails");
    if (!counts.ok()) return 1;
    if (counts->waiting + counts->active + counts->delayed == 0) {
      std::printf("done: %llu sent, %llu failed\n",
                  static_cast<unsigned long long>(counts->completed),
                  static_cast<unsigned long long>(counts->failed));
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return (*engine)->Close() ? 0 : 1;
}
