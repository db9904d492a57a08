// CommandTable: the RESP commands Herald answers, one sorted table of rows {name, arity, flags,
// handler}. The dispatcher checks name, arity and authentication with Redis's wording before a
// handler runs; COMMAND, COMMAND COUNT/INFO/DOCS and INFO read the same table.
//
// Arity as Redis: N means exactly N words (the name included), -N at least N.
//
// A container command (CLIENT, CONFIG, COMMAND) lists its subcommands; the dispatcher checks
// the subcommand and its arity too, and reports it as Redis 7 does ("config|get" in CLIENT
// LIST's cmd= and in INFO commandstats). Every command and subcommand has a slot: its row of
// counters in the server's statistics.
//
// Thread safety: built by the composition root, immutable after Freeze(); Find() may then be
// called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace herald::net {

class CommandContext;

enum CommandFlag : std::uint32_t {
  kWrite = 1 << 0,  // changes data: runs after the reply can be durable
  kReadonly = 1 << 1,
  kBlocking = 1 << 2,  // may park the connection (GETJOB, BLPOP)
  kAdmin = 1 << 3,
  kNoAuth = 1 << 4,  // allowed before AUTH (AUTH, HELLO, QUIT)
  kFast = 1 << 5,
};

using Args = std::span<const std::string>;
// Commands that need more than the server state (e.g. the notification queries of the
// composition root) capture it.
using CommandHandler = std::function<void(CommandContext& ctx, Args args)>;

struct SubcommandSpec {
  std::string name;  // lower-case
  int arity = 0;     // as the command's, counting the command and the subcommand
  // Set by Freeze():
  std::string full_name = {};  // "config|get"
  std::size_t slot = 0;
};

struct CommandSpec {
  std::string name;  // lower-case
  int arity = 0;
  std::uint32_t flags = 0;
  int first_key = 0;  // COMMAND INFO key positions (0 = no keys)
  int last_key = 0;
  int key_step = 0;
  std::string group = {};    // "connection", "server", "list", "string", "generic", "jobs", ...
  std::string summary = {};  // for COMMAND DOCS
  CommandHandler handler = {};
  // A container's subcommands (the handler still sees args[1] and dispatches on it). A command
  // that may also run alone (COMMAND) says so with its own arity. Empty for other commands.
  std::vector<SubcommandSpec> subcommands = {};
  std::size_t slot = 0;  // set by Freeze()
};

class CommandTable {
 public:
  // Adds a row; names (and the names of its subcommands) must be unique and lower-case
  // (checked in Freeze()).
  void Add(CommandSpec spec);
  // Sorts the table, checks it and numbers the slots; returns false (with `error`) on a
  // duplicate, a name that is not lower-case or a row without a handler.
  bool Freeze(std::string* error);
  // Case-insensitive lookup; nullptr when unknown.
  const CommandSpec* Find(std::string_view name) const;
  // Case-insensitive lookup of a subcommand of `spec`; nullptr when unknown.
  static const SubcommandSpec* FindSubcommand(const CommandSpec& spec, std::string_view name);
  const std::vector<CommandSpec>& rows() const { return rows_; }
  // Slots handed out by Freeze(): one per command and one per subcommand.
  std::size_t slots() const { return slots_; }

 private:
  std::vector<CommandSpec> rows_;
  std::size_t slots_ = 0;
};

// Whether `argc` words (the name included) fit `arity`, as Redis counts.
inline bool ArityFits(int arity, std::size_t argc) {
  const auto n = static_cast<long long>(argc);
  return arity >= 0 ? n == arity : n >= -static_cast<long long>(arity);
}

// Flag names as Redis reports them in COMMAND INFO ("write", "readonly", ...).
std::vector<std::string> FlagNames(std::uint32_t flags);

}  // namespace herald::net
