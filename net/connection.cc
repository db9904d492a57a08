#include "net/connection.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <cctype>
#include <chrono>

#include "net/dispatch.h"
#include "net/status_reply.h"

namespace herald::net {
namespace {

namespace asio = boost::asio;

// Output beyond this stops reading from the client until it takes its replies.
constexpr std::size_t kOutputHighWater = 4 << 20;

resp::ParserLimits LimitsOf(const ServerConfig& config) {
  resp::ParserLimits limits;
  limits.max_bulk_length = config.max_bulk_bytes();
  limits.max_multibulk_length = config.initial().max_args;
  return limits;
}

}  // namespace

// ---- Parker / CommandContext -------------------------------------------------------------

bool Parker::Resume(std::function<void(resp::ReplyWriter&)> write) {
  if (done_.exchange(true)) return false;
  auto session = session_.lock();
  if (!session) return false;
  asio::post(session->executor(),
             [session, write = std::move(write)]() mutable { session->Resume(std::move(write)); });
  return true;
}

void Parker::ResumeClaimed(std::function<void(resp::ReplyWriter&)> write) {
  auto session = session_.lock();
  if (!session) return;
  asio::post(session->executor(),
             [session, write = std::move(write)]() mutable { session->Resume(std::move(write)); });
}

void CommandContext::WrongArity(std::string_view command) {
  writer_->Error("ERR wrong number of arguments for '" + std::string(command) + "' command");
}

void CommandContext::StatusError(const Status& status, std::string_view not_found_code) {
  writer_->Error(ErrorText(status, not_found_code));
}

// ---- Connection --------------------------------------------------------------------------

void Connection::set_protocol(int protocol) {
  writer_.set_protocol(protocol);
  info_->protocol = protocol;
}

std::shared_ptr<Parker> Connection::Park(std::function<void()> on_close) {
  busy_ = true;
  on_close_ = std::move(on_close);
  parker_ = std::make_shared<Parker>(weak_from_this());
  ++server_->blocked_clients;
  return parker_;
}

Connection::Connection(asio::ip::tcp::socket socket, ServerState* server,
                       asio::thread_pool* write_pool, KvCommitter* committer)
    : socket_(std::move(socket)),
      server_(server),
      write_pool_(write_pool),
      committer_(committer),
      idle_timer_(socket_.get_executor()),
      parser_(LimitsOf(server->config())),
      writer_(&output_, 2) {
  boost::system::error_code ec;
  auto endpoint = socket_.remote_endpoint(ec);
  std::string addr =
      ec ? "?" : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  info_ = server_->RegisterClient(std::move(addr), server_->NowMs());
  // As Redis: a client that connects while no password is set stays authenticated if one is
  // set later.
  authenticated_ = !server_->config().password_required();
  ++server_->connected_clients;
}

Connection::~Connection() {
  server_->UnregisterClient(info_->id);
  --server_->connected_clients;
}

void Connection::Start() {
  boost::system::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  {
    MutexLock lock(&info_->mu);
    info_->recheck_idle = [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        asio::post(self->socket_.get_executor(), [self] { self->ArmIdleTimer(); });
      }
    };
  }
  ArmIdleTimer();
  DoRead();
}

void Connection::Stop() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->Close(); });
}

void Connection::ArmIdleTimer(std::int64_t wait_ms) {
  if (closed_) return;
  // Also called when the timeout changed (CONFIG SET): a new wait replaces the pending one.
  const std::uint32_t idle = server_->config().idle_timeout_s();
  if (idle == 0) {
    idle_timer_.cancel();
    return;
  }
  if (wait_ms < 0) wait_ms = static_cast<std::int64_t>(idle) * 1000;
  idle_timer_.expires_after(std::chrono::milliseconds(wait_ms));
  idle_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closed_) return;
    const std::uint32_t timeout = self->server_->config().idle_timeout_s();
    if (timeout == 0) return;
    // Blocked clients are not idle (as in Redis).
    if (self->busy_) {
      self->ArmIdleTimer();
      return;
    }
    const std::int64_t idle_ms = self->server_->NowMs() - self->info_->last_active_ms.load();
    const std::int64_t timeout_ms = static_cast<std::int64_t>(timeout) * 1000;
    if (idle_ms >= timeout_ms) {
      self->Close();
    } else {
      // Wait only for what is left, so the client goes at the timeout, not up to twice it.
      self->ArmIdleTimer(timeout_ms - idle_ms);
    }
  });
}

void Connection::DoRead() {
  if (reading_ || closed_ || close_after_flush_) return;
  if (!busy_ && output_.size() + writing_.size() > kOutputHighWater) return;
  reading_ = true;
  socket_.async_read_some(asio::buffer(read_chunk_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            self->OnRead(ec, n);
                          });
}

void Connection::OnRead(boost::system::error_code ec, std::size_t n) {
  reading_ = false;
  if (ec || closed_) {
    Close();
    return;
  }
  server_->net_input_bytes += n;
  info_->last_active_ms = server_->NowMs();
  input_.append(read_chunk_.data(), n);
  const std::uint64_t max_query_buffer = server_->config().max_query_buffer();
  if (input_.size() - input_pos_ + parser_.buffered_bytes() > max_query_buffer) {
    ++server_->protocol_errors;
    writer_.Error("ERR Protocol error: query buffer limit exceeded (" +
                  std::to_string(max_query_buffer) + " bytes)");
    close_after_flush_ = true;
    input_.clear();
    input_pos_ = 0;
    Flush();
    return;
  }
  if (busy_ || committing_) {
    DoRead();  // keep watching for a disconnect while parked
    return;
  }
  Process();
}

void Connection::Process() {
  // The list and string writes of this batch of commands go to the WAL together; their
  // replies are sent only after the group commits.
  engine::KvWriteGroup kv_group(&server_->kv());
  const std::size_t replies_before = output_.size();
  // proto-max-bulk-len may have changed (CONFIG SET).
  if (const std::uint64_t max_bulk = server_->config().max_bulk_bytes();
      parser_.limits().max_bulk_length != max_bulk) {
    resp::ParserLimits limits = parser_.limits();
    limits.max_bulk_length = max_bulk;
    parser_.set_limits(limits);
  }
  while (!busy_ && !closed_ && !close_after_flush_ && input_pos_ < input_.size()) {
    args_.clear();
    std::string_view pending(input_.data() + input_pos_, input_.size() - input_pos_);
    resp::ParseResult result = parser_.Parse(pending, &args_);
    input_pos_ += result.consumed;
    if (result.status == resp::ParseStatus::kNeedMore) break;
    if (result.status == resp::ParseStatus::kError) {
      ++server_->protocol_errors;
      writer_.Error("ERR Protocol error: " + result.error);
      close_after_flush_ = true;
      break;
    }
    if (args_.empty()) continue;
    Execute(args_, &kv_group);
  }
  // Drop parsed bytes so the buffer holds only what is still to come.
  if (input_pos_ > 0 && (input_pos_ == input_.size() || input_pos_ > (64 << 10))) {
    input_.erase(0, input_pos_);
    input_pos_ = 0;
  }
  if (!kv_group.empty() && committer_ != nullptr && !busy_) {
    // The replies wait for the commit, which the writes of other clients ready now join;
    // nothing more runs here until then.
    committing_ = true;
    committer_->Enqueue(&kv_group, [self = shared_from_this(), replies_before](Status status) {
      asio::post(self->socket_.get_executor(), [self, replies_before, status = std::move(status)] {
        self->OnCommitted(status, replies_before);
      });
    });
    DoRead();
    return;
  }
  OnCommitted(kv_group.Commit(), replies_before, /*resume=*/false);
  // Also while parked: a pending read keeps the connection alive and notices a disconnect.
  DoRead();
}

void Connection::OnCommitted(const Status& committed, std::size_t replies_before, bool resume) {
  committing_ = false;
  if (!committed.ok()) {
    // Those writes may be lost: no reply of this batch may say otherwise.
    output_.resize(replies_before);
    writer_.Error(ErrorText(committed, "ERR"));
    close_after_flush_ = true;
  }
  if (closed_) return;
  Flush();
  // Requests that arrived while the replies waited.
  if (resume) Process();
}

void Connection::Execute(std::vector<std::string>& args, engine::KvWriteGroup* kv_group) {
  std::optional<ResolvedCommand> command = ResolveCommand(*server_, *this, writer_, Args(args));
  if (!command) return;
  if (write_pool_ != nullptr && (command->spec->flags & kWrite) &&
      !(command->spec->flags & kBlocking)) {
    RunOffloaded(*command, std::move(args));
    return;
  }
  CommandContext ctx(server_, this, &writer_, kv_group);
  RunCommand(*command, ctx, Args(args));
}

void Connection::RunOffloaded(ResolvedCommand command, std::vector<std::string> args) {
  // The write runs on the pool so that writes of many clients are in flight together and share
  // one WAL sync; this connection runs nothing else until the reply is back.
  busy_ = true;
  const int protocol = writer_.protocol();
  asio::post(*write_pool_,
             [self = shared_from_this(), command, args = std::move(args), protocol]() {
               std::string reply;
               resp::ReplyWriter writer(&reply, protocol);
               CommandContext ctx(self->server_, self.get(), &writer);
               RunCommand(command, ctx, Args(args));
               asio::post(self->socket_.get_executor(), [self, reply = std::move(reply)]() {
                 self->output_ += reply;
                 self->busy_ = false;
                 if (self->closed_) return;
                 self->Process();
               });
             });
}

void Connection::Resume(std::function<void(resp::ReplyWriter&)> write) {
  if (!parker_) return;
  --server_->blocked_clients;
  parker_.reset();
  on_close_ = nullptr;
  busy_ = false;
  if (closed_) return;
  // Being answered counts as activity (as in Redis), so the idle timeout starts again here
  // and a client served after a long block is not closed right after its reply.
  info_->last_active_ms = server_->NowMs();
  write(writer_);
  Process();
}

void Connection::Flush() {
  // Replies waiting for a commit are not sent before it.
  if (write_in_flight_ || closed_ || committing_) return;
  if (output_.empty()) {
    if (close_after_flush_) Close();
    return;
  }
  write_in_flight_ = true;
  writing_.swap(output_);
  output_.clear();
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                      self->OnWritten(ec, n);
                    });
}

void Connection::OnWritten(boost::system::error_code ec, std::size_t n) {
  write_in_flight_ = false;
  writing_.clear();
  if (ec) {
    Close();
    return;
  }
  server_->net_output_bytes += n;
  Flush();
  if (!busy_) DoRead();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  if (parker_) {
    --server_->blocked_clients;
    parker_.reset();
    if (on_close_) on_close_();
    on_close_ = nullptr;
  }
  idle_timer_.cancel();
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace herald::net
