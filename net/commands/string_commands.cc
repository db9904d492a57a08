// Plain Redis strings, persistent (storage/kv_store.h does the work), in the database the
// connection selected: GET, SET, INCR, DECR, INCRBY, DECRBY, MGET, MSET.
#include <cmath>
#include <limits>

#include "net/command_context.h"
#include "net/commands/arg_parsing.h"
#include "net/commands/builtin_commands.h"

namespace herald::net {
namespace {

constexpr const char* kNotInteger = "ERR value is not an integer or out of range";

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
    auto value = ParseRedisInt(*expire_value);
    if (!value) return ctx.Error(kNotInteger);
    const bool seconds =
        EqualsIgnoreCase(*expire_option, "ex") || EqualsIgnoreCase(*expire_option, "exat");
    const bool relative =
        EqualsIgnoreCase(*expire_option, "ex") || EqualsIgnoreCase(*expire_option, "px");
    constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
    constexpr const char* kInvalidExpire = "ERR invalid expire time in 'set' command";
    if (*value <= 0 || (seconds && *value > kMax / 1000)) return ctx.Error(kInvalidExpire);
    const std::int64_t ms = seconds ? *value * 1000 : *value;
    if (relative && ms > kMax - ctx.server().NowMs()) return ctx.Error(kInvalidExpire);
    return ctx.Error("ERR keys do not expire in Herald: " + *expire_option + " is not supported");
  }
  engine::KvStore& kv = ctx.kv();
  std::optional<std::string> old;
  if (nx || xx || get) {
    auto type = kv.Type(args[1]);
    if (!type.ok()) return ctx.StatusError(type.status());
    if (get && *type == engine::KvType::kList) {
      return ctx.Error("WRONGTYPE Operation against a key holding the wrong kind of value");
    }
    if (get && *type == engine::KvType::kString) {
      auto value = kv.Get(args[1]);
      if (!value.ok()) return ctx.StatusError(value.status());
      old = *value;
    }
    const bool exists = *type != engine::KvType::kNone;
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
  auto delta = ParseRedisInt(args[2]);
  if (!delta) return ctx.Error(kNotInteger);
  IncrBy(ctx, args[1], *delta);
}

void DecrByCommand(CommandContext& ctx, Args args) {
  auto delta = ParseRedisInt(args[2]);
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

}  // namespace

void AddStringCommands(CommandTable* table) {
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
}

}  // namespace herald::net
