// Herald as a library: a durable job queue inside your own process, on an embedded store in a
// directory of your choice. Jobs survive crashes (kill -9 loses nothing that Add reported
// added), wait out delays, are retried with each queue's backoff, and are run by worker threads
// calling the handlers you register, or taken by hand (Take / Ack / Fail). No broker to run.
//
//   auto engine = herald::Engine::Open({.data_dir = "./jobs"});
//   (*engine)->RegisterHandler("emails", [](const herald::Work& work) {
//     send_email(work.payload);
//     return herald::Outcome::Success();
//   });
//   (*engine)->Start();
//   (*engine)->Add("emails", R"({"to":"jane@example.com"})");
//   ...
//   (*engine)->Close();
//
// With StartServers the same process also speaks RESP (redis-cli, remote `herald worker`
// processes, any Redis client with ADDJOB/GETJOB) and serves the /queues dashboard and the
// JSON API, as the `herald` server does (it is built on this class).
//
// Thread safety: Engine is thread-safe; every method may be called from any thread, also from
// handlers and event subscribers (except Close). Handlers run on the engine's worker threads,
// several at once; subscribers on the engine's event thread.
//
// Lifetime: what a handler or a subscriber captures must outlive Close() (or the Engine).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "herald/status.h"

namespace herald {

// When a write is on disk before Add (and every other change) returns.
enum class Fsync : std::uint8_t {
  kAlways,    // synced before returning; concurrent callers share syncs (group commit)
  kEverySec,  // synced within a second; a process crash loses nothing, a machine crash <= 1 s
  kNo,        // left to the operating system
};

enum class Backoff : std::uint8_t {
  kFixed,        // backoff_ms between attempts
  kExponential,  // backoff_ms, 2x, 4x, ... (at most a day)
};

enum class JobState : std::uint8_t { kWaiting, kActive, kDelayed, kCompleted, kFailed };
// "waiting", "active", "delayed", "completed", "failed".
std::string_view JobStateName(JobState state);

// How a queue treats its jobs. A queue used without one gets these defaults.
struct QueueOptions {
  // 1..64 bytes of [A-Za-z0-9_.:-]. Required.
  std::string name{};
  // Attempts in all, the first included. Default: 1.
  std::uint32_t attempts = 1;
  // Default: kFixed.
  Backoff backoff = Backoff::kFixed;
  // Default: 0 (retry at once).
  std::int64_t backoff_ms = 0;
  // Jobs running at once (handlers and Take together); 0 = no limit. Default: 0.
  std::uint32_t concurrency = 0;
  // At most rate_max jobs start per rate_duration_ms; 0 = no limit. Default: 0.
  std::uint32_t rate_max = 0;
  std::int64_t rate_duration_ms = 0;
  // A handler running longer fails the attempt. Default: 30000.
  std::int64_t timeout_ms = 30000;
  // Lease of a job taken with Take (0 there means this). Default: 30000.
  std::int64_t lease_ms = 30000;
};

enum class LogLevel : std::uint8_t { kDebug, kInfo, kWarn, kError, kOff };

struct EngineOptions {
  // Directory of the store; created when missing. Required.
  std::string data_dir{};
  // Default: kEverySec.
  Fsync fsync = Fsync::kEverySec;
  // Queue policies. Default: none (every queue gets QueueOptions' defaults).
  std::vector<QueueOptions> queues{};
  // Worker threads running the registered handlers; 0: jobs are only taken by hand or by
  // remote workers. Default: 5.
  std::uint32_t workers = 5;
  // Completed jobs kept per queue (the oldest beyond are deleted). Default: 1000.
  std::uint32_t completed_retention = 1000;
  // How long Close() waits for running handlers (then as long again after asking them to
  // stop), and for the events still queued. Default: 10000.
  std::int64_t shutdown_grace_ms = 10000;
  // Engine log lines at `log_level` or above; null: written to stderr. Called from any thread.
  // Default: null.
  std::function<void(LogLevel, std::string_view)> log{};
  // Default: kWarn.
  LogLevel log_level = LogLevel::kWarn;
};

// Options of one Add. Unset fields come from the queue's options.
struct AddOptions {
  // The job's id; "" = generated. Adding an id that exists adds nothing (deduplication) and
  // returns the existing job's state. 1..256 bytes, not a plain number. Default: "".
  std::string id{};
  // The producer's name for the job (BullMQ's add(name, data)), up to 1 KiB. Default: "".
  std::string name{};
  // Default: 0 (waiting at once).
  std::int64_t delay_ms = 0;
  // Lower runs sooner; FIFO within a priority. Default: 0.
  std::uint32_t priority = 0;
  std::optional<std::uint32_t> attempts{};
  std::optional<Backoff> backoff{};
  std::optional<std::int64_t> backoff_ms{};
};

struct AddedJob {
  std::string id;
  bool created = false;  // false: a job with this id existed
  JobState state = JobState::kWaiting;
};

// A job as stored.
struct JobInfo {
  std::string id;
  std::string queue;
  std::string name;
  std::string payload;
  JobState state = JobState::kWaiting;
  std::uint32_t priority = 0;
  std::uint32_t attempts_made = 0;
  std::uint32_t max_attempts = 1;
  std::int64_t created_ms = 0;    // Unix ms
  std::int64_t processed_ms = 0;  // last became active; 0 = never
  std::int64_t finished_ms = 0;   // completed or failed; 0 = not yet
  std::int64_t due_ms = 0;        // delayed until; 0 = not delayed
  std::string last_error;
  std::string return_value;
};

struct QueueCounts {
  std::uint64_t waiting = 0;
  std::uint64_t active = 0;
  std::uint64_t delayed = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  bool paused = false;
};

struct JobList {
  std::vector<JobInfo> jobs;
  std::string next_cursor;  // "" = no more
};

// What a handler sees of a job.
struct Work {
  std::string_view id;
  std::string_view queue;
  std::string_view name;
  std::string_view payload;
  std::uint32_t attempt = 1;  // 1 on the first run
  std::uint32_t max_attempts = 1;
  // The queue's timeout: a run past it fails the attempt whatever it returns.
  std::chrono::steady_clock::time_point deadline;
  std::stop_token stop;  // set when the engine closes: return soon
};

// What a handler's run did.
struct Outcome {
  enum class Kind : std::uint8_t { kSuccess, kRetry, kFail };
  Kind kind = Kind::kSuccess;
  std::string text;               // return value, or the error
  std::int64_t retry_in_ms = -1;  // kRetry: the next attempt in this many ms; -1: the backoff

  // Completed; `value` is kept as the job's return value.
  static Outcome Success(std::string value = {}) { return {Kind::kSuccess, std::move(value)}; }
  // A failed attempt: retried after the queue's backoff (or `retry_in_ms`), failed for good
  // after the last attempt.
  static Outcome Retry(std::string error, std::int64_t retry_in_ms = -1) {
    return {Kind::kRetry, std::move(error), retry_in_ms};
  }
  // Failed for good at once, whatever attempts are left.
  static Outcome Fail(std::string error) { return {Kind::kFail, std::move(error)}; }
};

// Runs a job. May throw: the exception's message fails the attempt (as Retry).
using HandlerFn = std::function<Outcome(const Work&)>;

// Limits a handler registers for its queue, over the queue's QueueOptions. Unset: as they are.
struct HandlerOptions {
  // Jobs of the queue running at once; 0 = no limit.
  std::optional<std::uint32_t> concurrency{};
  // A run longer than this fails the attempt.
  std::optional<std::int64_t> timeout_ms{};
  // At most rate_max starts per rate_duration_ms (both, or neither).
  std::optional<std::uint32_t> rate_max{};
  std::optional<std::int64_t> rate_duration_ms{};
};

// A job taken by hand: yours until lease_until_ms, then it goes back to waiting unless it was
// acked, failed or extended.
struct TakenJob {
  JobInfo job;
  std::int64_t lease_until_ms = 0;
};

struct JobEvent {
  enum class Type : std::uint8_t {
    kAdded,
    kActive,
    kCompleted,
    kRetrying,  // a failed attempt, delayed for the backoff
    kFailed,    // failed for good
    kStalled,   // its lease expired
    kPromoted,  // delayed -> waiting
    kRemoved,
    kRetried,  // failed -> waiting (Retry)
  };
  Type type = Type::kAdded;
  std::string queue;
  std::string id;
  std::uint32_t attempts_made = 0;
  std::string detail;  // the error, return value or reason
  std::int64_t at_ms = 0;
};
// "added", "active", "completed", ...
std::string_view JobEventTypeName(JobEvent::Type type);

// The servers StartServers runs in the engine's process.
struct ServerOptions {
  // Address both listen on. Binding beyond loopback needs `password`. Default: "127.0.0.1".
  std::string bind = "127.0.0.1";
  // RESP port; 0: the system picks one (see ServerPorts). Default: 6380.
  std::uint16_t resp_port = 6380;
  // HTTP port (dashboard at /queues, JSON API at /api, /metrics); -1: no HTTP server.
  // Default: 8080.
  std::int32_t http_port = 8080;
  // Redis's requirepass for RESP clients. Default: "" (none).
  std::string password{};
};

struct ServerPorts {
  std::uint16_t resp = 0;
  std::uint16_t http = 0;  // 0 when there is no HTTP server
};

class Engine {
 public:
  // Opens (or creates) the store in options.data_dir and recovers it: jobs that were active
  // when the process died are waiting again. InvalidArgument names a bad option; IOError or
  // Corruption when the store cannot be opened (another process has it, a damaged file).
  static Result<std::unique_ptr<Engine>> Open(EngineOptions options);
  ~Engine();  // Close()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // ---- Set-up (before Start) ---------------------------------------------------------------
  // The handler of `queue`'s jobs, run on the worker threads, as many at once as the queue's
  // concurrency allows; `options` set the queue's concurrency, timeout and rate limit (the
  // rest of its policy is its QueueOptions). InvalidArgument after Start or StartServers, or
  // for a bad queue name or option; AlreadyExists for a second handler of one queue; Busy
  // while jobs of the queue are taken by hand.
  Status RegisterHandler(std::string_view queue, HandlerFn handler,
                         const HandlerOptions& options = {});
  // Starts the worker threads and the scheduler (delays, retries, expired leases). Jobs can
  // be added before; they wait.
  Status Start();

  // ---- Producing -----------------------------------------------------------------------------
  // Adds a job, durable (per Fsync) when it returns; creates the queue when new.
  Result<AddedJob> Add(std::string_view queue, std::string payload, const AddOptions& options = {});
  // Many jobs to one queue in one durable write.
  Result<std::vector<AddedJob>> AddMany(std::string_view queue,
                                        std::vector<std::pair<std::string, AddOptions>> jobs);

  // ---- Consuming by hand ---------------------------------------------------------------------
  // Takes up to `count` waiting jobs of the first of `queues` that has some (as concurrency
  // and rate limits allow); empty when none. `lease_ms` 0: the queue's lease.
  Result<std::vector<TakenJob>> Take(const std::vector<std::string>& queues,
                                     std::uint32_t count = 1, std::int64_t lease_ms = 0);
  // Completes a taken job. NotFound when it is not taken (any more).
  Status Ack(std::string_view id, std::string return_value = {});
  // A failed attempt of a taken job (see Outcome::Retry / Fail). NotFound as Ack.
  Status Fail(std::string_view id, std::string error, bool permanent = false,
              std::int64_t retry_in_ms = -1);
  // Extends the lease to `lease_ms` from now (0: the queue's lease); returns it. NotFound as
  // Ack.
  Result<std::int64_t> Extend(std::string_view id, std::int64_t lease_ms = 0);

  // ---- Watching ------------------------------------------------------------------------------
  // Calls `subscriber` with every job event from now on, on the engine's event thread, about
  // 2 ms after the change is durable; a job's events in the order of its changes. It should be
  // quick: a subscriber too slow to keep up loses events (they are counted, never queued
  // without bound).
  Status Subscribe(std::function<void(const JobEvent&)> subscriber);
  Result<JobInfo> Show(std::string_view id) const;
  Result<QueueCounts> Counts(std::string_view queue) const;
  // A page of `queue`'s jobs in `state`; pass the returned cursor for the next one ("" first).
  Result<JobList> List(std::string_view queue, JobState state, std::string_view cursor = {},
                       std::uint32_t count = 100) const;
  std::vector<std::string> Queues() const;

  // ---- Managing ------------------------------------------------------------------------------
  Status Pause(std::string_view queue);  // no job of it starts until Resume
  Status Resume(std::string_view queue);
  Status Retry(std::string_view id);                       // failed -> waiting
  Result<std::uint64_t> RetryAll(std::string_view queue);  // every failed job -> waiting
  Status Promote(std::string_view id);                     // delayed -> waiting now
  Status Remove(std::string_view id);
  // Deletes up to `limit` jobs of `queue` in `state` older than `age_ms`, oldest first;
  // returns how many.
  Result<std::uint64_t> Clean(std::string_view queue, JobState state, std::int64_t age_ms,
                              std::uint64_t limit = 1000);

  // ---- Serving -------------------------------------------------------------------------------
  // Serves RESP and HTTP for this engine until Close(), before or after Start(). AlreadyExists
  // when they run already; InvalidArgument for a public bind without a password; IOError when
  // a port cannot be bound.
  Result<ServerPorts> StartServers(const ServerOptions& options);

  // Stops the servers, stops handing out work, waits for running handlers (see
  // EngineOptions::shutdown_grace_ms; their results are recorded), delivers the queued events
  // and closes the store. False when a handler ignored its stop token and still runs (the
  // store is then left as a kill -9 leaves it: nothing acknowledged is lost). Idempotent.
  bool Close();

  // What Open builds, and the way in for the server built on this class (tools/); not part
  // of the API (Impl is not defined in the installed headers).
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald
