// BenchServer: the `herald` that herald-bench measures when it is not given --connect: started
// as a child process on a free loopback port with its own data directory (removed at the
// end), no workers and no HTTP port, at the fsync mode asked for; restartable (the fill
// scenario measures a restart).
//
// Thread safety: confined to the thread that made it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace herald::bench {

struct BenchServerOptions {
  std::string binary;  // the herald executable. Required
  std::string fsync = "everysec";
  std::uint32_t workers = 0;  // in-process workers (0: remote ones only)
  std::string config_file;    // "" = none
  std::string data_dir;       // "" = a new temporary directory, removed at the end
};

class BenchServer {
 public:
  static Result<std::unique_ptr<BenchServer>> Start(BenchServerOptions options);
  ~BenchServer();  // stops the server, removes a temporary data directory
  BenchServer(const BenchServer&) = delete;
  BenchServer& operator=(const BenchServer&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& data_dir() const { return options_.data_dir; }
  // SIGTERM and wait.
  Status Stop();
  // Starts it again on the same data directory and port; returns the time to its first PONG.
  Result<std::chrono::nanoseconds> Restart();

 private:
  explicit BenchServer(BenchServerOptions options) : options_(std::move(options)) {}
  Status Launch();

  BenchServerOptions options_;
  bool own_dir_ = false;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace herald::bench
