#include "net/dispatch.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>

namespace herald::net {
namespace {

// Whether the reply written to `out` from `from` on is an error ("-..." or a RESP3 "!...").
bool IsErrorReply(const std::string& out, std::size_t from) {
  return from < out.size() && (out[from] == '-' || out[from] == '!');
}

// Whether `spec` reads or writes the plain lists and strings (or their keyspace).
bool UsesLists(const CommandSpec& spec) {
  return spec.group == "list" || spec.group == "string" || spec.group == "generic" ||
         spec.name == "flushdb" || spec.name == "flushall" || spec.name == "dbsize";
}

}  // namespace

std::optional<ResolvedCommand> ResolveCommand(ServerState& server, ClientSession& session,
                                              resp::ReplyWriter& reply, Args args) {
  ++server.commands_processed;
  const CommandSpec* spec = server.table().Find(args[0]);
  if (spec == nullptr) {
    std::string rest;
    for (size_t i = 1; i < args.size() && rest.size() < 128; ++i) {
      rest += "'" + args[i].substr(0, 128 - std::min<size_t>(rest.size(), 128)) + "' ";
    }
    reply.Error("ERR unknown command '" + args[0].substr(0, 128) +
                "', with args beginning with: " + rest);
    return std::nullopt;
  }
  // The checks before a command runs, in Redis 7's order and wording; a refused call counts
  // as rejected (an unknown command or subcommand has no counters to count it in, as in Redis).
  const SubcommandSpec* sub = nullptr;
  if (!spec->subcommands.empty() && args.size() >= 2) {
    sub = CommandTable::FindSubcommand(*spec, args[1]);
    if (sub == nullptr) {
      std::string upper = spec->name;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      reply.Error("ERR unknown subcommand '" + args[1].substr(0, 128) + "'. Try " + upper +
                  " HELP.");
      return std::nullopt;
    }
  }
  // Known from here on: the client's last command even if refused (CLIENT LIST's cmd=).
  const std::string& name = sub != nullptr ? sub->full_name : spec->name;
  CommandStats* stats = &server.command_stats(sub != nullptr ? sub->slot : spec->slot);
  {
    ClientInfo& info = session.info();
    MutexLock lock(&info.mu);
    info.last_command = name;
  }
  if (!ArityFits(sub != nullptr ? sub->arity : spec->arity, args.size())) {
    stats->rejected_calls.fetch_add(1, std::memory_order_relaxed);
    reply.Error("ERR wrong number of arguments for '" + name + "' command");
    return std::nullopt;
  }
  if (!session.authenticated() && !(spec->flags & kNoAuth) && server.config().password_required()) {
    stats->rejected_calls.fetch_add(1, std::memory_order_relaxed);
    reply.Error("NOAUTH Authentication required.");
    return std::nullopt;
  }
  if (!server.has_kv() && UsesLists(*spec)) {
    stats->rejected_calls.fetch_add(1, std::memory_order_relaxed);
    reply.Error("ERR '" + spec->name +
                "': lists and strings are not kept by the postgres store backend (jobs and "
                "records only)");
    return std::nullopt;
  }
  return ResolvedCommand{spec, stats};
}

void RunCommand(const ResolvedCommand& command, CommandContext& ctx, Args args) {
  const std::string& out = *ctx.reply().buffer();
  const std::size_t reply_at = out.size();
  const auto start = std::chrono::steady_clock::now();
  command.spec->handler(ctx, args);
  const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  CommandStats& stats = *command.stats;
  stats.calls.fetch_add(1, std::memory_order_relaxed);
  stats.usec.fetch_add(static_cast<std::uint64_t>(usec), std::memory_order_relaxed);
  if (IsErrorReply(out, reply_at)) stats.failed_calls.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace herald::net
