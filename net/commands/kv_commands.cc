// Plain Redis lists and strings, persistent (storage/kv_store.h does the work), in the
// database the connection selected (SELECT).
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cmath>
#include <limits>

#include "net/command_context.h"
#include "net/commands/arg_parsing.h"
#include "net/commands/builtin_commands.h"

namespace herald::net {
namespace {

constexpr const char* kNotInteger = "ERR value is not an integer or out of range";
constexpr const char* kWrongTypeError =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> Tail(Args args, size_t from) {
  return std::vector<std::string>(args.begin() + static_cast<std::ptrdiff_t>(from), args.end());
}

// ---- Strings -----------------------------------------------------------------------------

void Get(CommandContext& ctx, Args args) {
  auto value = ctx.kv().Get(args[1]);
  if (!value.ok()) return ctx.StatusError(value.status());
  if (!value->has_value()) return ctx.reply().Null();
  ctx.reply().Bulk(**value);
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL], with Redis 7's syntax
// rules and errors (parseExtendedStringArgumentsOrReply, getExpireMillisecondsOrReply). Keys
// never expire in Herald: KEEPTTL (keep the key's TTL, which is none) is accepted, and a valid
// expiry is refused rather than silently ignored.
void Set(CommandContext& ctx, Args args) {
  bool nx = false, xx = false, get = false, keepttl = false;
  const std::string* expire_option = nullptr;  // EX, PX, EXAT or PXAT as given
  const std::string* expire_value = nullptr;
  for (size_t i = 3; i < args.size(); ++i) {
    const std::string& option = args[i];
    const bool is_expire = EqualsIgnoreCase(option, "ex") || EqualsIgnoreCase(option, "px") ||
                           EqualsIgnoreCase(option, "exat") || EqualsIgnoreCase(option, "pxat");
    if (EqualsIgnoreCase(option, "nx") && !xx) {
      nx = true;
    } else if (EqualsIgnoreCase(option, "xx") && !nx) {
      xx = true;
    } else if (EqualsIgnoreCase(option, "get")) {
      get = true;
    } else if (EqualsIgnoreCase(option, "keepttl") && expire_option == nullptr) {
      keepttl = true;
    } else if (is_expire && !keepttl && i + 1 < args.size() &&
               (expire_option == nullptr || EqualsIgnoreCase(*expire_option, option))) {
      // As Redis, repeating the same expiry option is allowed (the last one counts).
      expire_option = &option;
      expire_value = &args[++i];
    } else {
      return ctx.SyntaxError();
    }
  }
  if (expire_option != nullptr) {
    auto value = ParseInt64(*expire_value);
    if (!value) return ctx.Error(kNotInteger);
    const bool seconds =
        EqualsIgnoreCase(*expire_option, "ex") || EqualsIgnoreCase(*expire_option, "exat");
    const bool relative =
        EqualsIgnoreCase(*expire_option, "ex") || EqualsIgnoreCase(*expire_option, "px");
    constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
    constexpr const char* kInvalidExpire = "ERR invalid expire time in 'set' command";
    if (*value <= 0 || (seconds && *value > kMax / 1000)) return ctx.Error(kInvalidExpire);
    const std::int64_t ms = seconds ? *value * 1000 : *value;
    if (relative && ms > kMax - NowMs()) return ctx.Error(kInvalidExpire);
    return ctx.Error("ERR keys do not expire in Herald: " + *expire_option + " is not supported");
  }
  storage::KvStore& kv = ctx.kv();
  std::optional<std::string> old;
  if (nx || xx || get) {
    auto type = kv.Type(args[1]);
    if (!type.ok()) return ctx.StatusError(type.status());
    if (get && *type == storage::KvType::kList) {
      return ctx.Error("WRONGTYPE Operation against a key holding the wrong kind of value");
    }
    if (get && *type == storage::KvType::kString) {
      auto value = kv.Get(args[1]);
      if (!value.ok()) return ctx.StatusError(value.status());
      old = *value;
    }
    const bool exists = *type != storage::KvType::kNone;
    if ((nx && exists) || (xx && !exists)) {
      if (get && old) return ctx.reply().Bulk(*old);
      return ctx.reply().Null();
    }
  }
  Status status = kv.Set(args[1], args[2], ctx.kv_group());
  if (!status.ok()) return ctx.StatusError(status);
  if (get) {
    if (old) return ctx.reply().Bulk(*old);
    return ctx.reply().Null();
  }
  ctx.Ok();
}

void IncrBy(CommandContext& ctx, std::string_view key, std::int64_t delta) {
  auto value = ctx.kv().IncrBy(key, delta, ctx.kv_group());
  if (!value.ok()) return ctx.StatusError(value.status());
  ctx.reply().Integer(*value);
}

void Incr(CommandContext& ctx, Args args) { IncrBy(ctx, args[1], 1); }
void Decr(CommandContext& ctx, Args args) { IncrBy(ctx, args[1], -1); }

void IncrByCommand(CommandContext& ctx, Args args) {
  auto delta = ParseInt64(args[2]);
  if (!delta) return ctx.Error(kNotInteger);
  IncrBy(ctx, args[1], *delta);
}

void DecrByCommand(CommandContext& ctx, Args args) {
  auto delta = ParseInt64(args[2]);
  if (!delta) return ctx.Error(kNotInteger);
  if (*delta == std::numeric_limits<std::int64_t>::min()) {
    return ctx.Error("ERR decrement would overflow");
  }
  IncrBy(ctx, args[1], -*delta);
}

void MGet(CommandContext& ctx, Args args) {
  ctx.reply().ArrayHeader(args.size() - 1);
  for (size_t i = 1; i < args.size(); ++i) {
    auto value = ctx.kv().Get(args[i]);
    // As Redis: a key that is not a string reads as nil here, not as an error.
    if (!value.ok() || !value->has_value()) {
      ctx.reply().Null();
    } else {
      ctx.reply().Bulk(**value);
    }
  }
}

void MSet(CommandContext& ctx, Args args) {
  if (args.size() % 2 != 1) return ctx.WrongArity("mset");
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 1; i + 1 < args.size(); i += 2) pairs.emplace_back(args[i], args[i + 1]);
  Status status = ctx.kv().MSet(pairs, ctx.kv_group());
  if (!status.ok()) return ctx.StatusError(status);
  ctx.Ok();
}

// ---- Any type ----------------------------------------------------------------------------

void Del(CommandContext& ctx, Args args) {
  auto removed = ctx.kv().Del(Tail(args, 1), ctx.kv_group());
  if (!removed.ok()) return ctx.StatusError(removed.status());
  ctx.reply().Integer(*removed);
}

void Exists(CommandContext& ctx, Args args) {
  auto count = ctx.kv().Exists(Tail(args, 1));
  if (!count.ok()) return ctx.StatusError(count.status());
  ctx.reply().Integer(*count);
}

void Type(CommandContext& ctx, Args args) {
  auto type = ctx.kv().Type(args[1]);
  if (!type.ok()) return ctx.StatusError(type.status());
  switch (*type) {
    case storage::KvType::kString:
      return ctx.reply().SimpleString("string");
    case storage::KvType::kList:
      return ctx.reply().SimpleString("list");
    case storage::KvType::kNone:
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
  std::optional<storage::KvType> type_filter;
  for (size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) return ctx.SyntaxError();
    if (EqualsIgnoreCase(args[i], "match")) {
      pattern = args[i + 1];
    } else if (EqualsIgnoreCase(args[i], "count")) {
      auto n = ParseInt64(args[i + 1]);
      if (!n) return ctx.Error(kNotInteger);
      if (*n < 1) return ctx.SyntaxError();
      count = *n;
    } else if (EqualsIgnoreCase(args[i], "type")) {
      if (EqualsIgnoreCase(args[i + 1], "string")) {
        type_filter = storage::KvType::kString;
      } else if (EqualsIgnoreCase(args[i + 1], "list")) {
        type_filter = storage::KvType::kList;
      } else {
        type_filter = storage::KvType::kNone;  // matches nothing, as Redis for unknown types
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
  Status status = all ? ctx.server().broker().store().ClearKv() : ctx.kv().Clear();
  if (!status.ok()) return ctx.StatusError(status);
  ctx.Ok();
}

void FlushDb(CommandContext& ctx, Args args) { Flush(ctx, args, /*all=*/false); }
void FlushAll(CommandContext& ctx, Args args) { Flush(ctx, args, /*all=*/true); }

// ---- Lists -------------------------------------------------------------------------------

void Push(CommandContext& ctx, Args args, storage::ListEnd end) {
  auto length = ctx.kv().Push(args[1], Tail(args, 2), end, ctx.kv_group());
  if (!length.ok()) return ctx.StatusError(length.status());
  ctx.reply().Integer(*length);
  ctx.server().ServeListWaiters(ctx.db(), args[1]);
}

void LPush(CommandContext& ctx, Args args) { Push(ctx, args, storage::ListEnd::kLeft); }
void RPush(CommandContext& ctx, Args args) { Push(ctx, args, storage::ListEnd::kRight); }

void Pop(CommandContext& ctx, Args args, storage::ListEnd end) {
  if (args.size() > 3) return ctx.WrongArity(end == storage::ListEnd::kLeft ? "lpop" : "rpop");
  std::int64_t count = 1;
  const bool with_count = args.size() == 3;
  if (with_count) {
    auto n = ParseInt64(args[2]);
    if (!n || *n < 0) return ctx.Error("ERR value is out of range, must be positive");
    count = *n;
  }
  if (with_count && count == 0) {
    auto type = ctx.kv().Type(args[1]);
    if (!type.ok()) return ctx.StatusError(type.status());
    if (*type == storage::KvType::kString) {
      return ctx.Error("WRONGTYPE Operation against a key holding the wrong kind of value");
    }
    if (*type == storage::KvType::kNone) return ctx.reply().NullArray();
    return ctx.reply().ArrayHeader(0);
  }
  auto popped =
      ctx.kv().Pop(args[1], static_cast<std::uint32_t>(std::min<std::int64_t>(count, 1 << 30)), end,
                   ctx.kv_group());
  if (!popped.ok()) return ctx.StatusError(popped.status());
  if (!with_count) {
    if (popped->empty()) return ctx.reply().Null();
    return ctx.reply().Bulk(popped->front());
  }
  if (popped->empty()) return ctx.reply().NullArray();
  ctx.reply().ArrayHeader(popped->size());
  for (const std::string& value : *popped) ctx.reply().Bulk(value);
}

void LPop(CommandContext& ctx, Args args) { Pop(ctx, args, storage::ListEnd::kLeft); }
void RPop(CommandContext& ctx, Args args) { Pop(ctx, args, storage::ListEnd::kRight); }

void LLen(CommandContext& ctx, Args args) {
  auto length = ctx.kv().Len(args[1]);
  if (!length.ok()) return ctx.StatusError(length.status());
  ctx.reply().Integer(*length);
}

void LRange(CommandContext& ctx, Args args) {
  auto start = ParseInt64(args[2]);
  auto stop = ParseInt64(args[3]);
  if (!start || !stop) return ctx.Error(kNotInteger);
  auto values = ctx.kv().Range(args[1], *start, *stop);
  if (!values.ok()) return ctx.StatusError(values.status());
  ctx.reply().ArrayHeader(values->size());
  for (const std::string& value : *values) ctx.reply().Bulk(value);
}

void LIndex(CommandContext& ctx, Args args) {
  auto index = ParseInt64(args[2]);
  if (!index) {
    // As Redis, the key is looked at before the index: nil for a missing key, WRONGTYPE for a
    // string, whatever the index says.
    auto type = ctx.kv().Type(args[1]);
    if (!type.ok()) return ctx.StatusError(type.status());
    if (*type == storage::KvType::kNone) return ctx.reply().Null();
    if (*type == storage::KvType::kString) return ctx.Error(kWrongTypeError);
    return ctx.Error(kNotInteger);
  }
  auto value = ctx.kv().Index(args[1], *index);
  if (!value.ok()) return ctx.StatusError(value.status());
  if (!value->has_value()) return ctx.reply().Null();
  ctx.reply().Bulk(**value);
}

// BLPOP/BRPOP key [key ...] timeout (seconds, fractions allowed; 0 = forever).
void BlockingPop(CommandContext& ctx, Args args, storage::ListEnd end) {
  std::int64_t timeout_ms = 0;
  if (auto error = ParseTimeoutSeconds(args.back(), NowMs(), &timeout_ms)) {
    return ctx.Error(*error);
  }
  std::vector<std::string> keys(args.begin() + 1, args.end() - 1);
  const int db = ctx.db();
  storage::KvStore& kv = ctx.kv();
  for (const std::string& key : keys) {
    auto popped = kv.Pop(key, 1, end, ctx.kv_group());
    if (!popped.ok()) return ctx.StatusError(popped.status());
    if (!popped->empty()) {
      ctx.reply().ArrayHeader(2);
      ctx.reply().Bulk(key);
      ctx.reply().Bulk(popped->front());
      return;
    }
  }
  ServerState* server = &ctx.server();
  auto timer = std::make_shared<boost::asio::steady_timer>(ctx.executor());
  auto waiter_id = std::make_shared<std::uint64_t>(0);
  auto parker = ctx.Park([server, timer, waiter_id] {
    server->CancelListWaiter(*waiter_id);
    timer->cancel();
  });
  auto waiter = std::make_shared<ListWaiter>();
  waiter->db = db;
  waiter->keys = keys;
  waiter->end = end;
  waiter->deliver = [parker, timer](const std::string& key, const std::string& value) {
    if (!parker->connection_alive() || !parker->Claim()) return false;
    timer->cancel();
    parker->ResumeClaimed([key, value](resp::ReplyWriter& reply) {
      reply.ArrayHeader(2);
      reply.Bulk(key);
      reply.Bulk(value);
    });
    return true;
  };
  *waiter_id = server->AddListWaiter(waiter);
  // A deadline further than the steady clock can count (about 292 years in nanoseconds) is
  // as good as none.
  constexpr std::int64_t kMaxTimerMs = std::int64_t{1} << 42;  // about 139 years
  if (timeout_ms > 0 && timeout_ms < kMaxTimerMs) {
    timer->expires_after(std::chrono::milliseconds(timeout_ms));
    timer->async_wait([server, parker, waiter_id](boost::system::error_code ec) {
      if (ec) return;
      if (!parker->Claim()) return;
      server->CancelListWaiter(*waiter_id);
      parker->ResumeClaimed([](resp::ReplyWriter& reply) { reply.NullArray(); });
    });
  }
  // A push may have landed between the pops above and the waiter's registration.
  for (const std::string& key : keys) server->ServeListWaiters(db, key);
}

void BLPop(CommandContext& ctx, Args args) { BlockingPop(ctx, args, storage::ListEnd::kLeft); }
void BRPop(CommandContext& ctx, Args args) { BlockingPop(ctx, args, storage::ListEnd::kRight); }

}  // namespace

void AddKvCommands(CommandTable* table) {
  table->Add({.name = "get",
              .arity = 2,
              .flags = kReadonly | kFast,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .group = "string",
              .summary = "Get the value of a key.",
              .handler = Get});
  table->Add({.name = "set",
              .arity = -3,
              .flags = kWrite,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .group = "string",
              .summary = "Set the string value of a key.",
              .handler = Set});
  table->Add({.name = "incr",
              .arity = 2,
              .flags = kWrite | kFast,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .group = "string",
              .summary = "Increment an integer value by one.",
              .handler = Incr});
  table->Add({.name = "decr",
              .arity = 2,
              .flags = kWrite | kFast,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .group = "string",
              .summary = "Decrement an integer value by one.",
              .handler = Decr});
  table->Add({.name = "incrby",
              .arity = 3,
              .flags = kWrite | kFast,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .group = "string",
              .summary = "Increment an integer value.",
              .handler = IncrByCommand});
  table->Add({.name = "decrby",
              .arity = 3,
              .flags = kWrite | kFast,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .group = "string",
              .summary = "Decrement an integer value.",
              .handler = DecrByCommand});
  table->Add({.name = "mget",
              .arity = -2,
              .flags = kReadonly | kFast,
              .first_key = 1,
              .last_key = -1,
              .key_step = 1,
              .group = "string",
              .summary = "Get the values of keys.",
              .handler = MGet});
  table->Add({.name = "mset",
              .arity = -3,
              .flags = kWrite,
              .first_key = 1,
              .last_key = -1,
              .key_step = 2,
              .group = "string",
              .summary = "Set several keys.",
              .handler = MSet});
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
  table->Add({.name = "lpush",
              .arity = -3,
              .flags = kWrite | kFast,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .group = "list",
              .summary = "Prepend elements to a list.",
              .handler = LPush});
  table->Add({.name = "rpush",
              .arity = -3,
              .flags = kWrite | kFast,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .group = "list",
              .summary = "Append elements to a list.",
              .handler = RPush});
  table->Add({.name = "lpop",
              .arity = -2,
              .flags = kWrite | kFast,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .group = "list",
              .summary = "Remove and get the first elements.",
              .handler = LPop});
  table->Add({.name = "rpop",
              .arity = -2,
              .flags = kWrite | kFast,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .group = "list",
              .summary = "Remove and get the last elements.",
              .handler = RPop});
  table->Add({.name = "llen",
              .arity = 2,
              .flags = kReadonly | kFast,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .group = "list",
              .summary = "The length of a list.",
              .handler = LLen});
  table->Add({.name = "lrange",
              .arity = 4,
              .flags = kReadonly,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .group = "list",
              .summary = "A range of elements of a list.",
              .handler = LRange});
  table->Add({.name = "lindex",
              .arity = 3,
              .flags = kReadonly,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .group = "list",
              .summary = "An element of a list by index.",
              .handler = LIndex});
  table->Add({.name = "blpop",
              .arity = -3,
              .flags = kWrite | kBlocking,
              .first_key = 1,
              .last_key = -2,
              .key_step = 1,
              .group = "list",
              .summary = "Remove and get the first element, or block until one is there.",
              .handler = BLPop});
  table->Add({.name = "brpop",
              .arity = -3,
              .flags = kWrite | kBlocking,
              .first_key = 1,
              .last_key = -2,
              .key_step = 1,
              .group = "list",
              .summary = "Remove and get the last element, or block until one is there.",
              .handler = BRPop});
}

}  // namespace herald::net
