// RECORD: the handlers' record tables (prefs, inbox, sent, tickets) over RESP, so that a remote
// `herald worker` keeps its delivery log, inbox, tickets and device tokens in the broker, where
// INBOX, SENT, TICKETS and /api/users read them (engine/records.h).
//
//   RECORD GET table key                -> the value, or nil
//   RECORD PUT table key value          -> OK
//   RECORD DEL table key                -> 1 when the key was there, 0 when not
//   RECORD SCAN table prefix [COUNT n] [NEWEST]
//       -> [[key, value], ...]: up to n (1..10000, default 100) records whose key starts with
//          `prefix` ("" = any), in key order, or reverse key order with NEWEST
//
// A PUT or DEL is answered once it is durable under the fsync mode, as every write.
#include <optional>
#include <string>

#include "engine/job_export.h"
#include "net/command_context.h"
#include "net/commands/arg_parsing.h"
#include "net/commands/builtin_commands.h"

namespace herald::net {
namespace {

constexpr std::int64_t kDefaultScan = 100;
constexpr std::int64_t kMaxScan = 10000;

// The table named by args[2]; nullopt (the error replied) when unknown.
std::optional<engine::RecordKind> TableArg(CommandContext& ctx, Args args) {
  auto table = engine::ParseExportTable(args[2]);
  if (!table.ok()) {
    ctx.Error("ERR " + table.status().message());
    return std::nullopt;
  }
  return *table;
}

bool KeyArg(CommandContext& ctx, const std::string& key) {
  if (!key.empty()) return true;
  ctx.Error("ERR a record key must not be empty");
  return false;
}

void Get(CommandContext& ctx, Args args) {
  auto table = TableArg(ctx, args);
  if (!table || !KeyArg(ctx, args[3])) return;
  auto value = ctx.server().broker().records().Get(*table, args[3]);
  if (!value.ok()) return ctx.StatusError(value.status());
  if (!*value) return ctx.reply().Null();
  ctx.reply().Bulk(**value);
}

void Put(CommandContext& ctx, Args args) {
  auto table = TableArg(ctx, args);
  if (!table || !KeyArg(ctx, args[3])) return;
  Status put = ctx.server().broker().records().Put(*table, args[3], args[4]);
  if (!put.ok()) return ctx.StatusError(put);
  ctx.Ok();
}

void Delete(CommandContext& ctx, Args args) {
  auto table = TableArg(ctx, args);
  if (!table || !KeyArg(ctx, args[3])) return;
  engine::Records& records = ctx.server().broker().records();
  auto existing = records.Get(*table, args[3]);
  if (!existing.ok()) return ctx.StatusError(existing.status());
  if (!*existing) return ctx.reply().Integer(0);
  Status deleted = records.Delete(*table, args[3]);
  if (!deleted.ok()) return ctx.StatusError(deleted);
  ctx.reply().Integer(1);
}

void Scan(CommandContext& ctx, Args args) {
  auto table = TableArg(ctx, args);
  if (!table) return;
  std::int64_t count = kDefaultScan;
  engine::ScanOrder order = engine::ScanOrder::kOldestFirst;
  for (std::size_t i = 4; i < args.size(); ++i) {
    if (EqualsIgnoreCase(args[i], "newest")) {
      order = engine::ScanOrder::kNewestFirst;
    } else if (EqualsIgnoreCase(args[i], "count") && i + 1 < args.size()) {
      const std::optional<std::int64_t> n = ParseRedisInt(args[++i]);
      if (!n || *n < 1 || *n > kMaxScan) return ctx.Error("ERR COUNT must be between 1 and 10000");
      count = *n;
    } else {
      return ctx.SyntaxError();
    }
  }
  auto rows = ctx.server().broker().records().Scan(*table, args[3],
                                                   static_cast<std::uint32_t>(count), order);
  if (!rows.ok()) return ctx.StatusError(rows.status());
  ctx.reply().ArrayHeader(rows->size());
  for (const auto& [key, value] : *rows) {
    ctx.reply().ArrayHeader(2);
    ctx.reply().Bulk(key);
    ctx.reply().Bulk(value);
  }
}

void Record(CommandContext& ctx, Args args) {
  if (EqualsIgnoreCase(args[1], "get")) return Get(ctx, args);
  if (EqualsIgnoreCase(args[1], "put")) return Put(ctx, args);
  if (EqualsIgnoreCase(args[1], "del")) return Delete(ctx, args);
  if (EqualsIgnoreCase(args[1], "scan")) return Scan(ctx, args);
  ctx.reply().ArrayHeader(5);
  ctx.reply().SimpleString("RECORD GET <prefs|inbox|sent|tickets> <key>");
  ctx.reply().SimpleString("RECORD PUT <table> <key> <value>");
  ctx.reply().SimpleString("RECORD DEL <table> <key>");
  ctx.reply().SimpleString("RECORD SCAN <table> <prefix> [COUNT n] [NEWEST]");
  ctx.reply().SimpleString("RECORD HELP");
}

}  // namespace

void AddRecordCommands(CommandTable* table) {
  CommandSpec spec{.name = "record",
                   .arity = -2,
                   .flags = kAdmin | kWrite,
                   .group = "jobs",
                   .summary =
                       "The handlers' records (prefs, inbox, sent, tickets), for remote "
                       "workers.",
                   .handler = Record};
  spec.subcommands = {{"help", 2}, {"get", 4}, {"put", 5}, {"del", 4}, {"scan", -4}};
  table->Add(std::move(spec));
}

}  // namespace herald::net
