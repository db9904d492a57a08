#include "tools/herald/notification_commands.h"

#include "net/command_context.h"
#include "net/commands/arg_parsing.h"

namespace herald::tools {
namespace {

using handlers::Fields;
using handlers::NotificationQueries;
using net::Args;
using net::CommandContext;

// Count argument of INBOX/SENT/TICKETS; writes the error and returns false when bad.
bool ReadCount(CommandContext& ctx, Args args, size_t index, std::uint32_t* count) {
  *count = NotificationQueries::kDefaultCount;
  if (args.size() <= index) return true;
  auto n = ParseRedisInt(args[index]);
  if (!n || *n < 1 || *n > NotificationQueries::kMaxCount) {
    ctx.Error("ERR count must be an integer from 1 to " +
              std::to_string(NotificationQueries::kMaxCount));
    return false;
  }
  *count = static_cast<std::uint32_t>(*n);
  return true;
}

// A list of records, each a map (RESP3) or a flat field/value array (RESP2).
template <typename T>
void WriteRecords(CommandContext& ctx, const std::vector<T>& records,
                  Fields (*fields_of)(const T&)) {
  ctx.reply().ArrayHeader(records.size());
  for (const T& record : records) {
    Fields fields = fields_of(record);
    ctx.reply().MapHeader(fields.size());
    for (const auto& [name, value] : fields) {
      ctx.reply().Bulk(name);
      ctx.reply().Bulk(value);
    }
  }
}

}  // namespace

void AddNotificationCommands(net::CommandTable* table, NotificationQueries* queries) {
  table->Add(
      {.name = "prefs.set",
       .arity = 4,
       .flags = net::kWrite,
       .group = "notifications",
       .summary = "Turn a channel on or off for a user: PREFS.SET user email|push|inapp on|off",
       .handler = [queries](CommandContext& ctx, Args args) {
         auto on = handlers::ParseOnOff(args[3]);
         if (!on.ok()) return ctx.StatusError(on.status());
         Status status = queries->SetPreference(args[1], args[2], *on);
         if (!status.ok()) return ctx.StatusError(status);
         ctx.Ok();
       }});
  table->Add({.name = "prefs.get",
              .arity = 2,
              .flags = net::kReadonly,
              .group = "notifications",
              .summary = "A user's channel settings: PREFS.GET user",
              .handler = [queries](CommandContext& ctx, Args args) {
                auto prefs = queries->GetPreferences(args[1]);
                if (!prefs.ok()) return ctx.StatusError(prefs.status());
                ctx.reply().MapHeader(prefs->size());
                for (const auto& [channel, on] : *prefs) {
                  ctx.reply().Bulk(channel);
                  ctx.reply().Bulk(on ? "on" : "off");
                }
              }});
  table->Add({.name = "devices.add",
              .arity = -3,
              .flags = net::kWrite,
              .group = "notifications",
              .summary = "Register a push device token (FCM) for a user: DEVICES.ADD user token "
                         "[android|ios|web]; 1 when new, 0 when known",
              .handler = [queries](CommandContext& ctx, Args args) {
                if (args.size() > 4) return ctx.WrongArity("devices.add");
                auto added = queries->AddDevice(args[1], args[2], args.size() > 3 ? args[3] : "");
                if (!added.ok()) return ctx.StatusError(added.status());
                ctx.reply().Integer(*added ? 1 : 0);
              }});
  table->Add({.name = "devices.del",
              .arity = 3,
              .flags = net::kWrite,
              .group = "notifications",
              .summary = "Remove a push device token: DEVICES.DEL user token; 1 when removed",
              .handler = [queries](CommandContext& ctx, Args args) {
                auto removed = queries->RemoveDevice(args[1], args[2]);
                if (!removed.ok()) return ctx.StatusError(removed.status());
                ctx.reply().Integer(*removed ? 1 : 0);
              }});
  table->Add({.name = "devices.list",
              .arity = 2,
              .flags = net::kReadonly,
              .group = "notifications",
              .summary = "A user's push device tokens: DEVICES.LIST user",
              .handler = [queries](CommandContext& ctx, Args args) {
                auto devices = queries->Devices(args[1]);
                if (!devices.ok()) return ctx.StatusError(devices.status());
                WriteRecords(ctx, *devices, &handlers::DeviceFields);
              }});
  table->Add({.name = "inbox",
              .arity = -2,
              .flags = net::kReadonly,
              .group = "notifications",
              .summary = "In-app notifications of a user, newest first: INBOX user [count]",
              .handler = [queries](CommandContext& ctx, Args args) {
                if (args.size() > 3) return ctx.WrongArity("inbox");
                std::uint32_t count;
                if (!ReadCount(ctx, args, 2, &count)) return;
                auto entries = queries->Inbox(args[1], count);
                if (!entries.ok()) return ctx.StatusError(entries.status());
                WriteRecords(ctx, *entries, &handlers::InboxFields);
              }});
  table->Add({.name = "sent",
              .arity = -2,
              .flags = net::kReadonly,
              .group = "notifications",
              .summary = "Delivery log of a user, newest first: SENT user [count]",
              .handler = [queries](CommandContext& ctx, Args args) {
                if (args.size() > 3) return ctx.WrongArity("sent");
                std::uint32_t count;
                if (!ReadCount(ctx, args, 2, &count)) return;
                auto records = queries->Sent(args[1], count);
                if (!records.ok()) return ctx.StatusError(records.status());
                WriteRecords(ctx, *records, &handlers::DeliveryFields);
              }});
  table->Add({.name = "tickets",
              .arity = -1,
              .flags = net::kReadonly,
              .group = "notifications",
              .summary = "Support tickets, newest first: TICKETS [count]",
              .handler = [queries](CommandContext& ctx, Args args) {
                if (args.size() > 2) return ctx.WrongArity("tickets");
                std::uint32_t count;
                if (!ReadCount(ctx, args, 1, &count)) return;
                auto tickets = queries->Tickets(count);
                if (!tickets.ok()) return ctx.StatusError(tickets.status());
                WriteRecords(ctx, *tickets, &handlers::TicketFields);
              }});
}

}  // namespace herald::tools
