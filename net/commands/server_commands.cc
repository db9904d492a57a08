// Server commands: COMMAND, INFO, DBSIZE, TIME, CONFIG, FUNCTION, SHUTDOWN.
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/keyspace.h"
#include "net/command_context.h"
#include "net/commands/arg_parsing.h"
#include "net/commands/builtin_commands.h"

namespace herald::net {
namespace {

// One command's COMMAND INFO entry; a subcommand's when `sub` is set (named "config|get", with
// its own arity and its command's flags, as Redis 7 lists them).
void WriteCommandInfo(resp::ReplyWriter& reply, const CommandSpec& spec,
                      const SubcommandSpec* sub = nullptr) {
  reply.ArrayHeader(10);
  reply.Bulk(sub != nullptr ? sub->full_name : spec.name);
  reply.Integer(sub != nullptr ? sub->arity : spec.arity);
  auto flags = FlagNames(spec.flags);
  reply.SetHeader(flags.size());
  for (const std::string& flag : flags) reply.SimpleString(flag);
  reply.Integer(sub != nullptr ? 0 : spec.first_key);
  reply.Integer(sub != nullptr ? 0 : spec.last_key);
  reply.Integer(sub != nullptr ? 0 : spec.key_step);
  reply.SetHeader(1);
  reply.SimpleString("@" + spec.group);
  reply.SetHeader(0);    // tips
  reply.ArrayHeader(0);  // key specs
  if (sub != nullptr) {
    reply.ArrayHeader(0);
    return;
  }
  reply.ArrayHeader(spec.subcommands.size());
  for (const SubcommandSpec& each : spec.subcommands) WriteCommandInfo(reply, spec, &each);
}

void Command(CommandContext& ctx, Args args) {
  const CommandTable& table = ctx.server().table();
  resp::ReplyWriter& reply = ctx.reply();
  if (args.size() == 1) {
    reply.ArrayHeader(table.rows().size());
    for (const CommandSpec& spec : table.rows()) WriteCommandInfo(reply, spec);
    return;
  }
  const std::string& sub = args[1];
  if (EqualsIgnoreCase(sub, "count")) {
    return reply.Integer(static_cast<std::int64_t>(table.rows().size()));
  }
  if (EqualsIgnoreCase(sub, "info")) {
    if (args.size() == 2) {
      reply.ArrayHeader(table.rows().size());
      for (const CommandSpec& spec : table.rows()) WriteCommandInfo(reply, spec);
      return;
    }
    reply.ArrayHeader(args.size() - 2);
    for (size_t i = 2; i < args.size(); ++i) {
      const CommandSpec* spec = table.Find(args[i]);
      if (spec == nullptr) {
        reply.Null();
      } else {
        WriteCommandInfo(reply, *spec);
      }
    }
    return;
  }
  if (EqualsIgnoreCase(sub, "docs")) {
    std::vector<const CommandSpec*> specs;
    if (args.size() == 2) {
      for (const CommandSpec& spec : table.rows()) specs.push_back(&spec);
    } else {
      for (size_t i = 2; i < args.size(); ++i) {
        if (const CommandSpec* spec = table.Find(args[i])) specs.push_back(spec);
      }
    }
    reply.MapHeader(specs.size());
    for (const CommandSpec* spec : specs) {
      reply.Bulk(spec->name);
      reply.MapHeader(3);
      reply.Bulk("summary");
      reply.Bulk(spec->summary);
      reply.Bulk("since");
      reply.Bulk("1.0.0");
      reply.Bulk("group");
      reply.Bulk(spec->group);
    }
    return;
  }
  reply.ArrayHeader(table.rows().size());  // LIST
  for (const CommandSpec& spec : table.rows()) reply.Bulk(spec.name);
}

// INFO commandstats, Redis 7's lines: the commands and subcommands called (or refused) since
// the start or the last CONFIG RESETSTAT.
void WriteCommandStats(const ServerState& server, std::ostream& out) {
  auto line = [&](const std::string& name, std::size_t slot) {
    const CommandStats& stats = server.command_stats(slot);
    const std::uint64_t calls = stats.calls.load(std::memory_order_relaxed);
    const std::uint64_t usec = stats.usec.load(std::memory_order_relaxed);
    const std::uint64_t rejected = stats.rejected_calls.load(std::memory_order_relaxed);
    const std::uint64_t failed = stats.failed_calls.load(std::memory_order_relaxed);
    if (calls == 0 && rejected == 0 && failed == 0) return;
    char per_call[32];
    std::snprintf(per_call, sizeof(per_call), "%.2f",
                  calls == 0 ? 0.0 : static_cast<double>(usec) / static_cast<double>(calls));
    out << "cmdstat_" << name << ":calls=" << calls << ",usec=" << usec
        << ",usec_per_call=" << per_call << ",rejected_calls=" << rejected
        << ",failed_calls=" << failed << "\r\n";
  };
  for (const CommandSpec& spec : server.table().rows()) {
    line(spec.name, spec.slot);
    for (const SubcommandSpec& sub : spec.subcommands) line(sub.full_name, sub.slot);
  }
}

std::string InfoText(CommandContext& ctx, const std::vector<std::string>& wanted) {
  // As Redis: no section named, or "default", is every section but commandstats; "all" and
  // "everything" are every section.
  auto want = [&](std::string_view section) {
    const bool in_default = section != "commandstats";
    if (wanted.empty()) return in_default;
    for (const std::string& w : wanted) {
      if (EqualsIgnoreCase(w, section) || EqualsIgnoreCase(w, "all") ||
          EqualsIgnoreCase(w, "everything") || (in_default && EqualsIgnoreCase(w, "default"))) {
        return true;
      }
    }
    return false;
  };
  ServerState& server = ctx.server();
  engine::Broker& broker = server.broker();
  // The store's sizes cost a look at its files: only when a section shows them.
  const engine::StoreFigures figures =
      want("memory") || want("persistence") ? broker.keyspace().figures() : engine::StoreFigures{};
  std::ostringstream out;
  if (want("server")) {
    out << "# Server\r\nredis_version:" << kRedisVersion << "\r\nherald_version:" << kHeraldVersion
        << "\r\nredis_mode:standalone\r\nos:Linux\r\narch_bits:64\r\nprocess_id:" << getpid()
        << "\r\ntcp_port:" << server.port
        << "\r\nuptime_in_seconds:" << static_cast<std::int64_t>(server.uptime_seconds())
        << "\r\nuptime_in_days:" << static_cast<std::int64_t>(server.uptime_seconds() / 86400)
        << "\r\nexecutable:herald\r\n\r\n";
  }
  if (want("clients")) {
    out << "# Clients\r\nconnected_clients:" << server.connected_clients.load()
        << "\r\nblocked_clients:" << server.blocked_clients.load()
        << "\r\nmaxclients:" << server.config().max_clients() << "\r\n\r\n";
  }
  if (want("memory")) {
    const std::uint64_t rss = ResidentBytes();
    out << "# Memory\r\nused_memory:" << rss << "\r\nused_memory_rss:" << rss
        << "\r\nused_memory_memtables:" << figures.memtable_bytes
        << "\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n\r\n";
  }
  if (want("persistence")) {
    out << "# Persistence\r\nloading:0\r\nstorage_engine:rocksdb\r\naof_enabled:1\r\nfsync:"
        << server.config().initial().fsync_mode << "\r\ndisk_bytes:" << figures.disk_bytes
        << "\r\nrecovered_active_jobs:" << figures.recovered_active
        << "\r\nwal_syncs:" << figures.wal_syncs << "\r\nstore_writes:" << figures.store_writes
        << "\r\n\r\n";
  }
  if (want("stats")) {
    out << "# Stats\r\ntotal_connections_received:" << server.connections_received.load()
        << "\r\ntotal_commands_processed:" << server.commands_processed.load()
        << "\r\nrejected_connections:" << server.rejected_connections.load()
        << "\r\nprotocol_errors:" << server.protocol_errors.load()
        << "\r\ntotal_net_input_bytes:" << server.net_input_bytes.load()
        << "\r\ntotal_net_output_bytes:" << server.net_output_bytes.load()
        << "\r\nrunning_handlers:" << broker.running_handlers();
    const engine::JobEventStats events = broker.event_stats();
    out << "\r\njob_events_published:" << events.published
        << "\r\njob_events_delivered:" << events.delivered
        << "\r\njob_events_dropped:" << events.dropped << "\r\n\r\n";
  }
  if (want("queues")) {
    out << "# Queues\r\n";
    for (const std::string& queue : broker.Queues()) {
      auto counts = broker.Counts(queue);
      if (!counts.ok()) continue;
      out << "queue_" << queue << ":waiting=" << counts->waiting << ",active=" << counts->active
          << ",delayed=" << counts->delayed << ",completed=" << counts->completed
          << ",failed=" << counts->failed << ",paused=" << (counts->paused ? 1 : 0) << "\r\n";
    }
    out << "\r\n";
  }
  if (want("commandstats")) {
    out << "# Commandstats\r\n";
    WriteCommandStats(server, out);
    out << "\r\n";
  }
  if (want("keyspace")) {
    out << "# Keyspace\r\n";
    for (int db = 0; db < engine::kKvDatabases && server.has_kv(); ++db) {
      auto keys = server.kv(db).Count();
      if (keys.ok() && *keys > 0) {
        out << "db" << db << ":keys=" << *keys << ",expires=0,avg_ttl=0\r\n";
      }
    }
    out << "\r\n";
  }
  std::string text = out.str();
  if (text.size() >= 2) text.resize(text.size() - 2);  // no blank line at the very end
  return text;
}

void Info(CommandContext& ctx, Args args) {
  std::vector<std::string> wanted(args.begin() + 1, args.end());
  ctx.reply().Verbatim("txt", InfoText(ctx, wanted));
}

void DbSize(CommandContext& ctx, Args) {
  auto keys = ctx.kv().Count();
  if (!keys.ok()) return ctx.StatusError(keys.status());
  ctx.reply().Integer(static_cast<std::int64_t>(*keys));
}

void Time(CommandContext& ctx, Args) {
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  ctx.reply().ArrayHeader(2);
  ctx.reply().Bulk(std::to_string(now / 1000000));
  ctx.reply().Bulk(std::to_string(now % 1000000));
}

// CONFIG GET / SET / RESETSTAT / HELP (the dispatcher has checked the subcommand and arity).
void Config(CommandContext& ctx, Args args) {
  ServerState& server = ctx.server();
  const std::string& sub = args[1];
  if (EqualsIgnoreCase(sub, "get")) {
    auto params = server.config().Get(args.subspan(2), server.port);
    ctx.reply().MapHeader(params.size());
    for (const auto& [name, value] : params) {
      ctx.reply().Bulk(name);
      ctx.reply().Bulk(value);
    }
    return;
  }
  if (EqualsIgnoreCase(sub, "set")) {
    if (args.size() % 2 != 0) return ctx.SyntaxError();  // not name/value pairs
    Status status = server.SetConfig(args.subspan(2));
    if (!status.ok()) return ctx.StatusError(status);
    return ctx.Ok();
  }
  if (EqualsIgnoreCase(sub, "resetstat")) {
    server.ResetStats();
    return ctx.Ok();
  }
  // HELP
  static const char* kHelp[] = {
      "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GET <pattern>",
      "    Return parameters matching the glob-like <pattern> and their values.",
      "SET <directive> <value>",
      "    Set the configuration <directive> to <value>.",
      "RESETSTAT",
      "    Reset statistics reported by the INFO command.",
      "HELP",
      "    Prints this help."};
  ctx.reply().ArrayHeader(std::size(kHelp));
  for (const char* line : kHelp) ctx.reply().SimpleString(line);
}

// FUNCTION: Herald has no scripting, so there are never functions. FUNCTION FLUSH [ASYNC|SYNC]
// (which Redis's own test suite sends at setup) and FUNCTION LIST [WITHCODE] [LIBRARYNAME
// pattern] answer as Redis does with none, with its argument checks; every other subcommand
// is refused saying why.
void Function(CommandContext& ctx, Args args) {
  const std::string& sub = args[1];
  if (EqualsIgnoreCase(sub, "flush")) {
    if (args.size() > 3) {
      return ctx.Error("ERR unknown subcommand or wrong number of arguments for '" +
                       sub.substr(0, 128) + "'. Try FUNCTION HELP.");
    }
    if (args.size() == 3 && !EqualsIgnoreCase(args[2], "sync") &&
        !EqualsIgnoreCase(args[2], "async")) {
      return ctx.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    }
    return ctx.Ok();
  }
  if (EqualsIgnoreCase(sub, "list")) {
    bool with_code = false, library_name = false;
    for (size_t i = 2; i < args.size(); ++i) {
      if (!with_code && EqualsIgnoreCase(args[i], "withcode")) {
        with_code = true;
      } else if (!library_name && EqualsIgnoreCase(args[i], "libraryname")) {
        if (i + 1 >= args.size()) return ctx.Error("ERR library name argument was not given");
        library_name = true;
        ++i;
      } else {
        return ctx.Error("ERR Unknown argument " + args[i]);
      }
    }
    return ctx.reply().ArrayHeader(0);
  }
  std::string upper = sub.substr(0, 128);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ctx.Error("ERR Herald has no scripting: FUNCTION " + upper +
            " is not supported (there are no functions to load, call or inspect)");
}

void Shutdown(CommandContext& ctx, Args) {
  // As Redis: no reply on success; the connection closes as the server stops.
  if (ctx.server().request_shutdown) ctx.server().request_shutdown();
  ctx.CloseAfterReply();
}

}  // namespace

void AddServerCommands(CommandTable* table) {
  CommandSpec command{.name = "command",
                      .arity = -1,
                      .group = "server",
                      .summary = "Details about the commands.",
                      .handler = Command};
  command.subcommands = {{"count", 2}, {"docs", -2}, {"info", -2}, {"list", -2}};
  table->Add(std::move(command));
  table->Add({.name = "info",
              .arity = -1,
              .group = "server",
              .summary = "Information and statistics.",
              .handler = Info});
  table->Add({.name = "dbsize",
              .arity = 1,
              .flags = kReadonly | kFast,
              .group = "server",
              .summary = "Number of keys of the selected database.",
              .handler = DbSize});
  table->Add({.name = "time",
              .arity = 1,
              .flags = kFast,
              .group = "server",
              .summary = "The server time.",
              .handler = Time});
  CommandSpec config{.name = "config",
                     .arity = -2,
                     .flags = kAdmin,
                     .group = "server",
                     .summary = "Read and change the configuration.",
                     .handler = Config};
  config.subcommands = {{"get", -3}, {"help", 2}, {"resetstat", 2}, {"set", -4}};
  table->Add(std::move(config));
  table->Add({.name = "function",
              .arity = -2,
              .group = "scripting",
              .summary = "FLUSH and LIST answer for no functions: Herald has no scripting.",
              .handler = Function});
  table->Add({.name = "shutdown",
              .arity = -1,
              .flags = kAdmin,
              .group = "server",
              .summary = "Shut the server down.",
              .handler = Shutdown});
}

}  // namespace herald::net
