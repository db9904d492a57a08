// Job commands (Disque-style names, milliseconds everywhere) and EMIT; the queue commands are
// in queue_commands.cc.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/command_context.h"
#include "net/commands/arg_parsing.h"
#include "net/commands/builtin_commands.h"
#include "net/commands/job_support.h"
#include "net/status_reply.h"

namespace herald::net {
namespace {

using engine::Job;
using engine::JobOptions;
using engine::JobState;
using engine::LeasedJob;

void WriteLeasedJobs(resp::ReplyWriter& reply, const std::vector<LeasedJob>& jobs, bool with_name) {
  if (jobs.empty()) return reply.NullArray();
  reply.ArrayHeader(jobs.size());
  for (const LeasedJob& leased : jobs) WriteJobEntry(reply, leased.job, with_name);
}

// Who runs the jobs this client takes, as their attempts record it: its CLIENT SETNAME name
// and address, "name@addr", or the address alone while it has no name.
std::string WorkerOf(CommandContext& ctx) {
  ClientInfo& client = ctx.client();
  std::string name;
  {
    MutexLock lock(&client.mu);
    name = client.name;
  }
  if (name.empty()) return client.addr;
  return name + "@" + client.addr;
}

// ---- Off the I/O thread ----------------------------------------------------------------------
// Where each store call waits for a commit (the postgres store), GETJOB, ACKJOB and NACK make
// theirs on the broker's store-call threads while the connection waits parked, as for a
// blocking command, so that its I/O thread serves the other clients meanwhile.

using ReplyWrite = std::function<void(resp::ReplyWriter&)>;

ReplyWrite ErrorReply(std::string text) {
  return [text = std::move(text)](resp::ReplyWriter& reply) { reply.Error(text); };
}

// Parks the connection and runs `call` on a store-call thread; its reply is the answer.
void RunOnStoreCallThread(CommandContext& ctx, std::function<ReplyWrite()> call) {
  auto parker = ctx.Park([] {});  // the call runs to its end; a gone client gets no answer
  Status posted = ctx.server().broker().PostStoreCall(
      [parker, call = std::move(call)] { parker->Resume(call()); });
  if (!posted.ok()) parker->Resume(ErrorReply(ErrorText(posted)));
}

// GETJOB's take (or acknowledgement and take) on a store-call thread. When nothing is there
// (and not NOHANG), the waiter is registered from that thread; a client that went away in the
// meantime has it cancelled, whichever of the two came first.
void GetJobOnStoreCallThread(CommandContext& ctx, engine::TakeRequest request,
                             std::optional<engine::Completion> ack, bool nohang, bool with_name,
                             std::int64_t timeout_ms) {
  engine::Broker& broker = ctx.server().broker();
  struct Waiting {
    std::atomic<engine::Broker::WaiterId> id{0};
    std::atomic<bool> gone{false};
  };
  auto waiting = std::make_shared<Waiting>();
  auto parker = ctx.Park([&broker, waiting] {
    waiting->gone.store(true);
    broker.CancelWaiter(waiting->id.load());
  });
  auto call = [&broker, parker, waiting, request = std::move(request), ack = std::move(ack), nohang,
               with_name, timeout_ms]() mutable {
    auto jobs = ack ? broker.AckAndTake(ack->id, std::move(ack->return_value), request)
                    : broker.Take(request);
    if (!jobs.ok()) return (void)parker->Resume(ErrorReply(ErrorText(jobs.status(), "NOJOB")));
    if (!jobs->empty() || nohang) {
      parker->Resume([taken = std::move(*jobs), with_name](resp::ReplyWriter& reply) {
        WriteLeasedJobs(reply, taken, with_name);
      });
      return;
    }
    auto id =
        broker.TakeAsync(request, timeout_ms, [parker, with_name](std::vector<LeasedJob> taken) {
          parker->Resume([taken = std::move(taken), with_name](resp::ReplyWriter& reply) {
            WriteLeasedJobs(reply, taken, with_name);
          });
        });
    if (!id.ok()) return (void)parker->Resume(ErrorReply("ERR " + id.status().message()));
    waiting->id.store(*id);
    if (waiting->gone.load()) broker.CancelWaiter(*id);
  };
  Status posted = broker.PostStoreCall(std::move(call));
  if (!posted.ok()) parker->Resume(ErrorReply(ErrorText(posted)));
}

// SHOW's "history": one map per attempt, oldest first.
void WriteHistory(resp::ReplyWriter& reply, const std::vector<engine::Attempt>& history) {
  reply.ArrayHeader(history.size());
  for (const engine::Attempt& attempt : history) {
    reply.MapHeader(7);
    reply.Bulk("started-ms");
    reply.Integer(attempt.started_ms);
    reply.Bulk("ended-ms");
    reply.Integer(attempt.ended_ms);
    reply.Bulk("outcome");
    reply.Bulk(engine::AttemptOutcomeName(attempt.outcome));
    reply.Bulk("error");
    reply.Bulk(attempt.error);
    reply.Bulk("worker");
    reply.Bulk(attempt.worker);
    reply.Bulk("backoff-ms");
    reply.Integer(attempt.backoff_ms);
    reply.Bulk("next-due-ms");
    reply.Integer(attempt.next_due_ms);
  }
}

}  // namespace

bool ParseAddJobOptions(CommandContext& ctx, Args args, engine::JobOptions* out) {
  JobOptions options;
  for (size_t i = 3; i < args.size(); ++i) {
    const std::string& option = args[i];
    const bool has_value = i + 1 < args.size();
    std::int64_t n = 0;
    if (EqualsIgnoreCase(option, "delay") && has_value) {
      if (!ReadInt(ctx, "DELAY", args[++i], 0, INT64_MAX, &n)) return false;
      options.delay_ms = n;
    } else if (EqualsIgnoreCase(option, "attempts") && has_value) {
      if (!ReadInt(ctx, "ATTEMPTS", args[++i], 1, 1000000, &n)) return false;
      options.attempts = static_cast<std::uint32_t>(n);
    } else if (EqualsIgnoreCase(option, "priority") && has_value) {
      if (!ReadInt(ctx, "PRIORITY", args[++i], 0, UINT32_MAX, &n)) return false;
      options.priority = static_cast<std::uint32_t>(n);
    } else if (EqualsIgnoreCase(option, "jobid") && has_value) {
      options.id = args[++i];
    } else if (EqualsIgnoreCase(option, "name") && has_value) {
      options.name = args[++i];
    } else if (EqualsIgnoreCase(option, "backoff") && i + 2 < args.size()) {
      auto type = engine::ParseBackoffType(args[i + 1]);
      if (!type.ok()) {
        ctx.Error("ERR BACKOFF type must be fixed or exponential");
        return false;
      }
      options.backoff_type = *type;
      if (!ReadInt(ctx, "BACKOFF delay", args[i + 2], 0, INT64_MAX, &n)) return false;
      options.backoff_ms = n;
      i += 2;
    } else {
      ctx.SyntaxError();
      return false;
    }
  }
  *out = std::move(options);
  return true;
}

namespace {

// ADDJOB queue payload [DELAY ms] [ATTEMPTS n] [BACKOFF fixed|exponential ms] [PRIORITY n]
//        [JOBID id] [NAME name]
void AddJob(CommandContext& ctx, Args args) {
  JobOptions options;
  if (!ParseAddJobOptions(ctx, args, &options)) return;
  if (std::vector<DeferredAdd>* run = ctx.deferred_adds()) {
    run->push_back(DeferredAdd{args[1], args[2], std::move(options)});
    return;
  }
  auto added = ctx.server().broker().Add(args[1], args[2], options);
  if (!added.ok()) return ctx.StatusError(added.status());
  ctx.reply().Bulk(added->id);
}

// GETJOB [NOHANG] [TIMEOUT ms] [COUNT n] [LEASE ms] [ACK id [RESULT value]] [WITHNAME]
//        FROM queue ...
// WITHNAME adds each job's name to its entry. With ACK, the job `id` this client holds is completed
// (as ACKJOB id [RESULT value]) and the next one taken in the same write: a worker's loop in one
// round trip. When `id` is not active the reply is a NOJOB error and nothing is taken.
void GetJob(CommandContext& ctx, Args args) {
  engine::TakeRequest request;
  std::optional<engine::Completion> ack;
  bool nohang = false;
  bool with_name = false;
  std::int64_t timeout_ms = 0;
  size_t i = 1;
  for (; i < args.size(); ++i) {
    const std::string& option = args[i];
    std::int64_t n = 0;
    if (EqualsIgnoreCase(option, "from")) {
      ++i;
      break;
    } else if (EqualsIgnoreCase(option, "nohang")) {
      nohang = true;
    } else if (EqualsIgnoreCase(option, "withname")) {
      with_name = true;
    } else if (EqualsIgnoreCase(option, "timeout") && i + 1 < args.size()) {
      if (!ReadInt(ctx, "TIMEOUT", args[++i], 0, INT64_MAX, &n)) return;
      timeout_ms = n;
    } else if (EqualsIgnoreCase(option, "count") && i + 1 < args.size()) {
      if (!ReadInt(ctx, "COUNT", args[++i], 1, 100000, &n)) return;
      request.count = static_cast<std::uint32_t>(n);
    } else if (EqualsIgnoreCase(option, "lease") && i + 1 < args.size()) {
      if (!ReadInt(ctx, "LEASE", args[++i], 0, INT64_MAX, &n)) return;
      request.lease_ms = n;
    } else if (EqualsIgnoreCase(option, "ack") && i + 1 < args.size() && !ack) {
      ack = engine::Completion{args[++i], {}};
      if (i + 2 < args.size() && EqualsIgnoreCase(args[i + 1], "result")) {
        ack->return_value = args[i + 2];
        i += 2;
      }
    } else {
      return ctx.SyntaxError();
    }
  }
  if (i >= args.size()) return ctx.Error("ERR syntax error: GETJOB needs FROM and a queue");
  request.queues.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  request.worker = WorkerOf(ctx);
  engine::Broker& broker = ctx.server().broker();
  if (broker.calls_wait_for_commits()) {
    return GetJobOnStoreCallThread(ctx, std::move(request), std::move(ack), nohang, with_name,
                                   timeout_ms);
  }
  auto jobs = ack ? broker.AckAndTake(ack->id, std::move(ack->return_value), request)
                  : broker.Take(request);
  if (!jobs.ok()) return ctx.StatusError(jobs.status(), "NOJOB");
  if (!jobs->empty() || nohang) return WriteLeasedJobs(ctx.reply(), *jobs, with_name);

  auto waiter_id = std::make_shared<std::atomic<engine::Broker::WaiterId>>(0);
  auto parker = ctx.Park([&broker, waiter_id] { broker.CancelWaiter(waiter_id->load()); });
  auto id =
      broker.TakeAsync(request, timeout_ms, [parker, with_name](std::vector<LeasedJob> taken) {
        parker->Resume([taken = std::move(taken), with_name](resp::ReplyWriter& reply) {
          WriteLeasedJobs(reply, taken, with_name);
        });
      });
  if (!id.ok()) {
    Status status = id.status();
    parker->Resume([status](resp::ReplyWriter& reply) { reply.Error("ERR " + status.message()); });
    return;
  }
  waiter_id->store(*id);
}

// ACKJOB id [id ...] -> how many active jobs were completed.
// ACKJOB id RESULT value -> completes one job with a return value (SHOW's "result"), as the
// broker's own workers record their handlers' results. RESULT is a keyword only as the second
// of exactly three arguments (so three ids whose middle one is named "result" must be acked in
// another order); anywhere else it is an id as before. A broker without this form reads RESULT
// and the value as unknown ids, acks the job and answers 1, so workers can send it to either.
void AckJob(CommandContext& ctx, Args args) {
  std::vector<engine::Completion> completions;
  if (args.size() == 4 && EqualsIgnoreCase(args[2], "result")) {
    completions.push_back(engine::Completion{args[1], args[3]});
  } else {
    for (size_t i = 1; i < args.size(); ++i) completions.push_back(engine::Completion{args[i], {}});
  }
  // Every id in one write; ids not active under a lease are not counted.
  engine::Broker& broker = ctx.server().broker();
  auto ack_all = [&broker, completions = std::move(completions)]() mutable {
    std::int64_t acked = 0;
    for (const auto& result : broker.AckMany(std::move(completions))) {
      if (result.ok()) ++acked;
    }
    return acked;
  };
  if (broker.calls_wait_for_commits()) {
    return RunOnStoreCallThread(ctx, [ack_all = std::move(ack_all)]() mutable -> ReplyWrite {
      const std::int64_t acked = ack_all();
      return [acked](resp::ReplyWriter& reply) { reply.Integer(acked); };
    });
  }
  ctx.reply().Integer(ack_all());
}

// NACK id [reason] [PERMANENT]: a failed attempt, retried after the backoff or failed when
// none are left; with PERMANENT the job fails at once, whatever attempts are left (e.g. a mail
// relay's 5xx). A lone word after the id is the flag when it is PERMANENT, the reason
// otherwise.
void Nack(CommandContext& ctx, Args args) {
  if (args.size() > 4) return ctx.WrongArity("nack");
  engine::FailMode mode = engine::FailMode::kRetry;
  std::string reason = "NACK from worker";
  if (args.size() == 4) {
    if (!EqualsIgnoreCase(args[3], "permanent")) return ctx.SyntaxError();
    mode = engine::FailMode::kPermanent;
    reason = args[2];
  } else if (args.size() == 3) {
    if (EqualsIgnoreCase(args[2], "permanent")) {
      mode = engine::FailMode::kPermanent;
    } else {
      reason = args[2];
    }
  }
  engine::Broker& broker = ctx.server().broker();
  if (broker.calls_wait_for_commits()) {
    return RunOnStoreCallThread(ctx, [&broker, id = args[1], reason, mode]() -> ReplyWrite {
      auto job = broker.Fail(id, reason, mode);
      if (!job.ok()) return ErrorReply(ErrorText(job.status(), "NOJOB"));
      return [](resp::ReplyWriter& reply) { reply.Integer(1); };
    });
  }
  auto job = broker.Fail(args[1], reason, mode);
  if (!job.ok()) return ctx.StatusError(job.status(), "NOJOB");
  ctx.reply().Integer(1);
}

void Working(CommandContext& ctx, Args args) {
  auto lease = ctx.server().broker().ExtendLease(args[1]);
  if (!lease.ok()) return ctx.StatusError(lease.status(), "NOJOB");
  ctx.reply().Integer(*lease);
}

void Show(CommandContext& ctx, Args args) {
  auto job = ctx.server().broker().Show(args[1]);
  if (!job.ok()) {
    if (job.status().IsNotFound()) return ctx.reply().Null();
    return ctx.StatusError(job.status());
  }
  resp::ReplyWriter& reply = ctx.reply();
  reply.MapHeader(17);
  reply.Bulk("id");
  reply.Bulk(job->id);
  reply.Bulk("queue");
  reply.Bulk(job->queue);
  reply.Bulk("name");
  reply.Bulk(job->name);
  reply.Bulk("state");
  reply.Bulk(engine::JobStateName(job->state));
  reply.Bulk("payload");
  reply.Bulk(job->payload);
  reply.Bulk("priority");
  reply.Integer(job->priority);
  reply.Bulk("attempts-made");
  reply.Integer(job->attempts_made);
  reply.Bulk("max-attempts");
  reply.Integer(job->max_attempts);
  reply.Bulk("backoff");
  reply.Bulk(engine::BackoffTypeName(job->backoff_type));
  reply.Bulk("backoff-ms");
  reply.Integer(job->backoff_ms);
  reply.Bulk("created-ms");
  reply.Integer(job->created_ms);
  reply.Bulk("processed-ms");
  reply.Integer(job->processed_ms);
  reply.Bulk("finished-ms");
  reply.Integer(job->finished_ms);
  reply.Bulk("due-ms");
  reply.Integer(job->due_ms);
  reply.Bulk("last-error");
  reply.Bulk(job->last_error);
  reply.Bulk("result");
  reply.Bulk(job->return_value);
  reply.Bulk("history");
  WriteHistory(reply, job->history);
}

void DelJob(CommandContext& ctx, Args args) {
  std::int64_t removed = 0;
  std::string ids;
  for (size_t i = 1; i < args.size(); ++i) {
    if (ctx.server().broker().Delete(args[i]).ok()) ++removed;
    if (i <= 10) ids += (i == 1 ? "" : " ") + args[i];
  }
  if (args.size() > 11) ids += " ...";
  Audit(ctx, "delete", ids, static_cast<std::uint64_t>(removed));
  ctx.reply().Integer(removed);
}

void Emit(CommandContext& ctx, Args args) {
  auto added = ctx.server().broker().Emit(args[1]);
  if (!added.ok()) return ctx.StatusError(added.status());
  ctx.reply().Bulk(added->id);
}

}  // namespace

void AddJobCommands(CommandTable* table) {
  table->Add(
      {.name = "addjob",
       .arity = -3,
       .flags = kWrite | kFast,
       .group = "jobs",
       .summary =
           "Add a job: ADDJOB queue payload [DELAY ms] [ATTEMPTS n] [BACKOFF fixed|exponential "
           "ms] [PRIORITY n] [JOBID id] [NAME name]",
       .handler = AddJob});
  table->Add({.name = "getjob",
              .arity = -3,
              .flags = kWrite | kBlocking,
              .group = "jobs",
              .summary =
                  "Take jobs: GETJOB [NOHANG] [TIMEOUT ms] [COUNT n] [LEASE ms] [ACK id [RESULT "
                  "value]] [WITHNAME] FROM queue ...",
              .handler = GetJob});
  table->Add({.name = "ackjob",
              .arity = -2,
              .flags = kWrite | kFast,
              .group = "jobs",
              .summary = "Complete active jobs: ACKJOB id [id ...] | ACKJOB id RESULT value",
              .handler = AckJob});
  table->Add({.name = "nack",
              .arity = -2,
              .flags = kWrite | kFast,
              .group = "jobs",
              .summary = "Fail an active job: NACK id [reason] [PERMANENT]",
              .handler = Nack});
  table->Add({.name = "working",
              .arity = 2,
              .flags = kWrite | kFast,
              .group = "jobs",
              .summary = "Extend the lease of an active job.",
              .handler = Working});
  table->Add({.name = "show",
              .arity = 2,
              .flags = kReadonly,
              .group = "jobs",
              .summary = "Show a job.",
              .handler = Show});
  table->Add({.name = "deljob",
              .arity = -2,
              .flags = kWrite,
              .group = "jobs",
              .summary = "Delete jobs.",
              .handler = DelJob});
  table->Add({.name = "emit",
              .arity = 2,
              .flags = kWrite,
              .group = "events",
              .summary = "Validate, route and queue an event.",
              .handler = Emit});
}

}  // namespace herald::net
