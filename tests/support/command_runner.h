// CommandRunner: runs RESP commands against the server's real state — the command table, a
// ServerState over a broker and a store in a fresh temp dir — without a socket, as one client
// session (Dragonfly's BaseFamilyTest::Run). A command runs exactly as a connection runs it:
// the same checks (net/dispatch.h), the same handler, its list and string writes committed
// before the reply is read. A blocking command parks the session; Run then waits for its
// answer on the runner's own executor, up to a limit.
//
// Thread safety: confined to the test's thread (the broker's threads may resume a parked
// session; the resumption runs on the runner's executor, which Run drives).
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/broker.h"
#include "net/client_session.h"
#include "net/command_table.h"
#include "net/resp/reply.h"
#include "net/server_options.h"
#include "net/server_state.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace herald::testing {

class CommandRunner {
 public:
  struct Options {
    net::ServerOptions server;  // Default: ServerOptions{}
    // Default: false: the broker keeps time only when the test calls Tick(), on `clock`.
    bool scheduler_thread = false;
  };

  CommandRunner() : CommandRunner(Options{}) {}
  explicit CommandRunner(Options options);
  ~CommandRunner();
  CommandRunner(const CommandRunner&) = delete;
  CommandRunner& operator=(const CommandRunner&) = delete;

  // Runs one command and returns its reply; a parked command's answer is waited for up to
  // `wait` (then an error reply "no answer within ..." is returned and the park stays).
  resp::Reply Run(std::vector<std::string> args,
                  std::chrono::milliseconds wait = std::chrono::seconds(5));
  // The same, as the exact bytes the client would read.
  std::string RunRaw(std::vector<std::string> args,
                     std::chrono::milliseconds wait = std::chrono::seconds(5));
  // The error text of Run's reply, or a description of what came instead.
  std::string Err(std::vector<std::string> args);

  // Whether a command that parked is still waiting for its answer.
  bool parked() const;
  // Waits up to `wait` for the parked command's answer and returns its bytes (as RunRaw).
  std::string AwaitRaw(std::chrono::milliseconds wait = std::chrono::seconds(5));
  // Moves the fake clock on by `ms` and fires the server's timers it reached (a blocking pop's
  // timeout); returns how many fired. Their callbacks run as Run or AwaitRaw drive the
  // runner's executor.
  std::size_t AdvanceClock(std::int64_t ms);

  // Whether the session was told to close after its reply (QUIT).
  bool closing() const;
  FakeClock& clock() { return clock_; }
  engine::Broker& broker() { return *broker_; }
  net::ServerState& state() { return *state_; }

 private:
  class Session;

  TempDir dir_;
  FakeClock clock_;
  boost::asio::io_context io_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<engine::Broker> broker_;
  std::unique_ptr<net::CommandTable> table_;
  std::unique_ptr<net::ServerState> state_;
  std::shared_ptr<Session> session_;
};

}  // namespace herald::testing
