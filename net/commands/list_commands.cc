// Plain Redis lists, persistent (storage/kv_store.h does the work), in the database the
// connection selected: LPUSH, RPUSH, LPOP, RPOP, LLEN, LRANGE, LINDEX, BLPOP, BRPOP.
#include <chrono>

#include "net/clock_timers.h"
#include "net/command_context.h"
#include "net/commands/arg_parsing.h"
#include "net/commands/builtin_commands.h"

namespace herald::net {
namespace {

constexpr const char* kNotInteger = "ERR value is not an integer or out of range";
constexpr const char* kWrongTypeError =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

void Push(CommandContext& ctx, Args args, engine::ListEnd end) {
  auto length = ctx.kv().Push(args[1], ArgsFrom(args, 2), end, ctx.kv_group());
  if (!length.ok()) return ctx.StatusError(length.status());
  ctx.reply().Integer(*length);
  ctx.server().ServeListWaiters(ctx.db(), args[1]);
}

void LPush(CommandContext& ctx, Args args) { Push(ctx, args, engine::ListEnd::kLeft); }
void RPush(CommandContext& ctx, Args args) { Push(ctx, args, engine::ListEnd::kRight); }

void Pop(CommandContext& ctx, Args args, engine::ListEnd end) {
  if (args.size() > 3) return ctx.WrongArity(end == engine::ListEnd::kLeft ? "lpop" : "rpop");
  std::int64_t count = 1;
  const bool with_count = args.size() == 3;
  if (with_count) {
    auto n = ParseRedisInt(args[2]);
    if (!n || *n < 0) return ctx.Error("ERR value is out of range, must be positive");
    count = *n;
  }
  if (with_count && count == 0) {
    auto type = ctx.kv().Type(args[1]);
    if (!type.ok()) return ctx.StatusError(type.status());
    if (*type == engine::KvType::kString) {
      return ctx.Error("WRONGTYPE Operation against a key holding the wrong kind of value");
    }
    if (*type == engine::KvType::kNone) return ctx.reply().NullArray();
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

void LPop(CommandContext& ctx, Args args) { Pop(ctx, args, engine::ListEnd::kLeft); }
void RPop(CommandContext& ctx, Args args) { Pop(ctx, args, engine::ListEnd::kRight); }

void LLen(CommandContext& ctx, Args args) {
  auto length = ctx.kv().Len(args[1]);
  if (!length.ok()) return ctx.StatusError(length.status());
  ctx.reply().Integer(*length);
}

void LRange(CommandContext& ctx, Args args) {
  auto start = ParseRedisInt(args[2]);
  auto stop = ParseRedisInt(args[3]);
  if (!start || !stop) return ctx.Error(kNotInteger);
  auto values = ctx.kv().Range(args[1], *start, *stop);
  if (!values.ok()) return ctx.StatusError(values.status());
  ctx.reply().ArrayHeader(values->size());
  for (const std::string& value : *values) ctx.reply().Bulk(value);
}

void LIndex(CommandContext& ctx, Args args) {
  auto index = ParseRedisInt(args[2]);
  if (!index) {
    // As Redis, the key is looked at before the index: nil for a missing key, WRONGTYPE for a
    // string, whatever the index says.
    auto type = ctx.kv().Type(args[1]);
    if (!type.ok()) return ctx.StatusError(type.status());
    if (*type == engine::KvType::kNone) return ctx.reply().Null();
    if (*type == engine::KvType::kString) return ctx.Error(kWrongTypeError);
    return ctx.Error(kNotInteger);
  }
  auto value = ctx.kv().Index(args[1], *index);
  if (!value.ok()) return ctx.StatusError(value.status());
  if (!value->has_value()) return ctx.reply().Null();
  ctx.reply().Bulk(**value);
}

// BLPOP/BRPOP key [key ...] timeout (seconds, fractions allowed; 0 = forever).
void BlockingPop(CommandContext& ctx, Args args, engine::ListEnd end) {
  std::int64_t timeout_ms = 0;
  if (auto error = ParseTimeoutSeconds(args.back(), ctx.server().NowMs(), &timeout_ms)) {
    return ctx.Error(*error);
  }
  std::vector<std::string> keys(args.begin() + 1, args.end() - 1);
  const int db = ctx.db();
  engine::KvStore& kv = ctx.kv();
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
  // The timeout's timer on the server's clock (set below, on this strand, before any cancel).
  auto timer = std::make_shared<ClockTimers::Id>(ClockTimers::kNone);
  auto waiter_id = std::make_shared<std::uint64_t>(0);
  auto parker = ctx.Park([server, timer, waiter_id] {
    server->CancelListWaiter(*waiter_id);
    server->timers().Cancel(*timer);
  });
  auto waiter = std::make_shared<ListWaiter>();
  waiter->db = db;
  waiter->keys = keys;
  waiter->end = end;
  waiter->deliver = [server, parker, timer](const std::string& key, const std::string& value) {
    if (!parker->connection_alive() || !parker->Claim()) return false;
    server->timers().Cancel(*timer);
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
    *timer = server->timers().At(
        server->NowMs() + timeout_ms, ctx.executor(), [server, parker, waiter_id] {
          if (!parker->Claim()) return;
          server->CancelListWaiter(*waiter_id);
          parker->ResumeClaimed([](resp::ReplyWriter& reply) { reply.NullArray(); });
        });
  }
  // A push may have landed between the pops above and the waiter's registration.
  for (const std::string& key : keys) server->ServeListWaiters(db, key);
}

void BLPop(CommandContext& ctx, Args args) { BlockingPop(ctx, args, engine::ListEnd::kLeft); }
void BRPop(CommandContext& ctx, Args args) { BlockingPop(ctx, args, engine::ListEnd::kRight); }

}  // namespace

void AddListCommands(CommandTable* table) {
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
