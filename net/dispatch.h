// Dispatch: how a request becomes a command call, the same for every client session. First the
// checks in Redis 7's order and wording (unknown command, unknown subcommand, wrong number of
// arguments, NOAUTH), which write the error and count a refused call; then the call itself,
// timed and counted in the command's INFO commandstats row.
//
// Thread safety: free functions; run on the session's executor (or a write-pool thread for
// RunCommand while the session waits).
#pragma once

#include <optional>

#include "net/client_session.h"
#include "net/command_context.h"
#include "net/command_table.h"
#include "net/resp/reply_writer.h"
#include "net/server_state.h"

namespace herald::net {

// A request that passed the checks: its row and its counters.
struct ResolvedCommand {
  const CommandSpec* spec = nullptr;
  CommandStats* stats = nullptr;
};

// Counts the request as processed, records it as the client's last command (CLIENT LIST's
// cmd=) once known, and checks it. nullopt when refused: the error is then written to
// `reply`. Precondition: `args` is not empty.
std::optional<ResolvedCommand> ResolveCommand(ServerState& server, ClientSession& session,
                                              resp::ReplyWriter& reply, Args args);

// Runs a resolved command's handler with `ctx`, whose writer writes to `ctx.reply().buffer()`,
// and counts the call (failed when it answered an error).
void RunCommand(const ResolvedCommand& command, CommandContext& ctx, Args args);

}  // namespace herald::net
