// Commands on keys of any type, in the database the connection selected: DEL, EXISTS, TYPE,
// KEYS, SCAN, FLUSHDB, FLUSHALL.

#include "net/command_context.h"
#include "net/commands/arg_parsing.h"
#include "net/commands/builtin_commands.h"

namespace herald::net {
namespace {

constexpr const char* kNotInteger = "ERR value is not an integer or out of range";

void Del(CommandContext& ctx, Args args) {
  auto removed = ctx.kv().Del(ArgsFrom(args, 1), ctx.kv_group());
  if (!removed.ok()) return ctx.StatusError(removed.status());
  ctx.reply().Integer(*removed);
}

void Exists(CommandContext& ctx, Args args) {
  auto count = ctx.kv().Exists(ArgsFrom(args, 1));
  if (!count.ok()) return ctx.StatusError(count.status());
  ctx.reply().Integer(*count);
}

void Type(CommandContext& ctx, Args args) {
  auto type = ctx.kv().Type(args[1]);
  if (!type.ok()) return ctx.StatusError(type.status());
  switch (*type) {
    case engine::KvType::kString:
      return ctx.reply().SimpleString("string");
    case engine::KvType::kList:
      return ctx.reply().SimpleString("list");
    case engine::KvType::kNone:
      return ctx.reply().SimpleString("none");
  }
}

void Keys(CommandContext& ctx, Args args) {
  auto keys = ctx.kv().Keys(args[1]);
  if (!keys.ok()) return ctx.StatusError(keys.status());
  ctx.reply().ArrayHeader(keys->size());
  for (const std::string& key : *keys) ctx.reply().Bulk(key);
}

// SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]
void Scan(CommandContext& ctx, Args args) {
  // As Redis, the cursor is checked before the options.
  auto cursor = ParseScanCursor(args[1]);
  if (!cursor) return ctx.Error("ERR invalid cursor");
  std::string pattern = "*";
  std::int64_t count = 10;
  std::optional<engine::KvType> type_filter;
  for (size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) return ctx.SyntaxError();
    if (EqualsIgnoreCase(args[i], "match")) {
      pattern = args[i + 1];
    } else if (EqualsIgnoreCase(args[i], "count")) {
      auto n = ParseRedisInt(args[i + 1]);
      if (!n) return ctx.Error(kNotInteger);
      if (*n < 1) return ctx.SyntaxError();
      count = *n;
    } else if (EqualsIgnoreCase(args[i], "type")) {
      if (EqualsIgnoreCase(args[i + 1], "string")) {
        type_filter = engine::KvType::kString;
      } else if (EqualsIgnoreCase(args[i + 1], "list")) {
        type_filter = engine::KvType::kList;
      } else {
        type_filter = engine::KvType::kNone;  // matches nothing, as Redis for unknown types
      }
    } else {
      return ctx.SyntaxError();
    }
  }
  auto page = ctx.kv().Scan(std::to_string(*cursor), pattern,
                            static_cast<std::uint32_t>(std::min<std::int64_t>(count, 1 << 20)));
  if (!page.ok() && page.status().code() == Status::Code::kInvalidArgument) {
    // Every cursor is valid in Redis; one this server did not hand out (or has forgotten)
    // ends the iteration rather than failing it.
    ctx.reply().ArrayHeader(2);
    ctx.reply().Bulk("0");
    ctx.reply().ArrayHeader(0);
    return;
  }
  if (!page.ok()) return ctx.StatusError(page.status());
  std::vector<std::string> keys;
  for (std::string& key : page->second) {
    if (type_filter) {
      auto type = ctx.kv().Type(key);
      if (!type.ok() || *type != *type_filter) continue;
    }
    keys.push_back(std::move(key));
  }
  ctx.reply().ArrayHeader(2);
  ctx.reply().Bulk(page->first);
  ctx.reply().ArrayHeader(keys.size());
  for (const std::string& key : keys) ctx.reply().Bulk(key);
}

// FLUSHDB / FLUSHALL [ASYNC|SYNC]: every key of the selected database goes (FLUSHDB), or of
// every database, in one write (FLUSHALL). Jobs and queues are not keys and stay. The flush is
// durable when it answers, in either mode; a client blocked in BLPOP/BRPOP stays blocked
// (there is nothing to pop).
void Flush(CommandContext& ctx, Args args, bool all) {
  if (args.size() > 2 || (args.size() == 2 && !EqualsIgnoreCase(args[1], "sync") &&
                          !EqualsIgnoreCase(args[1], "async"))) {
    return ctx.SyntaxError();
  }
  Status status = all ? ctx.server().broker().keyspace().FlushAll() : ctx.kv().Clear();
  if (!status.ok()) return ctx.StatusError(status);
  ctx.Ok();
}

void FlushDb(CommandContext& ctx, Args args) { Flush(ctx, args, /*all=*/false); }
void FlushAll(CommandContext& ctx, Args args) { Flush(ctx, args, /*all=*/true); }

}  // namespace

void AddKeyspaceCommands(CommandTable* table) {
  table->Add({.name = "del",
              .arity = -2,
              .flags = kWrite,
              .first_key = 1,
              .last_key = -1,
              .key_step = 1,
              .group = "generic",
              .summary = "Delete keys.",
              .handler = Del});
  table->Add({.name = "exists",
              .arity = -2,
              .flags = kReadonly | kFast,
              .first_key = 1,
              .last_key = -1,
              .key_step = 1,
              .group = "generic",
              .summary = "Count existing keys.",
              .handler = Exists});
  table->Add({.name = "type",
              .arity = 2,
              .flags = kReadonly | kFast,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .group = "generic",
              .summary = "The type of a key.",
              .handler = Type});
  table->Add({.name = "keys",
              .arity = 2,
              .flags = kReadonly,
              .group = "generic",
              .summary = "Keys matching a pattern.",
              .handler = Keys});
  table->Add({.name = "scan",
              .arity = -2,
              .flags = kReadonly,
              .group = "generic",
              .summary = "Iterate the keys.",
              .handler = Scan});
  table->Add(
      {.name = "flushdb",
       .arity = -1,
       .flags = kWrite,
       .group = "server",
       .summary = "Remove every key of the selected database (lists and strings; jobs stay).",
       .handler = FlushDb});
  table->Add({.name = "flushall",
              .arity = -1,
              .flags = kWrite,
              .group = "server",
              .summary = "Remove every key of every database (lists and strings; jobs stay).",
              .handler = FlushAll});
}

}  // namespace herald::net
