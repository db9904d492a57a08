#include "handlers/delivery_log.h"

#include <boost/json.hpp>

#include "handlers/event.h"
#include "handlers/flat_json.h"
#include "handlers/record_codec.h"
#include "handlers/record_keys.h"

namespace herald::handlers {
namespace {

std::string Encode(const DeliveryRecord& record) {
  boost::json::object o;
  o["user"] = record.user;
  o["channel"] = record.channel;
  o["eventId"] = record.event_id;
  o["eventType"] = record.event_type;
  o["status"] = std::string(DeliveryStatusName(record.status));
  o["detail"] = record.detail;
  o["attempts"] = record.attempts;
  o["createdMs"] = record.created_ms;
  o["updatedMs"] = record.updated_ms;
  o["sentMs"] = record.sent_ms;
  return EncodeJsonRecord(o);
}

Result<DeliveryRecord> Decode(std::string_view value) {
  auto object = DecodeJsonRecord(value, "delivery record");
  if (!object.ok()) return object.status();
  DeliveryRecord record;
  record.user = FieldText(*object, "user");
  record.channel = FieldText(*object, "channel");
  record.event_id = FieldText(*object, "eventId");
  record.event_type = FieldText(*object, "eventType");
  auto status = ParseDeliveryStatus(FieldText(*object, "status"));
  if (!status.ok()) return Status::Corruption("delivery record: " + status.status().message());
  record.status = *status;
  record.detail = FieldText(*object, "detail");
  record.attempts = static_cast<std::uint32_t>(FieldInt(*object, "attempts"));
  record.created_ms = FieldInt(*object, "createdMs");
  record.updated_ms = FieldInt(*object, "updatedMs");
  record.sent_ms = FieldInt(*object, "sentMs");
  return record;
}

}  // namespace

std::string_view DeliveryStatusName(DeliveryStatus status) {
  switch (status) {
    case DeliveryStatus::kSent:
      return "sent";
    case DeliveryStatus::kSkipped:
      return "skipped";
    case DeliveryStatus::kFailed:
      return "failed";
  }
  return "unknown";
}

Result<DeliveryStatus> ParseDeliveryStatus(std::string_view name) {
  if (name == "sent") return DeliveryStatus::kSent;
  if (name == "skipped") return DeliveryStatus::kSkipped;
  if (name == "failed") return DeliveryStatus::kFailed;
  return Status::InvalidArgument("unknown delivery status '" + std::string(name) + "'");
}

Result<std::optional<DeliveryRecord>> DeliveryLog::Find(std::string_view event_id,
                                                        std::string_view channel) const {
  HERALD_ASSIGN_OR_RETURN(
      auto value, records_->Get(engine::RecordKind::kSent, keys::SentEventKey(event_id, channel)));
  if (!value) return std::optional<DeliveryRecord>();
  HERALD_ASSIGN_OR_RETURN(DeliveryRecord record, Decode(*value));
  return std::optional<DeliveryRecord>(std::move(record));
}

Result<bool> DeliveryLog::AlreadySent(std::string_view event_id, std::string_view channel) const {
  HERALD_ASSIGN_OR_RETURN(auto record, Find(event_id, channel));
  return record.has_value() && record->status == DeliveryStatus::kSent;
}

Result<DeliveryRecord> DeliveryLog::Record(DeliveryRecord record) {
  if (!IsValidKeyId(record.user) || !IsValidKeyId(record.event_id) ||
      !IsValidKeyId(record.channel)) {
    return Status::InvalidArgument(
        "delivery record needs a user, event id and channel of 1..256 bytes without NUL");
  }
  HERALD_ASSIGN_OR_RETURN(auto existing, Find(record.event_id, record.channel));
  const std::int64_t now = clock_->NowMs();
  record.updated_ms = now;
  record.sent_ms = record.status == DeliveryStatus::kSent ? now : 0;
  if (existing) {
    // The per-user index key holds the user and created time: keep both so it stays valid.
    record.created_ms = existing->created_ms;
    record.user = existing->user;
  } else {
    record.created_ms = now;
    HERALD_RETURN_IF_ERROR(records_->Put(
        engine::RecordKind::kSent,
        keys::SentUserKey(record.user, record.created_ms, record.event_id, record.channel), ""));
  }
  HERALD_RETURN_IF_ERROR(records_->Put(engine::RecordKind::kSent,
                                       keys::SentEventKey(record.event_id, record.channel),
                                       Encode(record)));
  return record;
}

Result<std::vector<DeliveryRecord>> DeliveryLog::RecentForUser(std::string_view user,
                                                               std::uint32_t count) const {
  HERALD_RETURN_IF_ERROR(CheckUserId(user));
  std::vector<DeliveryRecord> out;
  if (count == 0) return out;
  const std::string prefix = keys::SentUserPrefix(user);
  HERALD_ASSIGN_OR_RETURN(auto rows, records_->Scan(engine::RecordKind::kSent, prefix, count,
                                                    engine::ScanOrder::kNewestFirst));
  for (const auto& row : rows) {
    auto ids = keys::ParseSentUserKey(row.first, prefix.size());
    if (!ids) continue;
    HERALD_ASSIGN_OR_RETURN(auto record, Find(ids->event_id, ids->channel));
    // An index entry without its record: a crash between the two writes; the record is
    // written when the attempt is redone.
    if (record) out.push_back(std::move(*record));
  }
  return out;
}

}  // namespace herald::handlers
