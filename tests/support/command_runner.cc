#include "tests/support/command_runner.h"

#include <gtest/gtest.h>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <optional>

#include "net/command_context.h"
#include "net/commands/builtin_commands.h"
#include "net/dispatch.h"
#include "net/resp/reply_parser.h"
#include "net/resp/reply_writer.h"

namespace herald::testing {

// The runner's client: the state a connection keeps for its client, and where a parked
// command's answer lands.
class CommandRunner::Session final : public net::ClientSession,
                                     public std::enable_shared_from_this<Session> {
 public:
  Session(net::ServerState* state, boost::asio::io_context* io) : state_(state), io_(io) {
    info_ = state_->RegisterClient("runner", clock_ms_);
    authenticated_ = !state_->config().password_required();
  }
  ~Session() override { state_->UnregisterClient(info_->id); }

  net::ClientInfo& info() override { return *info_; }
  bool authenticated() const override { return authenticated_; }
  void set_authenticated(bool authenticated) override { authenticated_ = authenticated; }
  void set_protocol(int protocol) override {
    protocol_ = protocol;
    info_->protocol = protocol;
  }
  void CloseAfterReply() override { closing_ = true; }
  std::shared_ptr<net::Parker> Park(std::function<void()> on_close) override {
    parker_ = std::make_shared<net::Parker>(weak_from_this());
    on_close_ = std::move(on_close);
    ++state_->blocked_clients;
    return parker_;
  }
  boost::asio::any_io_executor executor() override { return io_->get_executor(); }

  int protocol() const { return protocol_; }
  bool closing() const { return closing_; }
  bool parked() const { return parker_ != nullptr; }
  // The answers written by resumptions since the last call.
  std::string TakeAnswer() { return std::exchange(answer_, {}); }

 protected:
  void Resume(std::function<void(resp::ReplyWriter&)> write) override {
    if (!parker_) return;
    --state_->blocked_clients;
    parker_.reset();
    on_close_ = nullptr;
    resp::ReplyWriter writer(&answer_, protocol_);
    write(writer);
  }

 private:
  net::ServerState* state_;
  boost::asio::io_context* io_;
  std::int64_t clock_ms_ = 0;
  std::shared_ptr<net::ClientInfo> info_;
  bool authenticated_ = false;
  bool closing_ = false;
  int protocol_ = 2;
  std::shared_ptr<net::Parker> parker_;
  std::function<void()> on_close_;
  std::string answer_;
};

CommandRunner::CommandRunner(Options options) {
  storage::StoreOptions store_options;
  store_options.data_dir = dir_.Sub("db");
  store_options.fsync = storage::FsyncMode::kNo;
  store_ = std::move(storage::Store::Open(store_options)).value();
  engine::EngineConfig config;
  config.workers = 0;
  config.scheduler_thread = options.scheduler_thread;
  broker_ =
      std::move(engine::Broker::Create(store_.get(), config, &clock_, spdlog::default_logger()))
          .value();
  EXPECT_TRUE(broker_->Start().ok());
  table_ = std::make_unique<net::CommandTable>();
  net::AddBuiltinCommands(table_.get());
  std::string error;
  EXPECT_TRUE(table_->Freeze(&error)) << error;
  state_ = std::make_unique<net::ServerState>(broker_.get(), table_.get(), options.server,
                                              spdlog::default_logger());
  session_ = std::make_shared<Session>(state_.get(), &io_);
}

CommandRunner::~CommandRunner() {
  session_.reset();
  state_.reset();
  broker_->Shutdown();
  broker_.reset();
  store_.reset();
}

std::string CommandRunner::RunRaw(std::vector<std::string> args, std::chrono::milliseconds wait) {
  std::string out;
  {
    resp::ReplyWriter writer(&out, session_->protocol());
    engine::KvWriteGroup kv_group(&state_->kv());
    if (auto command = net::ResolveCommand(*state_, *session_, writer, net::Args(args))) {
      net::CommandContext ctx(state_.get(), session_.get(), &writer, &kv_group);
      net::RunCommand(*command, ctx, net::Args(args));
    }
    // As a connection does: no reply before the batch's writes are durable.
    if (Status committed = kv_group.Commit(); !committed.ok()) {
      return "-ERR " + committed.message() + "\r\n";
    }
  }
  if (!session_->parked()) return out;
  return out + AwaitRaw(wait);
}

bool CommandRunner::parked() const { return session_->parked(); }

std::string CommandRunner::AwaitRaw(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  io_.restart();
  io_.poll();  // what is ready runs even with no time to wait
  while (session_->parked() && std::chrono::steady_clock::now() < deadline) {
    io_.restart();
    io_.run_for(std::chrono::milliseconds(10));
  }
  if (session_->parked()) {
    return "-no answer within " + std::to_string(wait.count()) + " ms\r\n";
  }
  return session_->TakeAnswer();
}

std::size_t CommandRunner::AdvanceClock(std::int64_t ms) {
  clock_.Advance(ms);
  return state_->timers().RunDue();
}

resp::Reply CommandRunner::Run(std::vector<std::string> args, std::chrono::milliseconds wait) {
  const std::string raw = RunRaw(std::move(args), wait);
  resp::ReplyParser parser;
  resp::Reply reply;
  resp::ParseResult result = parser.Parse(raw, &reply);
  if (result.status != resp::ParseStatus::kComplete || result.consumed != raw.size()) {
    return resp::Reply::Error("not one whole reply: " + raw);
  }
  return reply;
}

std::string CommandRunner::Err(std::vector<std::string> args) {
  resp::Reply reply = Run(std::move(args));
  return reply.is_error() ? reply.str : "not an error: " + reply.ToString();
}

bool CommandRunner::closing() const { return session_->closing(); }

}  // namespace herald::testing
