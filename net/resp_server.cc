#include "net/resp_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <chrono>

#include "net/connection.h"

namespace herald::net {

namespace asio = boost::asio;

namespace {

// Redis's protected-mode refusal, pointing at Herald's own flags.
const std::string kProtectedModeDenial =
    "-DENIED Herald is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from the "
    "loopback interface. To accept connections from other computers, set a password (CONFIG "
    "SET requirepass from the loopback interface, or --requirepass), or disable protected mode "
    "(CONFIG SET protected-mode no, or --protected-mode no) if the network is trusted.\r\n";

bool IsLoopback(const asio::ip::address& address) {
  if (address.is_loopback()) return true;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).is_loopback();
  }
  return false;
}

}  // namespace

bool RespServer::DeniedByProtectedMode(const asio::ip::tcp::socket& socket) const {
  // Checked per connection, as Redis does, so that a password removed with CONFIG SET (or
  // protected mode turned back on) holds for the next client at once.
  if (!state_->config().protected_mode() || state_->config().password_required()) return false;
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  return !ec && !IsLoopback(endpoint.address());
}

RespServer::RespServer(ServerState* state, std::shared_ptr<spdlog::logger> logger)
    : state_(state), logger_(std::move(logger)), acceptor_(io_) {}

RespServer::~RespServer() { Stop(); }

Status RespServer::Start() {
  const ServerOptions& options = state_->config().initial();
  boost::system::error_code ec;
  auto address =
      asio::ip::make_address(options.bind == "localhost" ? "127.0.0.1" : options.bind, ec);
  if (ec) return Status::InvalidArgument("bad bind address '" + options.bind + "'");
  asio::ip::tcp::endpoint endpoint(address, options.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError("cannot listen on " + options.bind + ":" + std::to_string(options.port) +
                           ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  state_->port = port_;
  committer_ = std::make_unique<KvCommitter>(io_.get_executor(), state_->kv_or_null(),
                                             &state_->broker().durability());
  state_->timers().Attach(&io_);
  Accept();
  std::uint32_t threads = options.io_threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (std::uint32_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { io_.run(); });
  }
  return Status::Ok();
}

void RespServer::Accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](boost::system::error_code ec,
                                                        asio::ip::tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      {
        // Stop() closes the acceptor from another thread: an accept started just before
        // that fails with a bad descriptor, which is no news.
        MutexLock lock(&mu_);
        if (stopped_) return;
      }
      logger_->warn("accept failed: {}", ec.message());
      if (acceptor_.is_open()) Accept();
      return;
    }
    ++state_->connections_received;
    if (state_->connected_clients.load() >= state_->config().max_clients()) {
      ++state_->rejected_connections;
      static const std::string kFull = "-ERR max number of clients reached\r\n";
      boost::system::error_code ignored;
      asio::write(socket, asio::buffer(kFull), ignored);
      socket.close(ignored);
    } else if (DeniedByProtectedMode(socket)) {
      boost::system::error_code ignored;
      asio::write(socket, asio::buffer(kProtectedModeDenial), ignored);
      socket.close(ignored);
    } else {
      auto connection = std::make_shared<Connection>(std::move(socket), state_, committer_.get());
      {
        MutexLock lock(&mu_);
        // Forget connections that are gone, now and then, so the list stays bounded.
        if (connections_.size() > 1024 && connections_.size() % 1024 == 0) {
          std::erase_if(connections_, [](const auto& weak) { return weak.expired(); });
        }
        connections_.push_back(connection);
      }
      connection->Start();
    }
    Accept();
  });
}

void RespServer::Stop() {
  {
    MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  asio::post(io_, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
  std::vector<std::weak_ptr<Connection>> connections;
  {
    MutexLock lock(&mu_);
    connections.swap(connections_);
  }
  for (auto& weak : connections) {
    if (auto connection = weak.lock()) connection->Stop();
  }
  // Let the closes run and the connections go before stopping the loop. A connection whose
  // replies wait for a WAL sync goes once that sync is done, which a slow disk can take seconds
  // over; it still uses the server's state, so it is waited for (within reason).
  if (!state_->WaitForNoClients(std::chrono::seconds(2))) {
    logger_->warn("stopping with {} client(s) still closing", state_->connected_clients.load());
    if (!state_->WaitForNoClients(std::chrono::seconds(30))) {
      logger_->error("stopping with {} client(s) that did not close in 32 s",
                     state_->connected_clients.load());
    }
  }
  state_->timers().Detach();
  io_.stop();
  threads_.clear();  // joins
}

}  // namespace herald::net
