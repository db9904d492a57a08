// EventRouter: validates an event envelope against the contract of its type and says which
// queue it goes to.
//
// Envelope: { "eventType": str, "eventId": str, "timestamp": str (ISO-8601, optional),
// "data": { ... } }. Every contract lists the `data` fields an event of its type must carry.
// The event's eventId becomes the job id, so publishing the same event twice queues it once.
//
// Errors name the problem and nothing is queued: "invalid JSON at byte 17", "unknown event type
// 'x'", "event booking.created: missing field data.userEmail".
//
// Thread safety: immutable after construction; Route() may be called from any thread.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace herald::engine {

struct EventContract {
  std::string event_type;
  std::string queue;
  std::vector<std::string> required_fields;  // names inside `data`
};

// The six built-in contracts (booking.created/confirmed/cancelled -> emails, booking.reminder
// and payment.received -> notifications, payment.failed -> tickets).
std::vector<EventContract> DefaultEventContracts();

struct RoutedEvent {
  std::string event_type;
  std::string event_id;
  std::string queue;
};

class EventRouter {
 public:
  // Later contracts for the same type replace earlier ones (config overrides built-ins).
  explicit EventRouter(const std::vector<EventContract>& contracts);

  // Parses and checks `json`. InvalidArgument names the problem.
  Result<RoutedEvent> Route(std::string_view json) const;

  const EventContract* Find(std::string_view event_type) const;
  std::vector<EventContract> contracts() const;

 private:
  std::map<std::string, EventContract, std::less<>> contracts_;
};

}  // namespace herald::engine
