// Job commands (Disque-style names, milliseconds everywhere) and EMIT.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/command_context.h"
#include "net/commands/arg_parsing.h"
#include "net/commands/builtin_commands.h"

namespace herald::net {
namespace {

using engine::Job;
using engine::JobOptions;
using engine::JobState;
using engine::LeasedJob;

constexpr const char* kNotInteger = "ERR value is not an integer or out of range";

// Reads the integer argument `what` (an option's name, as the caller spelled it in the
// syntax): out of [min, max] or not an integer, the error keeps Redis's wording and names it,
// "ERR value is not an integer or out of range: DELAY must be an integer from 0 to ...".
bool ReadInt(CommandContext& ctx, std::string_view what, const std::string& text, std::int64_t min,
             std::int64_t max, std::int64_t* out) {
  auto value = ParseRedisInt(text);
  if (!value || *value < min || *value > max) {
    ctx.Error(std::string(kNotInteger) + ": " + std::string(what) + " must be an integer from " +
              std::to_string(min) + " to " + std::to_string(max));
    return false;
  }
  *out = *value;
  return true;
}

// [queue, id, payload, attempts-made]: GETJOB's and QPEEK's shape; with_name adds the job's
// name ("" when it has none) as a fifth element (GETJOB WITHNAME).
void WriteJobEntry(resp::ReplyWriter& reply, const Job& job, bool with_name = false) {
  reply.ArrayHeader(with_name ? 5 : 4);
  reply.Bulk(job.queue);
  reply.Bulk(job.id);
  reply.Bulk(job.payload);
  reply.Integer(job.attempts_made);
  if (with_name) reply.Bulk(job.name);
}

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

// ADDJOB queue payload [DELAY ms] [ATTEMPTS n] [BACKOFF fixed|exponential ms] [PRIORITY n]
//        [JOBID id] [NAME name]
void AddJob(CommandContext& ctx, Args args) {
  JobOptions options;
  for (size_t i = 3; i < args.size(); ++i) {
    const std::string& option = args[i];
    const bool has_value = i + 1 < args.size();
    std::int64_t n = 0;
    if (EqualsIgnoreCase(option, "delay") && has_value) {
      if (!ReadInt(ctx, "DELAY", args[++i], 0, INT64_MAX, &n)) return;
      options.delay_ms = n;
    } else if (EqualsIgnoreCase(option, "attempts") && has_value) {
      if (!ReadInt(ctx, "ATTEMPTS", args[++i], 1, 1000000, &n)) return;
      options.attempts = static_cast<std::uint32_t>(n);
    } else if (EqualsIgnoreCase(option, "priority") && has_value) {
      if (!ReadInt(ctx, "PRIORITY", args[++i], 0, UINT32_MAX, &n)) return;
      options.priority = static_cast<std::uint32_t>(n);
    } else if (EqualsIgnoreCase(option, "jobid") && has_value) {
      options.id = args[++i];
    } else if (EqualsIgnoreCase(option, "name") && has_value) {
      options.name = args[++i];
    } else if (EqualsIgnoreCase(option, "backoff") && i + 2 < args.size()) {
      auto type = engine::ParseBackoffType(args[i + 1]);
      if (!type.ok()) return ctx.Error("ERR BACKOFF type must be fixed or exponential");
      options.backoff_type = *type;
      if (!ReadInt(ctx, "BACKOFF delay", args[i + 2], 0, INT64_MAX, &n)) return;
      options.backoff_ms = n;
      i += 2;
    } else {
      return ctx.SyntaxError();
    }
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
  std::int64_t acked = 0;
  for (const auto& result : ctx.server().broker().AckMany(std::move(completions))) {
    if (result.ok()) ++acked;
  }
  ctx.reply().Integer(acked);
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
  auto job = ctx.server().broker().Fail(args[1], reason, mode);
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

// An operator action of this client into the audit log (net/audit_log.h).
void Audit(CommandContext& ctx, std::string action, std::string target, std::uint64_t matched,
           std::string detail = {}) {
  std::string client = "resp " + ctx.client().addr;
  {
    MutexLock lock(&ctx.client().mu);
    if (!ctx.client().name.empty()) client += " (" + ctx.client().name + ")";
  }
  ctx.server().audit().Record({.at_ms = 0,
                               .client = std::move(client),
                               .action = std::move(action),
                               .target = std::move(target),
                               .matched = matched,
                               .detail = std::move(detail)});
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

bool KnownQueue(CommandContext& ctx, const std::string& queue) {
  auto queues = ctx.server().broker().Queues();
  return std::find(queues.begin(), queues.end(), queue) != queues.end();
}

void QLen(CommandContext& ctx, Args args) {
  if (!KnownQueue(ctx, args[1])) return ctx.reply().Integer(0);
  auto counts = ctx.server().broker().Counts(args[1]);
  if (!counts.ok()) return ctx.StatusError(counts.status());
  ctx.reply().Integer(static_cast<std::int64_t>(counts->waiting));
}

void QStat(CommandContext& ctx, Args args) {
  if (!KnownQueue(ctx, args[1])) return ctx.reply().Null();
  engine::Broker& broker = ctx.server().broker();
  auto counts = broker.Counts(args[1]);
  if (!counts.ok()) return ctx.StatusError(counts.status());
  auto policy = broker.Policy(args[1]);
  if (!policy.ok()) return ctx.StatusError(policy.status());
  resp::ReplyWriter& reply = ctx.reply();
  reply.MapHeader(13);
  reply.Bulk("name");
  reply.Bulk(args[1]);
  reply.Bulk("waiting");
  reply.Integer(static_cast<std::int64_t>(counts->waiting));
  reply.Bulk("active");
  reply.Integer(static_cast<std::int64_t>(counts->active));
  reply.Bulk("delayed");
  reply.Integer(static_cast<std::int64_t>(counts->delayed));
  reply.Bulk("completed");
  reply.Integer(static_cast<std::int64_t>(counts->completed));
  reply.Bulk("failed");
  reply.Integer(static_cast<std::int64_t>(counts->failed));
  reply.Bulk("paused");
  reply.Integer(counts->paused ? 1 : 0);
  reply.Bulk("attempts");
  reply.Integer(policy->max_attempts);
  reply.Bulk("backoff");
  reply.Bulk(engine::BackoffTypeName(policy->backoff_type));
  reply.Bulk("backoff-ms");
  reply.Integer(policy->backoff_ms);
  reply.Bulk("concurrency");
  reply.Integer(policy->concurrency);
  reply.Bulk("timeout-ms");
  reply.Integer(policy->timeout_ms);
  reply.Bulk("lease-ms");
  reply.Integer(policy->lease_ms);
}

void QPeek(CommandContext& ctx, Args args) {
  std::int64_t count = 0;
  if (!ReadInt(ctx, "count", args[2], 0, 100000, &count)) return;
  if (!KnownQueue(ctx, args[1]) || count == 0) return ctx.reply().ArrayHeader(0);
  auto page = ctx.server().broker().List(args[1], JobState::kWaiting, "",
                                         static_cast<std::uint32_t>(count));
  if (!page.ok()) return ctx.StatusError(page.status());
  ctx.reply().ArrayHeader(page->jobs.size());
  for (const Job& job : page->jobs) WriteJobEntry(ctx.reply(), job);
}

void Queues(CommandContext& ctx, Args) {
  auto queues = ctx.server().broker().Queues();
  ctx.reply().ArrayHeader(queues.size());
  for (const std::string& queue : queues) ctx.reply().Bulk(queue);
}

std::string HexEncode(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// QSCAN queue state cursor [COUNT n] -> [next-cursor, [id ...]]; cursor "0" starts and ends.
void QScan(CommandContext& ctx, Args args) {
  auto state = engine::ParseJobState(args[2]);
  if (!state.ok()) {
    return ctx.Error("ERR state must be waiting, active, delayed, completed or failed");
  }
  std::int64_t count = 10;
  if (args.size() == 6 && EqualsIgnoreCase(args[4], "count")) {
    if (!ReadInt(ctx, "COUNT", args[5], 1, 100000, &count)) return;
  } else if (args.size() != 4) {
    return ctx.SyntaxError();
  }
  std::string cursor;
  if (args[3] != "0") {
    auto decoded = HexDecode(args[3]);
    if (!decoded) return ctx.Error("ERR invalid cursor");
    cursor = std::move(*decoded);
  }
  if (!KnownQueue(ctx, args[1])) {
    ctx.reply().ArrayHeader(2);
    ctx.reply().Bulk("0");
    return ctx.reply().ArrayHeader(0);
  }
  auto page =
      ctx.server().broker().List(args[1], *state, cursor, static_cast<std::uint32_t>(count));
  if (!page.ok()) return ctx.StatusError(page.status());
  ctx.reply().ArrayHeader(2);
  ctx.reply().Bulk(page->next_cursor.empty() ? "0" : HexEncode(page->next_cursor));
  ctx.reply().ArrayHeader(page->jobs.size());
  for (const Job& job : page->jobs) ctx.reply().Bulk(job.id);
}

void QRetry(CommandContext& ctx, Args args) {
  engine::Broker& broker = ctx.server().broker();
  if (args.size() == 2) {
    if (!KnownQueue(ctx, args[1])) return ctx.reply().Integer(0);
    auto moved = broker.RetryAll(args[1]);
    if (!moved.ok()) return ctx.StatusError(moved.status());
    Audit(ctx, "retry-all", args[1], *moved);
    return ctx.reply().Integer(static_cast<std::int64_t>(*moved));
  }
  std::int64_t moved = 0;
  for (size_t i = 2; i < args.size(); ++i) {
    auto job = broker.Show(args[i]);
    if (!job.ok() || job->queue != args[1]) continue;
    if (broker.Retry(args[i]).ok()) ++moved;
  }
  Audit(ctx, "retry", args[1], static_cast<std::uint64_t>(moved),
        std::to_string(args.size() - 2) + " id(s) given");
  ctx.reply().Integer(moved);
}

void QPause(CommandContext& ctx, Args args) {
  Status status = ctx.server().broker().Pause(args[1]);
  if (!status.ok()) return ctx.StatusError(status);
  Audit(ctx, "pause", args[1], 0);
  ctx.Ok();
}

void QResume(CommandContext& ctx, Args args) {
  Status status = ctx.server().broker().Resume(args[1]);
  if (!status.ok()) return ctx.StatusError(status);
  Audit(ctx, "resume", args[1], 0);
  ctx.Ok();
}

// QCLEAN queue state [age-ms] [LIMIT n]: removes the jobs in `state` that finished (completed,
// failed), were added (waiting) or are due (delayed) at least age-ms ago, at most n of them,
// oldest first.
void QClean(CommandContext& ctx, Args args) {
  if (args.size() > 6) return ctx.WrongArity("qclean");
  auto state = engine::ParseJobState(args[2]);
  if (!state.ok()) {
    return ctx.Error("ERR state must be waiting, delayed, completed or failed");
  }
  std::int64_t age = 0;
  std::int64_t limit = INT64_MAX;
  size_t i = 3;
  if (i < args.size() && !EqualsIgnoreCase(args[i], "limit")) {
    if (!ReadInt(ctx, "age-ms", args[i], 0, INT64_MAX / 2, &age)) return;
    ++i;
  }
  if (i < args.size()) {
    if (!EqualsIgnoreCase(args[i], "limit") || i + 2 != args.size()) return ctx.SyntaxError();
    if (!ReadInt(ctx, "LIMIT", args[i + 1], 1, INT64_MAX, &limit)) return;
  }
  if (!KnownQueue(ctx, args[1])) return ctx.reply().Integer(0);
  auto removed =
      ctx.server().broker().Clean(args[1], *state, age, static_cast<std::uint64_t>(limit));
  if (!removed.ok()) return ctx.StatusError(removed.status());
  Audit(ctx, "clean", args[1], *removed,
        std::string(engine::JobStateName(*state)) + " older than " + std::to_string(age) + " ms");
  ctx.reply().Integer(static_cast<std::int64_t>(*removed));
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
  table->Add({.name = "qlen",
              .arity = 2,
              .flags = kReadonly | kFast,
              .group = "jobs",
              .summary = "Waiting jobs of a queue.",
              .handler = QLen});
  table->Add({.name = "qstat",
              .arity = 2,
              .flags = kReadonly,
              .group = "jobs",
              .summary = "Counts and policy of a queue.",
              .handler = QStat});
  table->Add({.name = "qpeek",
              .arity = 3,
              .flags = kReadonly,
              .group = "jobs",
              .summary = "The next waiting jobs of a queue.",
              .handler = QPeek});
  table->Add({.name = "queues",
              .arity = 1,
              .flags = kReadonly,
              .group = "jobs",
              .summary = "The names of all queues.",
              .handler = Queues});
  table->Add({.name = "qscan",
              .arity = -4,
              .flags = kReadonly,
              .group = "jobs",
              .summary = "Page through jobs: QSCAN queue state cursor [COUNT n]",
              .handler = QScan});
  table->Add({.name = "qretry",
              .arity = -2,
              .flags = kWrite,
              .group = "jobs",
              .summary = "Retry failed jobs: QRETRY queue [id ...]",
              .handler = QRetry});
  table->Add({.name = "qpause",
              .arity = 2,
              .flags = kWrite,
              .group = "jobs",
              .summary = "Pause a queue.",
              .handler = QPause});
  table->Add({.name = "qresume",
              .arity = 2,
              .flags = kWrite,
              .group = "jobs",
              .summary = "Resume a queue.",
              .handler = QResume});
  table->Add({.name = "qclean",
              .arity = -3,
              .flags = kWrite,
              .group = "jobs",
              .summary = "Remove old jobs: QCLEAN queue state [age-ms] [LIMIT n]",
              .handler = QClean});
  table->Add({.name = "emit",
              .arity = 2,
              .flags = kWrite,
              .group = "events",
              .summary = "Validate, route and queue an event.",
              .handler = Emit});
}

}  // namespace herald::net
