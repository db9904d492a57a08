// EXPORT and IMPORT: jobs and records as the lines of `herald export` (engine/job_export.h),
// page by page, and one line at a time back in.
//
//   EXPORT JOBS queue state cursor [COUNT n] [SINCE ms]
//       -> [next cursor ("" at the end), [line, ...]]: jobs in QSCAN's order, those created
//          before SINCE left out (a page may then hold fewer than n, or none)
//   EXPORT RECORDS table after [COUNT n]
//       -> [next ("" at the end), [line, ...]]: records of prefs|inbox|sent|tickets after the
//          key `after` ("" = from the first)
//   IMPORT line
//       -> 1 when the job was added (or the record written), 0 when a job with that id exists
//          (or the record holds that value already): importing twice changes nothing
#include <optional>
#include <string>
#include <vector>

#include "engine/job_export.h"
#include "net/command_context.h"
#include "net/commands/arg_parsing.h"
#include "net/commands/builtin_commands.h"
#include "net/commands/job_support.h"

namespace herald::net {
namespace {

constexpr std::int64_t kDefaultPage = 200;
constexpr std::int64_t kMaxPage = 10000;

void WritePage(CommandContext& ctx, const std::string& next,
               const std::vector<std::string>& lines) {
  ctx.reply().ArrayHeader(2);
  ctx.reply().Bulk(next);
  ctx.reply().ArrayHeader(lines.size());
  for (const std::string& line : lines) ctx.reply().Bulk(line);
}

// COUNT n and SINCE ms from args[from..]; false (the error replied) when malformed.
bool PageOptions(CommandContext& ctx, Args args, std::size_t from, bool since_allowed,
                 std::int64_t* count, std::int64_t* since) {
  for (std::size_t i = from; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) {
      ctx.SyntaxError();
      return false;
    }
    const std::optional<std::int64_t> n = ParseRedisInt(args[i + 1]);
    if (EqualsIgnoreCase(args[i], "count")) {
      if (!n || *n < 1 || *n > kMaxPage) {
        ctx.Error("ERR COUNT must be between 1 and 10000");
        return false;
      }
      *count = *n;
    } else if (since_allowed && EqualsIgnoreCase(args[i], "since")) {
      if (!n || *n < 0) {
        ctx.Error("ERR SINCE is not a time in ms since the epoch");
        return false;
      }
      *since = *n;
    } else {
      ctx.SyntaxError();
      return false;
    }
  }
  return true;
}

void ExportJobs(CommandContext& ctx, Args args) {
  if (args.size() < 5) return ctx.WrongArity("export|jobs");
  std::int64_t count = kDefaultPage, since = 0;
  if (!PageOptions(ctx, args, 5, true, &count, &since)) return;
  auto state = storage::ParseJobState(args[3]);
  if (!state.ok()) return ctx.StatusError(state.status());
  if (!KnownQueue(ctx, args[2])) return WritePage(ctx, "", {});
  auto page =
      ctx.server().broker().List(args[2], *state, args[4], static_cast<std::uint32_t>(count));
  if (!page.ok()) return ctx.StatusError(page.status());
  std::vector<std::string> lines;
  lines.reserve(page->jobs.size());
  for (const engine::Job& job : page->jobs) {
    if (job.created_ms >= since) lines.push_back(engine::ExportJobLine(job));
  }
  WritePage(ctx, page->next_cursor, lines);
}

void ExportRecords(CommandContext& ctx, Args args) {
  if (args.size() < 4) return ctx.WrongArity("export|records");
  std::int64_t count = kDefaultPage, since = 0;
  if (!PageOptions(ctx, args, 4, false, &count, &since)) return;
  auto table = engine::ParseExportTable(args[2]);
  if (!table.ok()) return ctx.StatusError(table.status());
  auto rows =
      ctx.server().broker().records().ScanAfter(*table, args[3], static_cast<std::uint32_t>(count));
  if (!rows.ok()) return ctx.StatusError(rows.status());
  std::vector<std::string> lines;
  lines.reserve(rows->size());
  for (const auto& [key, value] : *rows) {
    lines.push_back(engine::ExportRecordLine(*table, key, value));
  }
  const bool more = rows->size() == static_cast<std::size_t>(count);
  WritePage(ctx, more ? rows->back().first : std::string(), lines);
}

void Export(CommandContext& ctx, Args args) {
  if (EqualsIgnoreCase(args[1], "jobs")) return ExportJobs(ctx, args);
  if (EqualsIgnoreCase(args[1], "records")) return ExportRecords(ctx, args);
  ctx.reply().ArrayHeader(3);
  ctx.reply().SimpleString("EXPORT JOBS <queue> <state> <cursor> [COUNT n] [SINCE ms]");
  ctx.reply().SimpleString("EXPORT RECORDS <prefs|inbox|sent|tickets> <after> [COUNT n]");
  ctx.reply().SimpleString("EXPORT HELP");
}

void Import(CommandContext& ctx, Args args) {
  auto line = engine::ParseExportLine(args[1]);
  if (!line.ok()) return ctx.Error("ERR IMPORT: " + line.status().message());
  engine::Broker& broker = ctx.server().broker();
  switch (line->type) {
    case engine::ExportLine::Type::kHeader:
      return ctx.Error("ERR IMPORT takes job and record lines; the header is read by the client");
    case engine::ExportLine::Type::kJob: {
      auto added = broker.Import(std::move(line->job));
      if (!added.ok()) return ctx.Error("ERR IMPORT: " + added.status().message());
      return ctx.reply().Integer(added->created ? 1 : 0);
    }
    case engine::ExportLine::Type::kRecord: {
      auto existing = broker.records().Get(line->table, line->key);
      if (!existing.ok()) return ctx.StatusError(existing.status());
      if (*existing == line->value) return ctx.reply().Integer(0);
      Status put = broker.records().Put(line->table, line->key, line->value);
      if (!put.ok()) return ctx.StatusError(put);
      return ctx.reply().Integer(1);
    }
  }
}

}  // namespace

void AddExportCommands(CommandTable* table) {
  CommandSpec export_spec{.name = "export",
                          .arity = -2,
                          .flags = kAdmin | kReadonly,
                          .group = "jobs",
                          .summary = "Jobs and records as JSON lines, page by page.",
                          .handler = Export};
  export_spec.subcommands = {{"help", 2}, {"jobs", -5}, {"records", -4}};
  table->Add(std::move(export_spec));
  table->Add({.name = "import",
              .arity = 2,
              .flags = kAdmin | kWrite,
              .group = "jobs",
              .summary = "One exported job or record back in; idempotent by id.",
              .handler = Import});
}

}  // namespace herald::net
