#include "tools/herald_bench/bench_server.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "net/client/client.h"

namespace herald::bench {
namespace {

// A port the kernel had free a moment ago (bound to port 0, then closed).
std::uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof addr;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace

Result<std::unique_ptr<BenchServer>> BenchServer::Start(BenchServerOptions options) {
  std::unique_ptr<BenchServer> server(new BenchServer(std::move(options)));
  if (server->options_.data_dir.empty()) {
    char pattern[] = "/tmp/herald-bench-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return Status::IOError("cannot make a data directory");
    server->options_.data_dir = pattern;
    server->own_dir_ = true;
  }
  server->port_ = FreePort();
  if (server->port_ == 0) return Status::IOError("no free port");
  HERALD_RETURN_IF_ERROR(server->Launch());
  return server;
}

Status BenchServer::Launch() {
  std::vector<std::string> args = {options_.binary,
                                   "--data-dir",
                                   options_.data_dir,
                                   "--port",
                                   std::to_string(port_),
                                   "--http-port",
                                   "0",
                                   "--workers",
                                   std::to_string(options_.workers),
                                   "--fsync",
                                   options_.fsync,
                                   "--log-level",
                                   "warn"};
  if (!options_.config_file.empty()) {
    args.push_back("--config");
    args.push_back(options_.config_file);
  }
  pid_ = ::fork();
  if (pid_ < 0) return Status::IOError("fork failed");
  if (pid_ == 0) {
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto client = client::Client::Connect("127.0.0.1", port_, std::chrono::milliseconds(200));
    if (client.ok()) {
      auto pong = (*client)->Command({"PING"});
      if (pong.ok() && pong->str == "PONG") return Status::Ok();
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::IOError(options_.binary + " exited at start (status " +
                             std::to_string(status) + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return Status::TimedOut("herald did not answer PING within 60 s");
}

Status BenchServer::Stop() {
  if (pid_ <= 0) return Status::Ok();
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0
             ? Status::Ok()
             : Status::IOError("herald stopped with status " + std::to_string(status));
}

Result<std::chrono::nanoseconds> BenchServer::Restart() {
  HERALD_RETURN_IF_ERROR(Stop());
  const auto start = std::chrono::steady_clock::now();
  HERALD_RETURN_IF_ERROR(Launch());
  return std::chrono::steady_clock::now() - start;
}

BenchServer::~BenchServer() {
  (void)Stop();
  if (own_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(options_.data_dir, ec);
  }
}

}  // namespace herald::bench
