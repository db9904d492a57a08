#include "handlers/queries.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace herald::handlers {
namespace {

Status CheckCount(std::uint32_t count) {
  if (count > NotificationQueries::kMaxCount) {
    return Status::InvalidArgument("count must be at most " +
                                   std::to_string(NotificationQueries::kMaxCount));
  }
  return Status::Ok();
}

}  // namespace

Status NotificationQueries::SetPreference(std::string_view user, std::string_view channel,
                                          bool enabled) {
  return Preferences(records_).Set(user, channel, enabled);
}

Result<std::map<std::string, bool>> NotificationQueries::GetPreferences(
    std::string_view user) const {
  return Preferences(records_).Get(user);
}

Result<std::vector<InboxEntry>> NotificationQueries::Inbox(std::string_view user,
                                                           std::uint32_t count) const {
  HERALD_RETURN_IF_ERROR(CheckCount(count));
  return handlers::Inbox(records_).Recent(user, count);
}

Result<std::vector<DeliveryRecord>> NotificationQueries::Sent(std::string_view user,
                                                              std::uint32_t count) const {
  HERALD_RETURN_IF_ERROR(CheckCount(count));
  return DeliveryLog(records_, &clock_).RecentForUser(user, count);
}

Result<std::vector<Ticket>> NotificationQueries::Tickets(std::uint32_t count) const {
  HERALD_RETURN_IF_ERROR(CheckCount(count));
  return TicketStore(records_, &clock_).Recent(count);
}

Result<bool> NotificationQueries::AddDevice(std::string_view user, std::string_view token,
                                            std::string_view platform) {
  return handlers::Devices(records_).Add(user, token, platform, clock_.NowMs());
}

Result<bool> NotificationQueries::RemoveDevice(std::string_view user, std::string_view token) {
  return handlers::Devices(records_).Remove(user, token);
}

Result<std::vector<Device>> NotificationQueries::Devices(std::string_view user) const {
  return handlers::Devices(records_).List(user);
}

Fields DeviceFields(const Device& device) {
  return {{"token", device.token},
          {"platform", device.platform},
          {"addedAt", FormatIso8601(device.added_ms)}};
}

Result<bool> ParseOnOff(std::string_view text) {
  std::string lower;
  for (char c : text)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "on" || lower == "yes" || lower == "true" || lower == "1") return true;
  if (lower == "off" || lower == "no" || lower == "false" || lower == "0") return false;
  return Status::InvalidArgument("expected on or off, not '" + std::string(text) + "'");
}

std::string FormatIso8601(std::int64_t ms) {
  if (ms < 0) ms = 0;
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  // Sized for any int fields, so that the compiler can prove nothing is cut.
  char buffer[96];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buffer;
}

Fields InboxFields(const InboxEntry& entry) {
  return {{"eventId", entry.event_id},
          {"eventType", entry.event_type},
          {"title", entry.title},
          {"text", entry.text},
          {"createdAt", FormatIso8601(entry.created_ms)}};
}

Fields DeliveryFields(const DeliveryRecord& record) {
  return {{"eventId", record.event_id},
          {"eventType", record.event_type},
          {"channel", record.channel},
          {"status", std::string(DeliveryStatusName(record.status))},
          {"detail", record.detail},
          {"attempts", std::to_string(record.attempts)},
          {"createdAt", FormatIso8601(record.created_ms)},
          {"updatedAt", FormatIso8601(record.updated_ms)},
          {"sentAt", record.sent_ms > 0 ? FormatIso8601(record.sent_ms) : std::string()}};
}

Fields TicketFields(const Ticket& ticket) {
  return {{"id", ticket.id},
          {"status", ticket.status},
          {"eventId", ticket.event_id},
          {"eventType", ticket.event_type},
          {"bookingId", ticket.booking_id},
          {"paymentId", ticket.payment_id},
          {"userId", ticket.user_id},
          {"amount", ticket.amount},
          {"reason", ticket.reason},
          {"subject", ticket.subject},
          {"description", ticket.description},
          {"createdAt", FormatIso8601(ticket.created_ms)}};
}

}  // namespace herald::handlers
