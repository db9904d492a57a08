// Queue commands: QLEN, QSTAT, QPEEK, QUEUES, QSCAN, QRETRY, QPAUSE, QRESUME, QCLEAN.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/command_context.h"
#include "net/commands/arg_parsing.h"
#include "net/commands/builtin_commands.h"
#include "net/commands/job_support.h"

namespace herald::net {
namespace {

using engine::Job;
using engine::JobState;

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
  reply.MapHeader(17);
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
  reply.Bulk("keep-completed");
  reply.Integer(static_cast<std::int64_t>(policy->keep_completed));
  reply.Bulk("keep-completed-age-ms");
  reply.Integer(policy->keep_completed_age_ms);
  reply.Bulk("keep-failed");
  reply.Integer(static_cast<std::int64_t>(policy->keep_failed));
  reply.Bulk("keep-failed-age-ms");
  reply.Integer(policy->keep_failed_age_ms);
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

}  // namespace

void AddQueueCommands(CommandTable* table) {
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
}

}  // namespace herald::net
