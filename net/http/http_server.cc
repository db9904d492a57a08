#include "net/http/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "net/http/http_session.h"

namespace herald::net::http {

namespace asio = boost::asio;

HttpServer::HttpServer(ServerState* state, const Router* router, HttpOptions options,
                       asio::io_context* io, std::shared_ptr<spdlog::logger> logger)
    : state_(state),
      router_(router),
      options_(std::move(options)),
      io_(io),
      logger_(std::move(logger)),
      acceptor_(*io),
      sessions_(std::make_shared<SessionRegistry>()),
      stats_(std::make_shared<HttpStats>()) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  boost::system::error_code ec;
  auto address =
      asio::ip::make_address(options_.bind == "localhost" ? "127.0.0.1" : options_.bind, ec);
  if (ec) return Status::InvalidArgument("bad bind address '" + options_.bind + "'");
  asio::ip::tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError("cannot listen on " + options_.bind + ":" +
                           std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  Accept();
  return Status::Ok();
}

std::uint64_t HttpServer::connections() const { return sessions_->size(); }

void HttpServer::Accept() {
  auto context = std::make_shared<SessionContext>();
  context->state = state_;
  context->router = router_;
  context->options = options_;
  context->logger = logger_;
  context->stats = stats_;
  context->registry = sessions_;
  context->events = events_;
  std::shared_ptr<const SessionContext> shared = std::move(context);
  auto next_id = std::make_shared<std::uint64_t>(1);
  // One accept loop; the context is made once and shared by every session.
  struct Loop {
    HttpServer* server;
    std::shared_ptr<const SessionContext> context;
    std::shared_ptr<std::uint64_t> next_id;
    void operator()() const {
      Loop self = *this;
      server->acceptor_.async_accept(
          asio::make_strand(*server->io_),
          [self](boost::system::error_code ec, asio::ip::tcp::socket socket) {
            HttpServer* s = self.server;
            if (ec) {
              if (ec != asio::error::operation_aborted && !s->stopped_ && s->acceptor_.is_open()) {
                s->logger_->warn("http accept failed: {}", ec.message());
                return self();
              }
              // The loop ends here; Stop waits for this before the server may go.
              s->accept_ended_.set_value();
              return;
            }
            ++s->stats_->connections_received;
            std::uint64_t id = (*self.next_id)++;
            auto session = std::make_shared<HttpSession>(std::move(socket), self.context, id);
            if (!s->sessions_->Add(id, session, s->options_.max_connections)) {
              ++s->stats_->connections_rejected;
              session->Refuse(ErrorResponse(503, "unavailable", "too many HTTP connections"));
            } else {
              session->Start();
            }
            self();
          });
    }
  };
  Loop{this, std::move(shared), std::move(next_id)}();
}

void HttpServer::Stop() {
  if (stopped_.exchange(true)) return;
  if (!acceptor_.is_open()) return;
  // The close runs on an I/O thread (the acceptor is not thread-safe); both it and the accept
  // loop's last completion, which may run on another I/O thread meanwhile, are waited for.
  std::promise<void> closed;
  asio::post(*io_, [this, &closed] {
    boost::system::error_code ec;
    acceptor_.close(ec);
    closed.set_value();
  });
  const auto limit = std::chrono::seconds(5);
  if (closed.get_future().wait_for(limit) != std::future_status::ready ||
      accept_ended_.get_future().wait_for(limit) != std::future_status::ready) {
    logger_->error("http: the accept loop did not end");
  }
  if (!sessions_->CloseAll(std::chrono::seconds(2))) {
    logger_->warn("http: stopping with {} connection(s) still closing", sessions_->size());
  }
}

}  // namespace herald::net::http
