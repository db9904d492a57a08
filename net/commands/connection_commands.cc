// Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, CLIENT.
#include <chrono>
#include <limits>
#include <sstream>

#include "engine/keyspace.h"
#include "net/command_context.h"
#include "net/commands/arg_parsing.h"
#include "net/commands/builtin_commands.h"

namespace herald::net {
namespace {

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
    auto version = ParseRedisInt(args[1]);
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
  auto index = ParseRedisInt(args[1]);
  if (!index) return ctx.Error("ERR value is not an integer or out of range");
  if (*index < std::numeric_limits<int>::min() || *index > std::numeric_limits<int>::max()) {
    return ctx.Error("ERR value is out of range, value must between -2147483648 and 2147483647");
  }
  if (*index < 0 || *index >= engine::kKvDatabases) {
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
    const std::int64_t now = ctx.server().NowMs();
    std::string out;
    for (const auto& info : ctx.server().Clients()) out += ClientLine(*info, now);
    return ctx.reply().Verbatim("txt", out);
  }
  if (EqualsIgnoreCase(sub, "info")) {
    return ctx.reply().Verbatim("txt", ClientLine(ctx.client(), ctx.server().NowMs()));
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

}  // namespace

void AddConnectionCommands(CommandTable* table) {
  table->Add({.name = "ping",
              .arity = -1,
              .flags = kFast,
              .group = "connection",
              .summary = "Ping the server.",
              .handler = Ping});
  table->Add({.name = "echo",
              .arity = 2,
              .flags = kFast,
              .group = "connection",
              .summary = "Echo the given string.",
              .handler = Echo});
  table->Add({.name = "hello",
              .arity = -1,
              .flags = kFast | kNoAuth,
              .group = "connection",
              .summary = "Handshake: protocol version, authentication, client name.",
              .handler = Hello});
  table->Add({.name = "auth",
              .arity = -2,
              .flags = kFast | kNoAuth,
              .group = "connection",
              .summary = "Authenticate the connection.",
              .handler = Auth});
  table->Add({.name = "select",
              .arity = 2,
              .flags = kFast,
              .group = "connection",
              .summary = "Select the database of the connection.",
              .handler = Select});
  table->Add({.name = "quit",
              .arity = -1,
              .flags = kFast | kNoAuth,
              .group = "connection",
              .summary = "Close the connection.",
              .handler = Quit});
  CommandSpec client{.name = "client",
                     .arity = -2,
                     .group = "connection",
                     .summary = "Client connection commands.",
                     .handler = Client};
  client.subcommands = {{"getname", 2}, {"help", 2},    {"id", 2},     {"info", 2},
                        {"list", -2},   {"setinfo", 4}, {"setname", 3}};
  table->Add(std::move(client));
}

}  // namespace herald::net
