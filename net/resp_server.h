// RespServer: the TCP listener of the RESP protocol. A fixed number of I/O threads run one
// io_context; each connection lives on its own strand.
//
// Thread safety: Start/Stop from one thread (the composition root).
// Lifetime: `state` must outlive the server.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "net/kv_committer.h"
#include "net/server_state.h"

namespace spdlog {
class logger;
}

namespace herald::net {

class Connection;

class RespServer {
 public:
  RespServer(ServerState* state, std::shared_ptr<spdlog::logger> logger);
  ~RespServer();  // Stop()

  // Binds and listens (InvalidArgument for a bad address, IOError when the port is taken),
  // then starts the I/O threads.
  Status Start();
  // Stops accepting, closes every connection, joins the threads. Idempotent.
  void Stop();
  std::uint16_t port() const { return port_; }
  // The io_context the I/O threads run, for other servers that share them (HttpServer). It
  // runs from Start() to Stop().
  boost::asio::io_context& io_context() { return io_; }

 private:
  void Accept();
  // Whether a client on `socket` is refused by protected mode: no password, protected mode on,
  // and the client not on the loopback interface.
  bool DeniedByProtectedMode(const boost::asio::ip::tcp::socket& socket) const;

  ServerState* state_;
  std::shared_ptr<spdlog::logger> logger_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::unique_ptr<KvCommitter> committer_;  // list and string writes of many clients
  std::vector<std::jthread> threads_;
  std::uint16_t port_ = 0;
  Mutex mu_;
  std::vector<std::weak_ptr<Connection>> connections_ GUARDED_BY(mu_);
  bool stopped_ = false;
};

}  // namespace herald::net
