// Child processes for tests: start a program with arguments, its output captured into a file,
// wait for a line to appear, signal it, wait for its exit status. Also free loopback ports.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace herald::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int FreePort();

// True when a TCP connection to 127.0.0.1:port succeeds now.
bool PortAccepts(int port);

// True once a TCP connection to 127.0.0.1:port succeeds, within `timeout`.
bool WaitForPort(int port, std::chrono::milliseconds timeout);

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`; stdout and stderr go to `output_path`.
  ChildProcess(std::vector<std::string> argv, std::string output_path);
  ~ChildProcess();  // SIGKILLs a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True once the output contains `text`, within `timeout`; false if the child exits first.
  bool WaitForOutput(const std::string& text, std::chrono::milliseconds timeout);
  std::string Output() const;
  void Signal(int signal_number);
  // Exit code (0-255), 128+signal when killed, -1 on timeout (child left running).
  int Wait(std::chrono::milliseconds timeout);
  bool running();

 private:
  pid_t pid_ = -1;
  std::string output_path_;
  int status_ = -1;
  bool reaped_ = false;
};

// Runs a command through /bin/sh and returns its standard output (stderr discarded).
std::string RunCommand(const std::string& command, int* exit_code = nullptr);

// Runs `redis-cli -p <port> <args>` (`args` as shell words) and returns its output without the
// final newlines.
std::string RedisCli(int port, const std::string& args);

}  // namespace herald::testing
