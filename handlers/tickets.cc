#include "handlers/tickets.h"

#include <boost/json.hpp>

#include <cstdio>
#include <ctime>

#include "handlers/event.h"
#include "handlers/flat_json.h"
#include "handlers/record_codec.h"
#include "handlers/record_keys.h"

namespace herald::handlers {
namespace {

boost::json::object TicketObject(const Ticket& ticket) {
  boost::json::object o;
  o["id"] = ticket.id;
  o["eventId"] = ticket.event_id;
  o["eventType"] = ticket.event_type;
  o["bookingId"] = ticket.booking_id;
  o["paymentId"] = ticket.payment_id;
  o["userId"] = ticket.user_id;
  o["amount"] = ticket.amount;
  o["reason"] = ticket.reason;
  o["subject"] = ticket.subject;
  o["description"] = ticket.description;
  o["status"] = ticket.status;
  o["createdMs"] = ticket.created_ms;
  return o;
}

std::string Encode(const Ticket& ticket) { return EncodeJsonRecord(TicketObject(ticket)); }

Result<Ticket> Decode(std::string_view value) {
  auto object = DecodeJsonRecord(value, "ticket");
  if (!object.ok()) return object.status();
  Ticket ticket;
  ticket.id = FieldText(*object, "id");
  ticket.event_id = FieldText(*object, "eventId");
  ticket.event_type = FieldText(*object, "eventType");
  ticket.booking_id = FieldText(*object, "bookingId");
  ticket.payment_id = FieldText(*object, "paymentId");
  ticket.user_id = FieldText(*object, "userId");
  ticket.amount = FieldText(*object, "amount");
  ticket.reason = FieldText(*object, "reason");
  ticket.subject = FieldText(*object, "subject");
  ticket.description = FieldText(*object, "description");
  ticket.status = FieldText(*object, "status");
  ticket.created_ms = FieldInt(*object, "createdMs");
  return ticket;
}

std::uint64_t Fnv1a64(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace

std::string TicketToJson(const Ticket& ticket) {
  return boost::json::serialize(TicketObject(ticket));
}

std::string TicketStore::MakeId(std::string_view event_id, std::int64_t created_ms) {
  const std::time_t seconds = static_cast<std::time_t>(created_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "TKT-%04d%02d%02d-%012llx", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday,
                static_cast<unsigned long long>(Fnv1a64(event_id) & 0xffffffffffffull));
  return buffer;
}

Result<TicketStore::CreateResult> TicketStore::Create(Ticket draft) {
  if (!IsValidKeyId(draft.event_id)) {
    return Status::InvalidArgument("ticket needs an event id of 1..256 bytes without NUL");
  }
  HERALD_ASSIGN_OR_RETURN(auto existing, FindByEvent(draft.event_id));
  if (existing) return CreateResult{std::move(*existing), false};
  draft.created_ms = clock_->NowMs();
  draft.id = MakeId(draft.event_id, draft.created_ms);
  draft.status = "open";
  const std::string key = keys::TicketKey(draft.created_ms, draft.id);
  HERALD_RETURN_IF_ERROR(records_->Put(engine::RecordKind::kTickets, key, Encode(draft)));
  HERALD_RETURN_IF_ERROR(records_->Put(engine::RecordKind::kTickets,
                                       keys::TicketEventKey(draft.event_id), keys::Versioned(key)));
  return CreateResult{std::move(draft), true};
}

Result<std::optional<Ticket>> TicketStore::FindByEvent(std::string_view event_id) const {
  HERALD_ASSIGN_OR_RETURN(
      auto index, records_->Get(engine::RecordKind::kTickets, keys::TicketEventKey(event_id)));
  if (!index) return std::optional<Ticket>();
  auto key = keys::Unversioned(*index);
  if (!key) return Status::Corruption("ticket index has an unknown format version");
  HERALD_ASSIGN_OR_RETURN(auto value, records_->Get(engine::RecordKind::kTickets, *key));
  if (!value) return std::optional<Ticket>();
  HERALD_ASSIGN_OR_RETURN(Ticket ticket, Decode(*value));
  return std::optional<Ticket>(std::move(ticket));
}

Result<std::vector<Ticket>> TicketStore::Recent(std::uint32_t count) const {
  std::vector<Ticket> out;
  if (count == 0) return out;
  HERALD_ASSIGN_OR_RETURN(auto rows,
                          records_->Scan(engine::RecordKind::kTickets, keys::TicketPrefix(), count,
                                         engine::ScanOrder::kNewestFirst));
  out.reserve(rows.size());
  for (const auto& row : rows) {
    HERALD_ASSIGN_OR_RETURN(Ticket ticket, Decode(row.second));
    out.push_back(std::move(ticket));
  }
  return out;
}

}  // namespace herald::handlers
