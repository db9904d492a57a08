#include "handlers/inbox.h"

#include <boost/json.hpp>

#include "handlers/event.h"
#include "handlers/flat_json.h"
#include "handlers/record_codec.h"
#include "handlers/record_keys.h"

namespace herald::handlers {
namespace {

std::string Encode(const InboxEntry& entry) {
  boost::json::object o;
  o["user"] = entry.user;
  o["eventId"] = entry.event_id;
  o["eventType"] = entry.event_type;
  o["title"] = entry.title;
  o["text"] = entry.text;
  o["createdMs"] = entry.created_ms;
  return EncodeJsonRecord(o);
}

Result<InboxEntry> Decode(std::string_view value) {
  auto object = DecodeJsonRecord(value, "inbox entry");
  if (!object.ok()) return object.status();
  InboxEntry entry;
  entry.user = FieldText(*object, "user");
  entry.event_id = FieldText(*object, "eventId");
  entry.event_type = FieldText(*object, "eventType");
  entry.title = FieldText(*object, "title");
  entry.text = FieldText(*object, "text");
  entry.created_ms = FieldInt(*object, "createdMs");
  return entry;
}

}  // namespace

Result<Inbox::AddResult> Inbox::Add(InboxEntry entry) {
  if (!IsValidKeyId(entry.user) || !IsValidKeyId(entry.event_id)) {
    return Status::InvalidArgument(
        "inbox entry needs a user and event id of 1..256 bytes "
        "without NUL");
  }
  const std::string index_key = keys::InboxEventKey(entry.event_id, entry.user);
  HERALD_ASSIGN_OR_RETURN(auto existing_key, records_->Get(engine::RecordKind::kInbox, index_key));
  if (existing_key) {
    auto message_key = keys::Unversioned(*existing_key);
    if (message_key) {
      HERALD_ASSIGN_OR_RETURN(auto existing,
                              records_->Get(engine::RecordKind::kInbox, *message_key));
      if (existing) {
        HERALD_ASSIGN_OR_RETURN(InboxEntry stored, Decode(*existing));
        return AddResult{std::move(stored), false};
      }
    }
  }
  const std::string message_key =
      keys::InboxMessageKey(entry.user, entry.created_ms, entry.event_id);
  HERALD_RETURN_IF_ERROR(records_->Put(engine::RecordKind::kInbox, message_key, Encode(entry)));
  HERALD_RETURN_IF_ERROR(
      records_->Put(engine::RecordKind::kInbox, index_key, keys::Versioned(message_key)));
  return AddResult{std::move(entry), true};
}

Result<std::vector<InboxEntry>> Inbox::Recent(std::string_view user, std::uint32_t count) const {
  HERALD_RETURN_IF_ERROR(CheckUserId(user));
  std::vector<InboxEntry> out;
  if (count == 0) return out;
  HERALD_ASSIGN_OR_RETURN(
      auto rows, records_->Scan(engine::RecordKind::kInbox, keys::InboxUserPrefix(user), count,
                                engine::ScanOrder::kNewestFirst));
  out.reserve(rows.size());
  for (const auto& row : rows) {
    HERALD_ASSIGN_OR_RETURN(InboxEntry entry, Decode(row.second));
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace herald::handlers
