// What the job and queue commands share: their integer arguments, the job entry of GETJOB and
// QPEEK, whether a queue exists, and the audit record of an operator action.
//
// Thread safety: as CommandContext (the calling connection's strand).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/broker.h"
#include "net/command_context.h"
#include "net/command_table.h"

namespace herald::net {

// Reads the integer argument `what` (an option's name, as the caller spelled it in the
// syntax): out of [min, max] or not an integer, it answers the error, which keeps Redis's
// wording and names it ("ERR value is not an integer or out of range: DELAY must be an integer
// from 0 to ..."), and returns false.
bool ReadInt(CommandContext& ctx, std::string_view what, const std::string& text, std::int64_t min,
             std::int64_t max, std::int64_t* out);

// [queue, id, payload, attempts-made]: GETJOB's and QPEEK's shape; with_name adds the job's
// name ("" when it has none) as a fifth element (GETJOB WITHNAME).
void WriteJobEntry(resp::ReplyWriter& reply, const engine::Job& job, bool with_name = false);

// ADDJOB's options (args[3..]: DELAY, ATTEMPTS, BACKOFF, PRIORITY, JOBID, NAME) into `out`;
// false after answering the error (job_commands.cc).
bool ParseAddJobOptions(CommandContext& ctx, Args args, engine::JobOptions* out);

// Whether the broker has the queue (a command on an unknown one answers as for an empty one).
bool KnownQueue(CommandContext& ctx, const std::string& queue);

// An operator action of this client into the audit log (net/audit_log.h).
void Audit(CommandContext& ctx, std::string action, std::string target, std::uint64_t matched,
           std::string detail = {});

}  // namespace herald::net
