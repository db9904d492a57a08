#include "herald/engine.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <exception>
#include <shared_mutex>

#include "api/engine_impl.h"
#include "net/server_options.h"

namespace herald {
namespace {

// Engine log lines to the embedder's callback.
class CallbackSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit CallbackSink(std::function<void(LogLevel, std::string_view)> log)
      : log_(std::move(log)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    LogLevel level = LogLevel::kInfo;
    if (msg.level <= spdlog::level::debug) level = LogLevel::kDebug;
    if (msg.level == spdlog::level::warn) level = LogLevel::kWarn;
    if (msg.level >= spdlog::level::err) level = LogLevel::kError;
    log_(level, std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  std::function<void(LogLevel, std::string_view)> log_;
};

spdlog::level::level_enum SpdlogLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kOff:
      break;
  }
  return spdlog::level::off;
}

std::shared_ptr<spdlog::logger> LoggerOf(const EngineOptions& options) {
  // Named per engine and not registered: two engines in one process log each their own way.
  static std::atomic<int> engines{0};
  const std::string name = "herald-" + std::to_string(++engines);
  std::shared_ptr<spdlog::logger> logger;
  if (options.log) {
    logger = std::make_shared<spdlog::logger>(name, std::make_shared<CallbackSink>(options.log));
  } else {
    logger = std::make_shared<spdlog::logger>(
        name, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  }
  logger->set_level(SpdlogLevel(options.log_level));
  return logger;
}

storage::BackoffType BackoffOf(Backoff backoff) {
  return backoff == Backoff::kExponential ? storage::BackoffType::kExponential
                                          : storage::BackoffType::kFixed;
}

JobState StateOf(storage::JobState state) {
  switch (state) {
    case storage::JobState::kWaiting:
      return JobState::kWaiting;
    case storage::JobState::kActive:
      return JobState::kActive;
    case storage::JobState::kDelayed:
      return JobState::kDelayed;
    case storage::JobState::kCompleted:
      return JobState::kCompleted;
    case storage::JobState::kFailed:
      return JobState::kFailed;
  }
  return JobState::kWaiting;
}

storage::JobState StoreStateOf(JobState state) {
  switch (state) {
    case JobState::kWaiting:
      return storage::JobState::kWaiting;
    case JobState::kActive:
      return storage::JobState::kActive;
    case JobState::kDelayed:
      return storage::JobState::kDelayed;
    case JobState::kCompleted:
      return storage::JobState::kCompleted;
    case JobState::kFailed:
      return storage::JobState::kFailed;
  }
  return storage::JobState::kWaiting;
}

JobInfo InfoOf(storage::Job job) {
  JobInfo info;
  info.id = std::move(job.id);
  info.queue = std::move(job.queue);
  info.name = std::move(job.name);
  info.payload = std::move(job.payload);
  info.state = StateOf(job.state);
  info.priority = job.priority;
  info.attempts_made = job.attempts_made;
  info.max_attempts = job.max_attempts;
  info.created_ms = job.created_ms;
  info.processed_ms = job.processed_ms;
  info.finished_ms = job.finished_ms;
  info.due_ms = job.due_ms;
  info.last_error = std::move(job.last_error);
  info.return_value = std::move(job.return_value);
  return info;
}

engine::JobOptions JobOptionsOf(const AddOptions& options) {
  engine::JobOptions out;
  out.id = options.id;
  out.name = options.name;
  out.delay_ms = options.delay_ms;
  out.priority = options.priority;
  out.attempts = options.attempts;
  if (options.backoff) out.backoff_type = BackoffOf(*options.backoff);
  out.backoff_ms = options.backoff_ms;
  return out;
}

AddedJob AddedOf(engine::AddedJob added) {
  return AddedJob{std::move(added.id), added.created, StateOf(added.state)};
}

JobEvent::Type EventTypeOf(engine::JobEventType type) {
  switch (type) {
    case engine::JobEventType::kAdded:
      return JobEvent::Type::kAdded;
    case engine::JobEventType::kActive:
      return JobEvent::Type::kActive;
    case engine::JobEventType::kCompleted:
      return JobEvent::Type::kCompleted;
    case engine::JobEventType::kRetrying:
      return JobEvent::Type::kRetrying;
    case engine::JobEventType::kFailed:
      return JobEvent::Type::kFailed;
    case engine::JobEventType::kStalled:
      return JobEvent::Type::kStalled;
    case engine::JobEventType::kPromoted:
      return JobEvent::Type::kPromoted;
    case engine::JobEventType::kRemoved:
      return JobEvent::Type::kRemoved;
    case engine::JobEventType::kRetried:
      return JobEvent::Type::kRetried;
  }
  return JobEvent::Type::kAdded;
}

// A registered callable as the engine's Handler.
class CallableHandler final : public engine::Handler {
 public:
  explicit CallableHandler(HandlerFn fn) : fn_(std::move(fn)) {}

  engine::HandlerOutcome Run(const engine::HandlerJob& job) override {
    Work work;
    work.id = job.id;
    work.queue = job.queue;
    work.payload = job.payload;
    work.attempt = job.attempts_made;
    work.max_attempts = job.max_attempts;
    work.deadline = job.deadline;
    work.stop = job.stop;
    // The worker turns an escaped exception into a failed attempt.
    Outcome outcome = fn_(work);
    switch (outcome.kind) {
      case Outcome::Kind::kSuccess:
        return engine::HandlerOutcome::Success(std::move(outcome.text));
      case Outcome::Kind::kRetry:
        return outcome.retry_in_ms >= 0
                   ? engine::HandlerOutcome::RetryIn(std::move(outcome.text), outcome.retry_in_ms)
                   : engine::HandlerOutcome::Failure(std::move(outcome.text));
      case Outcome::Kind::kFail:
        break;
    }
    return engine::HandlerOutcome::Permanent(std::move(outcome.text));
  }

 private:
  HandlerFn fn_;
};

// A call's hold on the broker: Close waits for the calls in flight before it closes the store,
// and calls after Close find no broker.
class Live {
 public:
  explicit Live(Engine::Impl& impl) : lock_(impl.life), broker_(impl.broker.get()) {}
  explicit operator bool() const { return broker_ != nullptr; }
  engine::Broker* operator->() const { return broker_; }

 private:
  std::shared_lock<std::shared_mutex> lock_;
  engine::Broker* broker_;
};

Status Closed() { return Status::ShuttingDown("the engine is closed"); }

}  // namespace

std::string_view JobStateName(JobState state) { return storage::JobStateName(StoreStateOf(state)); }

std::string_view JobEventTypeName(JobEvent::Type type) {
  static constexpr std::string_view kNames[] = {"added",    "active",  "completed",
                                                "retrying", "failed",  "stalled",
                                                "promoted", "removed", "retried"};
  return kNames[static_cast<std::size_t>(type)];
}

namespace api {

Result<std::unique_ptr<Engine>> OpenEngine(storage::StoreOptions store_options,
                                           engine::EngineConfig engine_config,
                                           std::shared_ptr<spdlog::logger> logger) {
  // The embedding API's one default: an application that passes no logger gets spdlog's.
  if (logger == nullptr) logger = spdlog::default_logger();
  store_options.logger = logger;
  store_options.completed_retention = engine_config.completed_retention;
  HERALD_ASSIGN_OR_RETURN(std::unique_ptr<storage::Store> store,
                          storage::Store::Open(store_options));
  return OpenEngineOn(std::move(store), std::move(engine_config), std::move(logger));
}

Result<std::unique_ptr<Engine>> OpenEngineOn(std::unique_ptr<storage::Store> store,
                                             engine::EngineConfig engine_config,
                                             std::shared_ptr<spdlog::logger> logger) {
  auto impl = std::make_unique<Engine::Impl>();
  impl->logger = logger != nullptr ? std::move(logger) : spdlog::default_logger();  // as above
  impl->fsync = store->fsync_mode();
  impl->store = std::move(store);
  if (impl->store->recovered_active() > 0) {
    impl->logger->warn("{} job(s) were active when the engine last stopped; they are waiting again",
                       impl->store->recovered_active());
  }
  HERALD_ASSIGN_OR_RETURN(impl->broker, engine::Broker::Create(impl->store.get(), engine_config,
                                                               &impl->clock, impl->logger));
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Result<ServerPorts> StartServers(Engine* engine, ServersConfig config) {
  Engine::Impl& impl = engine->impl();
  MutexLock lock(&impl.mu);
  if (impl.closed) return Status::ShuttingDown("the engine is closed");
  if (impl.servers) return Status::AlreadyExists("the servers run already");
  // INFO and CONFIG GET report the store's mode.
  config.resp.fsync_mode = std::string(storage::FsyncModeName(impl.fsync));
  HERALD_ASSIGN_OR_RETURN(
      impl.servers, Servers::Start(impl.broker.get(), &impl.clock, std::move(config), impl.logger));
  return ServerPorts{impl.servers->resp_port(), impl.servers->http_port()};
}

}  // namespace api

Result<std::unique_ptr<Engine>> Engine::Open(EngineOptions options) {
  if (options.data_dir.empty()) return Status::InvalidArgument("data_dir is required");
  storage::StoreOptions store_options;
  store_options.data_dir = options.data_dir;
  store_options.fsync = options.fsync == Fsync::kAlways ? storage::FsyncMode::kAlways
                        : options.fsync == Fsync::kNo   ? storage::FsyncMode::kNo
                                                        : storage::FsyncMode::kEverysec;
  engine::EngineConfig config;
  config.queues.clear();
  config.events.clear();
  for (const QueueOptions& queue : options.queues) {
    engine::QueuePolicy policy;
    policy.name = queue.name;
    policy.max_attempts = queue.attempts;
    policy.backoff_type = BackoffOf(queue.backoff);
    policy.backoff_ms = queue.backoff_ms;
    policy.concurrency = queue.concurrency;
    policy.rate_max = queue.rate_max;
    policy.rate_duration_ms = queue.rate_duration_ms;
    policy.timeout_ms = queue.timeout_ms;
    policy.lease_ms = queue.lease_ms;
    config.queues.push_back(std::move(policy));
  }
  config.workers = options.workers;
  config.completed_retention = options.completed_retention;
  config.shutdown_grace_ms = options.shutdown_grace_ms;
  return api::OpenEngine(std::move(store_options), std::move(config), LoggerOf(options));
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() { Close(); }

Status Engine::RegisterHandler(std::string_view queue, HandlerFn handler,
                               const HandlerOptions& options) {
  Live live(*impl_);
  if (!live) return Closed();
  const std::string name(queue);
  if (!handler) return Status::InvalidArgument("the handler of " + name + " is empty");
  if (options.rate_max.has_value() != options.rate_duration_ms.has_value()) {
    return Status::InvalidArgument(name + ": give rate_max and rate_duration_ms together");
  }
  if ((options.timeout_ms && *options.timeout_ms <= 0) ||
      (options.rate_duration_ms && *options.rate_duration_ms <= 0)) {
    return Status::InvalidArgument(name + ": timeout_ms and rate_duration_ms must be > 0");
  }
  {
    MutexLock servers(&impl_->mu);
    if (impl_->servers) {
      return Status::InvalidArgument("register handlers before StartServers");
    }
  }
  MutexLock lock(&impl_->handlers_mu);
  if (impl_->handled.count(queue) > 0) {
    return Status::AlreadyExists("queue " + name + " has a handler already");
  }
  if (options.concurrency || options.timeout_ms || options.rate_max) {
    engine::QueuePolicy policy;
    if (auto current = live->Policy(queue); current.ok()) {
      policy = *current;
    } else {
      policy.name = name;
    }
    if (options.concurrency) policy.concurrency = *options.concurrency;
    if (options.timeout_ms) policy.timeout_ms = *options.timeout_ms;
    if (options.rate_max) {
      policy.rate_max = *options.rate_max;
      policy.rate_duration_ms = *options.rate_duration_ms;
    }
    HERALD_RETURN_IF_ERROR(live->ConfigureQueue(std::move(policy)));
  }
  HERALD_RETURN_IF_ERROR(
      live->RegisterHandler(queue, std::make_shared<CallableHandler>(std::move(handler))));
  impl_->handled.emplace(name);
  return Status::Ok();
}

Status Engine::Start() {
  Live live(*impl_);
  if (!live) return Closed();
  return live->Start();
}

Result<AddedJob> Engine::Add(std::string_view queue, std::string payload,
                             const AddOptions& options) {
  Live live(*impl_);
  if (!live) return Closed();
  HERALD_ASSIGN_OR_RETURN(engine::AddedJob added,
                          live->Add(queue, std::move(payload), JobOptionsOf(options)));
  return AddedOf(std::move(added));
}

Result<std::vector<AddedJob>> Engine::AddMany(
    std::string_view queue, std::vector<std::pair<std::string, AddOptions>> jobs) {
  Live live(*impl_);
  if (!live) return Closed();
  std::vector<std::pair<std::string, engine::JobOptions>> batch;
  batch.reserve(jobs.size());
  for (auto& [payload, options] : jobs)
    batch.emplace_back(std::move(payload), JobOptionsOf(options));
  HERALD_ASSIGN_OR_RETURN(std::vector<engine::AddedJob> added,
                          live->AddMany(queue, std::move(batch)));
  std::vector<AddedJob> out;
  out.reserve(added.size());
  for (engine::AddedJob& one : added) out.push_back(AddedOf(std::move(one)));
  return out;
}

Result<std::vector<TakenJob>> Engine::Take(const std::vector<std::string>& queues,
                                           std::uint32_t count, std::int64_t lease_ms) {
  Live live(*impl_);
  if (!live) return Closed();
  engine::TakeRequest request;
  request.queues = queues;
  request.count = count;
  request.lease_ms = lease_ms;
  request.worker = "embedded";
  HERALD_ASSIGN_OR_RETURN(std::vector<engine::LeasedJob> taken, live->Take(request));
  std::vector<TakenJob> out;
  out.reserve(taken.size());
  for (engine::LeasedJob& leased : taken) {
    out.push_back(TakenJob{InfoOf(std::move(leased.job)), leased.lease_until_ms});
  }
  return out;
}

Status Engine::Ack(std::string_view id, std::string return_value) {
  Live live(*impl_);
  if (!live) return Closed();
  return live->Ack(id, std::move(return_value)).status();
}

Status Engine::Fail(std::string_view id, std::string error, bool permanent,
                    std::int64_t retry_in_ms) {
  Live live(*impl_);
  if (!live) return Closed();
  return live
      ->Fail(id, std::move(error),
             permanent ? engine::FailMode::kPermanent : engine::FailMode::kRetry, retry_in_ms)
      .status();
}

Result<std::int64_t> Engine::Extend(std::string_view id, std::int64_t lease_ms) {
  Live live(*impl_);
  if (!live) return Closed();
  return live->ExtendLease(id, lease_ms);
}

Status Engine::Subscribe(std::function<void(const JobEvent&)> subscriber) {
  Live live(*impl_);
  if (!live) return Closed();
  if (!subscriber) return Status::InvalidArgument("the subscriber is empty");
  return live->events().Subscribe(
      [subscriber = std::move(subscriber)](const engine::JobEvent& event) {
        JobEvent out;
        out.type = EventTypeOf(event.type);
        out.queue = event.queue;
        out.id = event.id;
        out.attempts_made = event.attempts_made;
        out.detail = event.detail;
        out.at_ms = event.at_ms;
        subscriber(out);
      },
      "embedded");
}

Result<JobInfo> Engine::Show(std::string_view id) const {
  Live live(*impl_);
  if (!live) return Closed();
  HERALD_ASSIGN_OR_RETURN(storage::Job job, live->Show(id));
  return InfoOf(std::move(job));
}

Result<QueueCounts> Engine::Counts(std::string_view queue) const {
  Live live(*impl_);
  if (!live) return Closed();
  HERALD_ASSIGN_OR_RETURN(storage::QueueCounts counts, live->Counts(queue));
  return QueueCounts{counts.waiting,   counts.active, counts.delayed,
                     counts.completed, counts.failed, counts.paused};
}

Result<JobList> Engine::List(std::string_view queue, JobState state, std::string_view cursor,
                             std::uint32_t count) const {
  Live live(*impl_);
  if (!live) return Closed();
  HERALD_ASSIGN_OR_RETURN(storage::JobPage page,
                          live->List(queue, StoreStateOf(state), cursor, count));
  JobList out;
  out.jobs.reserve(page.jobs.size());
  for (storage::Job& job : page.jobs) out.jobs.push_back(InfoOf(std::move(job)));
  out.next_cursor = std::move(page.next_cursor);
  return out;
}

std::vector<std::string> Engine::Queues() const {
  Live live(*impl_);
  if (!live) return {};
  return live->Queues();
}

Status Engine::Pause(std::string_view queue) {
  Live live(*impl_);
  if (!live) return Closed();
  return live->Pause(queue);
}

Status Engine::Resume(std::string_view queue) {
  Live live(*impl_);
  if (!live) return Closed();
  return live->Resume(queue);
}

Status Engine::Retry(std::string_view id) {
  Live live(*impl_);
  if (!live) return Closed();
  return live->Retry(id).status();
}

Result<std::uint64_t> Engine::RetryAll(std::string_view queue) {
  Live live(*impl_);
  if (!live) return Closed();
  return live->RetryAll(queue);
}

Status Engine::Promote(std::string_view id) {
  Live live(*impl_);
  if (!live) return Closed();
  return live->Promote(id).status();
}

Status Engine::Remove(std::string_view id) {
  Live live(*impl_);
  if (!live) return Closed();
  return live->Delete(id);
}

Result<std::uint64_t> Engine::Clean(std::string_view queue, JobState state, std::int64_t age_ms,
                                    std::uint64_t limit) {
  Live live(*impl_);
  if (!live) return Closed();
  return live->Clean(queue, StoreStateOf(state), age_ms, limit);
}

Result<ServerPorts> Engine::StartServers(const ServerOptions& options) {
  api::ServersConfig config;
  config.resp.bind = options.bind;
  config.resp.port = options.resp_port;
  config.resp.requirepass = options.password;
  config.http = options.http_port >= 0;
  config.http_options.bind = options.bind;
  if (options.http_port > 65535) return Status::InvalidArgument("http_port must be -1..65535");
  config.http_options.port =
      static_cast<std::uint16_t>(options.http_port < 0 ? 0 : options.http_port);
  if (!net::IsLoopbackBind(options.bind) && options.password.empty()) {
    return Status::InvalidArgument("binding " + options.bind + " (not loopback) needs a password");
  }
  return api::StartServers(this, std::move(config));
}

bool Engine::Close() {
  MutexLock lock(&impl_->mu);
  if (impl_->closed) return impl_->close_result;
  impl_->closed = true;
  if (impl_->servers) impl_->servers->Stop();
  // Not under `life`: the handlers and subscribers that Shutdown waits for may call in.
  impl_->close_result = impl_->broker->Shutdown();
  // After the broker's shutdown: the servers' subscribers see the last events.
  impl_->servers.reset();
  if (!impl_->close_result) {
    // A handler still runs on a worker thread and uses the broker and the store: both are
    // left open (the process can exit; the store is as safe as after kill -9).
    impl_->logger->error("engine closed with a handler still running; the store stays open");
    return false;
  }
  std::unique_lock<std::shared_mutex> life(impl_->life);
  impl_->broker.reset();
  impl_->store.reset();
  return true;
}

}  // namespace herald
