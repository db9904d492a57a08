// Connection and server commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, CLIENT, COMMAND, INFO,
// DBSIZE, TIME, CONFIG, FUNCTION, SHUTDOWN.
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "net/command_context.h"
#include "net/commands/arg_parsing.h"
#include "net/commands/builtin_commands.h"
#include "storage/kv_store.h"

namespace herald::net {
namespace {

// What HELLO and INFO report as the Redis version this server is compatible with.
constexpr const char* kRedisVersion = "7.0.15";
constexpr const char* kHeraldVersion = "0.1.0";

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Ping(CommandContext& ctx, Args args) {
  if (args.size() > 2) return ctx.WrongArity("ping");
  if (args.size() == 2) return ctx.reply().Bulk(args[1]);
  ctx.reply().SimpleString("PONG");
}

void Echo(CommandContext& ctx, Args args) { ctx.reply().Bulk(args[1]); }

// Herald has one user, "default"; without a password configured it takes any password, as
// Redis's default user with "nopass" does.
bool CheckPassword(CommandContext& ctx, const std::string& user, const std::string& password) {
  if (user == "default" && ctx.server().config().CheckPassword(password)) return true;
  ctx.Error("WRONGPASS invalid username-password pair or user is disabled.");
  return false;
}

void Auth(CommandContext& ctx, Args args) {
  if (args.size() > 3) return ctx.SyntaxError();
  if (args.size() == 2 && !ctx.server().config().password_required()) {
    return ctx.Error(
        "ERR AUTH <password> called without any password configured for the default user. Are "
        "you sure your configuration is correct?");
  }
  const std::string user = args.size() == 3 ? args[1] : "default";
  if (!CheckPassword(ctx, user, args.back())) return;
  ctx.set_authenticated(true);
  ctx.Ok();
}

bool ValidClientName(const std::string& name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

// HELLO [protover [AUTH username password] [SETNAME clientname]]
void Hello(CommandContext& ctx, Args args) {
  int protocol = ctx.protocol();
  size_t i = 1;
  if (args.size() > 1) {
    auto version = ParseInt64(args[1]);
    if (!version) return ctx.Error("ERR Protocol version is not an integer or out of range");
    if (*version < 2 || *version > 3) return ctx.Error("NOPROTO unsupported protocol version");
    protocol = static_cast<int>(*version);
    i = 2;
  }
  std::string setname;
  bool have_setname = false;
  for (; i < args.size(); ++i) {
    if (EqualsIgnoreCase(args[i], "auth") && i + 2 < args.size()) {
      if (!CheckPassword(ctx, args[i + 1], args[i + 2])) return;
      ctx.set_authenticated(true);
      i += 2;
    } else if (EqualsIgnoreCase(args[i], "setname") && i + 1 < args.size()) {
      setname = args[++i];
      have_setname = true;
      if (!ValidClientName(setname)) {
        return ctx.Error("ERR Client names cannot contain spaces, newlines or special characters.");
      }
    } else {
      return ctx.Error("ERR Syntax error in HELLO option '" + args[i] + "'");
    }
  }
  if (!ctx.authenticated()) {
    return ctx.Error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
        "<proto> AUTH <user> <pass> option can be used to authenticate the client and select "
        "the RESP protocol version at the same time");
  }
  if (have_setname) {
    MutexLock lock(&ctx.client().mu);
    ctx.client().name = setname;
  }
  ctx.set_protocol(protocol);
  resp::ReplyWriter& reply = ctx.reply();
  reply.MapHeader(7);
  reply.Bulk("server");
  reply.Bulk("redis");
  reply.Bulk("version");
  reply.Bulk(kRedisVersion);
  reply.Bulk("proto");
  reply.Integer(protocol);
  reply.Bulk("id");
  reply.Integer(static_cast<std::int64_t>(ctx.client().id));
  reply.Bulk("mode");
  reply.Bulk("standalone");
  reply.Bulk("role");
  reply.Bulk("master");
  reply.Bulk("modules");
  reply.ArrayHeader(0);
}

// SELECT index, with Redis's checks in its order (getIntFromObjectOrReply, then selectDb).
void Select(CommandContext& ctx, Args args) {
  auto index = ParseInt64(args[1]);
  if (!index) return ctx.Error("ERR value is not an integer or out of range");
  if (*index < std::numeric_limits<int>::min() || *index > std::numeric_limits<int>::max()) {
    return ctx.Error("ERR value is out of range, value must between -2147483648 and 2147483647");
  }
  if (*index < 0 || *index >= storage::kKvDatabases) {
    return ctx.Error("ERR DB index is out of range");
  }
  ctx.set_db(static_cast<int>(*index));
  ctx.Ok();
}

void Quit(CommandContext& ctx, Args) {
  ctx.Ok();
  ctx.CloseAfterReply();
}

std::string ClientLine(ClientInfo& info, std::int64_t now) {
  std::string name, command;
  {
    MutexLock lock(&info.mu);
    name = info.name;
    command = info.last_command;
  }
  std::ostringstream line;
  line << "id=" << info.id << " addr=" << info.addr << " laddr=? fd=-1 name=" << name
       << " age=" << (now - info.created_ms) / 1000
       << " idle=" << (now - info.last_active_ms.load()) / 1000 << " flags=N db=" << info.db.load()
       << " sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 "
          "multi-mem=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd="
       << (command.empty() ? "NULL" : command)
       << " user=default redir=-1 resp=" << info.protocol.load() << "\n";
  return line.str();
}

// The dispatcher has checked the subcommand and its arity (see AddConnectionCommands).
void Client(CommandContext& ctx, Args args) {
  const std::string& sub = args[1];
  if (EqualsIgnoreCase(sub, "setname")) {
    if (!ValidClientName(args[2])) {
      return ctx.Error("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    {
      MutexLock lock(&ctx.client().mu);
      ctx.client().name = args[2];
    }
    return ctx.Ok();
  }
  if (EqualsIgnoreCase(sub, "getname")) {
    std::string name;
    {
      MutexLock lock(&ctx.client().mu);
      name = ctx.client().name;
    }
    if (name.empty()) return ctx.reply().Null();
    return ctx.reply().Bulk(name);
  }
  if (EqualsIgnoreCase(sub, "id")) {
    return ctx.reply().Integer(static_cast<std::int64_t>(ctx.client().id));
  }
  if (EqualsIgnoreCase(sub, "list")) {
    const std::int64_t now = NowMs();
    std::string out;
    for (const auto& info : ctx.server().Clients()) out += ClientLine(*info, now);
    return ctx.reply().Verbatim("txt", out);
  }
  if (EqualsIgnoreCase(sub, "info")) {
    return ctx.reply().Verbatim("txt", ClientLine(ctx.client(), NowMs()));
  }
  if (EqualsIgnoreCase(sub, "setinfo")) return ctx.Ok();
  // HELP
  static const char* kHelp[] = {"CLIENT <subcommand> [<arg> ...]. Subcommands are:",
                                "GETNAME",
                                "SETNAME <name>",
                                "ID",
                                "LIST",
                                "INFO",
                                "SETINFO <option> <value>",
                                "HELP"};
  ctx.reply().ArrayHeader(std::size(kHelp));
  for (const char* line : kHelp) ctx.reply().SimpleString(line);
}

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

std::uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
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
        << "\r\nused_memory_memtables:" << broker.store().MemtableBytes()
        << "\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n\r\n";
  }
  if (want("persistence")) {
    out << "# Persistence\r\nloading:0\r\nstorage_engine:rocksdb\r\naof_enabled:1\r\nfsync:"
        << server.config().initial().fsync_mode << "\r\ndisk_bytes:" << broker.store().DiskBytes()
        << "\r\nrecovered_active_jobs:" << broker.store().recovered_active() << "\r\n\r\n";
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
    for (int db = 0; db < storage::kKvDatabases; ++db) {
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

void AddConnectionCommands(CommandTable* table) {
  const std::uint32_t r = kReadonly, f = kFast, a = kAdmin, n = kNoAuth;
  table->Add({"ping", -1, f, 0, 0, 0, "connection", "Ping the server.", Ping});
  table->Add({"echo", 2, f, 0, 0, 0, "connection", "Echo the given string.", Echo});
  table->Add({"hello", -1, f | n, 0, 0, 0, "connection",
              "Handshake: protocol version, authentication, client name.", Hello});
  table->Add({"auth", -2, f | n, 0, 0, 0, "connection", "Authenticate the connection.", Auth});
  table->Add(
      {"select", 2, f, 0, 0, 0, "connection", "Select the database of the connection.", Select});
  table->Add({"quit", -1, f | n, 0, 0, 0, "connection", "Close the connection.", Quit});
  CommandSpec client{"client", -2, 0, 0, 0, 0, "connection", "Client connection commands.", Client};
  client.subcommands = {{"getname", 2}, {"help", 2},    {"id", 2},     {"info", 2},
                        {"list", -2},   {"setinfo", 4}, {"setname", 3}};
  table->Add(std::move(client));
  CommandSpec command{"command", -1, 0, 0, 0, 0, "server", "Details about the commands.", Command};
  command.subcommands = {{"count", 2}, {"docs", -2}, {"info", -2}, {"list", -2}};
  table->Add(std::move(command));
  table->Add({"info", -1, 0, 0, 0, 0, "server", "Information and statistics.", Info});
  table->Add(
      {"dbsize", 1, r | f, 0, 0, 0, "server", "Number of keys of the selected database.", DbSize});
  table->Add({"time", 1, f, 0, 0, 0, "server", "The server time.", Time});
  CommandSpec config{"config", -2, a, 0, 0, 0, "server", "Read and change the configuration.",
                     Config};
  config.subcommands = {{"get", -3}, {"help", 2}, {"resetstat", 2}, {"set", -4}};
  table->Add(std::move(config));
  table->Add({"function", -2, 0, 0, 0, 0, "scripting",
              "FLUSH and LIST answer for no functions: Herald has no scripting.", Function});
  table->Add({"shutdown", -1, a, 0, 0, 0, "server", "Shut the server down.", Shutdown});
}

}  // namespace herald::net
