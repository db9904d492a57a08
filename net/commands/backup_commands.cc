// BACKUP: online backups (engine/backups.h). SAVE and START take a checkpoint on the backup
// runner's thread while the connection waits parked, so that the I/O threads keep serving.
//
//   BACKUP SAVE dir                        -> the manifest (JSON), the backup made in `dir` on
//                                             the server's machine
//   BACKUP START                           -> [token, manifest JSON], a backup staged for reading
//   BACKUP READ token file offset [count]  -> up to `count` bytes (default 1 MiB, at most
//                                             4 MiB) of a staged file; "" past its end
//   BACKUP END token                       -> OK, the staged backup removed
#include <optional>
#include <string>

#include "engine/backups.h"
#include "net/command_context.h"
#include "net/commands/arg_parsing.h"
#include "net/commands/builtin_commands.h"
#include "net/commands/job_support.h"
#include "net/status_reply.h"

namespace herald::net {
namespace {

constexpr std::uint64_t kDefaultChunk = 1 << 20;

// Runs `work` (which returns what to reply) on the backup runner while the connection waits.
template <typename Work>
void OnRunner(CommandContext& ctx, Work work) {
  auto parker = ctx.Park([] {});
  Status posted = ctx.server().broker().backups().runner().Post(
      [parker, work = std::move(work)]() mutable { work(*parker); });
  if (!posted.ok()) {
    parker->Resume([posted](resp::ReplyWriter& reply) { reply.Error(ErrorText(posted, "ERR")); });
  }
}

void Save(CommandContext& ctx, const std::string& dir) {
  Audit(ctx, "backup", dir, 0);
  engine::Backups* backups = &ctx.server().broker().backups();
  OnRunner(ctx, [backups, dir](Parker& parker) {
    Result<engine::BackupManifest> manifest = backups->Write(dir);
    parker.Resume([manifest = std::move(manifest)](resp::ReplyWriter& reply) {
      if (!manifest.ok()) return reply.Error(ErrorText(manifest.status(), "ERR"));
      reply.Bulk(engine::ManifestToJson(*manifest));
    });
  });
}

void Start(CommandContext& ctx) {
  Audit(ctx, "backup", "(streamed)", 0);
  engine::Backups* backups = &ctx.server().broker().backups();
  OnRunner(ctx, [backups](Parker& parker) {
    Result<engine::StagedBackup> staged = backups->Stage();
    const std::string token = staged.ok() ? staged->token : std::string();
    const bool delivered = parker.Resume([staged = std::move(staged)](resp::ReplyWriter& reply) {
      if (!staged.ok()) return reply.Error(ErrorText(staged.status(), "ERR"));
      reply.ArrayHeader(2);
      reply.Bulk(staged->token);
      reply.Bulk(engine::ManifestToJson(staged->manifest));
    });
    // Nobody will read it: the client left while it was made.
    if (!delivered && !token.empty()) (void)backups->Release(token);
  });
}

void Read(CommandContext& ctx, Args args) {
  if (args.size() < 5 || args.size() > 6) {
    return ctx.Error("ERR wrong number of arguments for 'backup|read' command");
  }
  const std::optional<std::int64_t> offset = ParseRedisInt(args[4]);
  if (!offset || *offset < 0) {
    return ctx.Error("ERR BACKUP READ offset is not a non-negative integer");
  }
  std::optional<std::int64_t> count = static_cast<std::int64_t>(kDefaultChunk);
  if (args.size() == 6) count = ParseRedisInt(args[5]);
  if (!count || *count <= 0) return ctx.Error("ERR BACKUP READ count is not a positive integer");
  auto chunk = ctx.server().broker().backups().Read(
      args[2], args[3], static_cast<std::uint64_t>(*offset), static_cast<std::uint64_t>(*count));
  if (!chunk.ok()) return ctx.StatusError(chunk.status());
  ctx.reply().Bulk(*chunk);
}

void Backup(CommandContext& ctx, Args args) {
  const std::string& sub = args[1];
  if (EqualsIgnoreCase(sub, "save")) return Save(ctx, args[2]);
  if (EqualsIgnoreCase(sub, "start")) return Start(ctx);
  if (EqualsIgnoreCase(sub, "read")) return Read(ctx, args);
  if (EqualsIgnoreCase(sub, "end")) {
    Status released = ctx.server().broker().backups().Release(args[2]);
    if (!released.ok()) return ctx.StatusError(released);
    return ctx.Ok();
  }
  static const char* kHelp[] = {
      "BACKUP <subcommand> [<arg> ...]. Subcommands are:",
      "SAVE <dir>",
      "    Write a backup (a checkpoint and manifest.json) into <dir> on the server's machine.",
      "START",
      "    Stage a backup for this client to read; returns its token and manifest.",
      "READ <token> <file> <offset> [<count>]",
      "    Read up to <count> bytes (default 1 MiB) of a staged file from <offset>.",
      "END <token>",
      "    Remove a staged backup.",
      "HELP",
      "    Prints this help."};
  ctx.reply().ArrayHeader(std::size(kHelp));
  for (const char* line : kHelp) ctx.reply().SimpleString(line);
}

}  // namespace

void AddBackupCommands(CommandTable* table) {
  CommandSpec backup{.name = "backup",
                     .arity = -2,
                     .flags = kAdmin,
                     .group = "server",
                     .summary = "Online backups: written on the server, or staged for a client.",
                     .handler = Backup};
  backup.subcommands = {{"end", 3}, {"help", 2}, {"read", -5}, {"save", 3}, {"start", 2}};
  table->Add(std::move(backup));
}

}  // namespace herald::net
