#include "net/connection.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <map>

#include "net/commands/arg_parsing.h"
#include "net/commands/job_support.h"
#include "net/dispatch.h"
#include "net/status_reply.h"

namespace herald::net {
namespace {

namespace asio = boost::asio;

// Output beyond this stops reading from the client until it takes its replies.
constexpr std::size_t kOutputHighWater = 4 << 20;
// ADDJOBs handed to the store together, at most (a run of adds).
constexpr std::size_t kMaxRunOfAdds = 1000;

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

Connection::Connection(asio::ip::tcp::socket socket, ServerState* server, KvCommitter* committer)
    : socket_(std::move(socket)),
      server_(server),
      committer_(committer),
      durability_(&server->broker().durability()),
      parser_(LimitsOf(server->config())),
      writer_(&batch_, 2),
      runs_of_adds_(server->broker().adds_wait_for_commits()) {
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
  server_->timers().Cancel(std::exchange(idle_timer_, ClockTimers::kNone));
  const std::uint32_t idle = server_->config().idle_timeout_s();
  if (idle == 0) return;
  if (wait_ms < 0) wait_ms = static_cast<std::int64_t>(idle) * 1000;
  idle_timer_ = server_->timers().At(server_->NowMs() + wait_ms, socket_.get_executor(),
                                     [weak = weak_from_this()] {
                                       if (auto self = weak.lock()) self->OnIdleTimer();
                                     });
}

void Connection::OnIdleTimer() {
  idle_timer_ = ClockTimers::kNone;
  if (closed_) return;
  const std::uint32_t timeout = server_->config().idle_timeout_s();
  if (timeout == 0) return;
  // Blocked clients are not idle (as in Redis), nor those whose replies wait for a sync.
  if (busy_ || syncing_) {
    ArmIdleTimer();
    return;
  }
  const std::int64_t idle_ms = server_->NowMs() - info_->last_active_ms.load();
  const std::int64_t timeout_ms = static_cast<std::int64_t>(timeout) * 1000;
  if (idle_ms >= timeout_ms) {
    Close();
  } else {
    // Wait only for what is left, so the client goes at the timeout, not up to twice it.
    ArmIdleTimer(timeout_ms - idle_ms);
  }
}

void Connection::DoRead() {
  if (reading_ || closed_ || close_after_flush_) return;
  if (!busy_ && output_.size() + writing_.size() + sealed_.size() > kOutputHighWater) return;
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
    if (!syncing_) EndBatch(nullptr);
    return;
  }
  if (busy_ || syncing_) {
    DoRead();  // keep watching for a disconnect while parked (or waiting)
    return;
  }
  Process();
}

void Connection::Process() {
  if (syncing_ || closed_) return;  // OnSynced comes back here
  {
    // The writes of this batch go to the WAL unsynced; EndBatch waits for their sync once.
    engine::SyncDeferral deferral;
    // The list and string writes of the batch go to the WAL together (KvCommitter).
    engine::KvWriteGroup kv_group(server_->kv_or_null());
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
      if (!adds_.empty() && !JoinsRunOfAdds(args_)) {
        input_pos_ -= result.consumed;  // runs once the adds before it are answered
        StartRunOfAdds();
        break;
      }
      Execute(args_, &kv_group);
      if (adds_.size() >= kMaxRunOfAdds) {
        StartRunOfAdds();
        break;
      }
    }
    if (!adds_.empty() && !busy_) StartRunOfAdds();  // the input read so far ends the run
    // Drop parsed bytes so the buffer holds only what is still to come.
    if (input_pos_ > 0 && (input_pos_ == input_.size() || input_pos_ > (64 << 10))) {
      input_.erase(0, input_pos_);
      input_pos_ = 0;
    }
    EndBatch(&kv_group);
  }
  // Also while parked or waiting: a pending read keeps the connection alive and notices a
  // disconnect.
  DoRead();
}

void Connection::EndBatch(engine::KvWriteGroup* kv_group) {
  const bool kv_writes = kv_group != nullptr && !kv_group->empty();
  const bool wait_sync = durability_->replies_wait();
  if (!kv_writes && (!wait_sync || batch_.empty() || durability_->AllDurable())) {
    output_ += batch_;
    batch_.clear();
    batch_writes_.clear();
    Flush();
    return;
  }
  // Sealed: nothing more runs here until the writes are durable.
  syncing_ = true;
  sealed_.swap(batch_);
  sealed_writes_.swap(batch_writes_);
  batch_.clear();
  batch_writes_.clear();
  auto done = [self = shared_from_this()](Status status) {
    asio::post(self->socket_.get_executor(),
               [self, status = std::move(status)] { self->OnSynced(status); });
  };
  if (kv_writes && committer_ != nullptr) {
    // The writes of other clients ready now join this commit (and its sync).
    committer_->Enqueue(kv_group, std::move(done));
    return;
  }
  Status written = kv_writes ? kv_group->Commit() : Status::Ok();  // unsynced (deferral)
  if (!written.ok() || !wait_sync) return done(std::move(written));
  durability_->AfterSync(std::move(done));
}

void Connection::OnSynced(const Status& synced) {
  syncing_ = false;
  if (!synced.ok()) {
    // Those writes may be lost: no reply may say they were made.
    std::string replies;
    resp::ReplyWriter errors(&replies, writer_.protocol());
    std::size_t from = 0;
    for (const WriteReply& write : sealed_writes_) {
      replies.append(sealed_, from, write.begin - from);
      errors.Error(ErrorText(synced, "ERR"));
      from = write.end;
    }
    replies.append(sealed_, from);
    sealed_.swap(replies);
  }
  output_ += sealed_;
  sealed_.clear();
  sealed_writes_.clear();
  if (closed_) return;
  Flush();
  // Requests that arrived while the replies waited, and a resumed command's reply.
  Process();
}

void Connection::Execute(std::vector<std::string>& args, engine::KvWriteGroup* kv_group) {
  std::optional<ResolvedCommand> command = ResolveCommand(*server_, *this, writer_, Args(args));
  if (!command) return;
  const std::size_t begin = batch_.size();
  CommandContext ctx(server_, this, &writer_, kv_group);
  if (runs_of_adds_) ctx.set_deferred_adds(&adds_);
  const std::size_t deferred = adds_.size();
  RunCommand(*command, ctx, Args(args));
  const bool writes = (command->spec->flags & kWrite) != 0;
  if (busy_) {
    parked_write_ = writes;                         // its reply comes with Resume
  } else if (writes && adds_.size() == deferred) {  // a deferred add replies with its run
    batch_writes_.push_back({begin, batch_.size()});
  }
}

// ---- Runs of adds ------------------------------------------------------------------------

struct Connection::RunOfAdds {
  explicit RunOfAdds(std::size_t n) : answers(n, Status::Internal("not added")) {}
  std::vector<Result<std::string>> answers;  // the job's id, or why it was not added
  std::atomic<std::size_t> calls_left{0};
};

bool Connection::JoinsRunOfAdds(std::vector<std::string>& args) {
  if (!EqualsIgnoreCase(args[0], "addjob") || args.size() < 3) return false;
  // Refused before it runs (ResolveCommand: another client may have set a password since).
  if (!authenticated_ && server_->config().password_required()) return false;
  // Parsed to a scratch writer: an ADDJOB that would be refused runs after the run, so that
  // its error comes in its place.
  std::string scratch;
  resp::ReplyWriter refusal(&scratch, writer_.protocol());
  CommandContext ctx(server_, this, &refusal);
  engine::JobOptions options;
  return ParseAddJobOptions(ctx, Args(args), &options);
}

void Connection::StartRunOfAdds() {
  busy_ = true;  // nothing else runs until the run is answered; reading goes on
  std::vector<DeferredAdd> adds;
  adds.swap(adds_);
  auto run = std::make_shared<RunOfAdds>(adds.size());
  // One call per queue, each add's place in the run kept.
  std::map<std::string, std::vector<std::size_t>> by_queue;
  for (std::size_t i = 0; i < adds.size(); ++i) by_queue[adds[i].queue].push_back(i);
  run->calls_left = by_queue.size();
  for (const auto& entry : by_queue) {
    const std::vector<std::size_t>& places = entry.second;
    std::vector<std::pair<std::string, engine::JobOptions>> jobs;
    jobs.reserve(places.size());
    for (std::size_t i : places) jobs.emplace_back(std::move(adds[i].payload), adds[i].options);
    server_->broker().AddManyAsync(
        entry.first, std::move(jobs),
        [self = shared_from_this(), run, places](Result<std::vector<engine::AddedJob>> added) {
          for (std::size_t k = 0; k < places.size(); ++k) {
            if (!added.ok()) {
              run->answers[places[k]] = added.status();
            } else {
              run->answers[places[k]] = (*added)[k].id;
            }
          }
          if (run->calls_left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
          asio::post(self->socket_.get_executor(), [self, run] { self->EndRunOfAdds(*run); });
        });
  }
}

void Connection::EndRunOfAdds(const RunOfAdds& run) {
  busy_ = false;
  if (closed_) return;
  for (const Result<std::string>& answer : run.answers) {
    const std::size_t begin = batch_.size();
    if (answer.ok()) {
      writer_.Bulk(*answer);
    } else {
      writer_.Error(ErrorText(answer.status()));
    }
    batch_writes_.push_back({begin, batch_.size()});
  }
  Process();  // the commands after the run, and the end of the batch
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
  const std::size_t begin = batch_.size();
  write(writer_);
  if (parked_write_) batch_writes_.push_back({begin, batch_.size()});
  parked_write_ = false;
  Process();  // ends the batch the reply starts (unless replies wait: then OnSynced does)
}

void Connection::Flush() {
  if (write_in_flight_ || closed_) return;
  if (output_.empty()) {
    // Replies still waiting for a sync go out before the close.
    if (close_after_flush_ && !syncing_ && batch_.empty()) Close();
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
  server_->timers().Cancel(std::exchange(idle_timer_, ClockTimers::kNone));
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace herald::net
