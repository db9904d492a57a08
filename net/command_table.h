// CommandTable: the RESP commands Herald answers, one sorted table of rows {name, arity, flags,
// handler}. The dispatcher checks name, arity and authentication with Redis's wording before a
// handler runs; COMMAND, COMMAND COUNT/INFO/DOCS and INFO read the same table.
//
// Arity as Redis: N means exactly N words (the name included), -N at least N.
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

struct CommandSpec {
  std::string name;  // lower-case
  int arity = 0;
  std::uint32_t flags = 0;
  int first_key = 0;  // COMMAND INFO key positions (0 = no keys)
  int last_key = 0;
  int key_step = 0;
  std::string group;    // "connection", "server", "list", "string", "generic", "jobs", ...
  std::string summary;  // for COMMAND DOCS
  CommandHandler handler;
};

class CommandTable {
 public:
  // Adds a row; names must be unique and lower-case (checked in Freeze()).
  void Add(CommandSpec spec);
  // Sorts the table and checks it; returns false (with `error`) on a duplicate or a name that
  // is not lower-case.
  bool Freeze(std::string* error);
  // Case-insensitive lookup; nullptr when unknown.
  const CommandSpec* Find(std::string_view name) const;
  const std::vector<CommandSpec>& rows() const { return rows_; }

 private:
  std::vector<CommandSpec> rows_;
};

// Flag names as Redis reports them in COMMAND INFO ("write", "readonly", ...).
std::vector<std::string> FlagNames(std::uint32_t flags);

}  // namespace herald::net
