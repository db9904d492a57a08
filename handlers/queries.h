// NotificationQueries: what the RESP commands PREFS.SET, PREFS.GET, INBOX, SENT and TICKETS
// (and the HTTP API) call to read and change what the handlers keep. A thin front over
// Preferences, Inbox, DeliveryLog and TicketStore with argument checks and field lists ready
// to become RESP maps or JSON objects.
//
//   PREFS.SET user channel on|off  -> SetPreference(user, channel, ParseOnOff(arg))
//   PREFS.GET user                 -> GetPreferences(user): {"email":on, "inapp":on, "push":on}
//   INBOX user [count]             -> Inbox(user, count): newest first, InboxFields(entry)
//   SENT user [count]              -> Sent(user, count): newest first, DeliveryFields(record)
//   TICKETS [count]                -> Tickets(count): newest first, TicketFields(ticket)
//   DEVICES.ADD user token [platform] -> AddDevice: 1 when new, 0 when known
//   DEVICES.DEL user token         -> RemoveDevice: 1 when removed, 0 when unknown
//   DEVICES.LIST user              -> Devices(user): DeviceFields(device)
//
// Thread safety: thread-safe. `records` must outlive this object.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "engine/records.h"
#include "handlers/delivery_log.h"
#include "handlers/devices.h"
#include "handlers/inbox.h"
#include "handlers/preferences.h"
#include "handlers/tickets.h"

namespace herald::handlers {

// Field name -> text, in a fixed order.
using Fields = std::vector<std::pair<std::string, std::string>>;

class NotificationQueries {
 public:
  // Count used when a command gives none.
  static constexpr std::uint32_t kDefaultCount = 10;
  // Larger counts are refused with InvalidArgument.
  static constexpr std::uint32_t kMaxCount = 10000;

  explicit NotificationQueries(engine::Records* records) : records_(records) {}

  // InvalidArgument "unknown channel 'x' (email, push or inapp)" or for a bad user id.
  Status SetPreference(std::string_view user, std::string_view channel, bool enabled);
  // Every channel with its setting; unset channels are on.
  Result<std::map<std::string, bool>> GetPreferences(std::string_view user) const;
  // InvalidArgument for count > kMaxCount or a bad user id.
  Result<std::vector<InboxEntry>> Inbox(std::string_view user,
                                        std::uint32_t count = kDefaultCount) const;
  Result<std::vector<DeliveryRecord>> Sent(std::string_view user,
                                           std::uint32_t count = kDefaultCount) const;
  Result<std::vector<Ticket>> Tickets(std::uint32_t count = kDefaultCount) const;
  // Registers a push device token (Devices::Add): true when new.
  Result<bool> AddDevice(std::string_view user, std::string_view token, std::string_view platform);
  Result<bool> RemoveDevice(std::string_view user, std::string_view token);
  Result<std::vector<Device>> Devices(std::string_view user) const;

 private:
  engine::Records* records_;
  // DeliveryLog and TicketStore take a clock for writing; queries only read.
  mutable SystemClock clock_;
};

// "on", "off" (also yes/no, true/false, 1/0; any case). InvalidArgument "expected on or off,
// not 'x'".
Result<bool> ParseOnOff(std::string_view text);

// ISO-8601 UTC with milliseconds: "2024-03-05T10:00:00.000Z".
std::string FormatIso8601(std::int64_t ms);

// eventId, eventType, title, text, createdAt.
Fields InboxFields(const InboxEntry& entry);
// eventId, eventType, channel, status, detail, attempts, createdAt, updatedAt, sentAt ("" when
// not sent).
Fields DeliveryFields(const DeliveryRecord& record);
// token, platform, addedAt.
Fields DeviceFields(const Device& device);
// id, status, eventId, eventType, bookingId, paymentId, userId, amount, reason, subject,
// description, createdAt.
Fields TicketFields(const Ticket& ticket);

}  // namespace herald::handlers
