// TicketStore: support tickets opened for events such as payment.failed. One ticket per event
// id (creating it again returns the existing one); `TICKETS [count]` lists them newest first.
// Layout: record_keys.h (tickets table).
//
// Ticket ids read "TKT-<yyyymmdd>-<12 hex digits>", the digits a hash of the event id, so a
// ticket's id does not depend on which attempt created it.
//
// Thread safety: thread-safe. `records` and `clock` must outlive this object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "engine/records.h"

namespace herald::handlers {

struct Ticket {
  std::string id;
  std::string event_id;
  std::string event_type;
  std::string booking_id;
  std::string payment_id;
  std::string user_id;
  std::string amount;  // as the event carried it ("49.99")
  std::string reason;
  std::string subject;      // rendered ticket_subject template
  std::string description;  // rendered ticket_body template
  std::string status = "open";
  std::int64_t created_ms = 0;
};

// The ticket as a JSON object (what the store keeps, and what a helpdesk webhook receives).
std::string TicketToJson(const Ticket& ticket);

class TicketStore {
 public:
  TicketStore(engine::Records* records, Clock* clock) : records_(records), clock_(clock) {}

  struct CreateResult {
    Ticket ticket;
    bool created = false;  // false: the event had a ticket already; it is returned unchanged
  };
  // Opens a ticket for `draft.event_id` (id, status and created_ms are filled in) unless one
  // exists. InvalidArgument for a bad event id.
  Result<CreateResult> Create(Ticket draft);

  // The ticket of an event; nullopt when none.
  Result<std::optional<Ticket>> FindByEvent(std::string_view event_id) const;

  // The newest `count` tickets, newest first.
  Result<std::vector<Ticket>> Recent(std::uint32_t count) const;

  // The id a ticket for `event_id` created at `created_ms` gets.
  static std::string MakeId(std::string_view event_id, std::int64_t created_ms);

 private:
  engine::Records* records_;
  Clock* clock_;
};

}  // namespace herald::handlers
