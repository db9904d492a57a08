#include "net/commands/job_support.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "net/commands/arg_parsing.h"

namespace herald::net {

namespace {

constexpr const char* kNotInteger = "ERR value is not an integer or out of range";

}  // namespace

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

void WriteJobEntry(resp::ReplyWriter& reply, const engine::Job& job, bool with_name) {
  reply.ArrayHeader(with_name ? 5 : 4);
  reply.Bulk(job.queue);
  reply.Bulk(job.id);
  reply.Bulk(job.payload);
  reply.Integer(job.attempts_made);
  if (with_name) reply.Bulk(job.name);
}

bool KnownQueue(CommandContext& ctx, const std::string& queue) {
  auto queues = ctx.server().broker().Queues();
  return std::find(queues.begin(), queues.end(), queue) != queues.end();
}

void Audit(CommandContext& ctx, std::string action, std::string target, std::uint64_t matched,
           std::string detail) {
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

}  // namespace herald::net
