// DeliveryLog: what happened to each notification, one record per (event id, channel): who it
// was for, the outcome (sent, skipped, failed), why, on which attempt, and when. It answers
// "was this event already sent on this channel?" so that a retried or re-published event is
// never sent twice, and it backs `SENT user [count]` (RecentForUser, newest first).
//
// A record is created by the first attempt and updated by later ones; it keeps its created
// time, so a user's log is ordered by when each notification was first tried. Channels are
// free-form names: email, push, inapp, and helpdesk for the ticket webhook.
// Layout: record_keys.h (sent table).
//
// Thread safety: thread-safe. Two Record() calls for the same (event id, channel) at once are
// not expected (a job runs on one worker at a time); the later write wins.
// `records` and `clock` must outlive this object.
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

// Stored as its name; the names are part of the record format.
enum class DeliveryStatus : std::uint8_t { kSent, kSkipped, kFailed };

std::string_view DeliveryStatusName(DeliveryStatus status);  // "sent", "skipped", "failed"
Result<DeliveryStatus> ParseDeliveryStatus(std::string_view name);

struct DeliveryRecord {
  std::string user;
  std::string channel;  // email | push | inapp | helpdesk
  std::string event_id;
  std::string event_type;
  DeliveryStatus status = DeliveryStatus::kSent;
  // sent: where it went ("smtp 127.0.0.1:2525: 250 OK"); skipped: the reason ("user u-1 turned
  // off email"); failed: the error.
  std::string detail;
  std::uint32_t attempts = 0;   // the job's attempt that recorded this status (1 = first)
  std::int64_t created_ms = 0;  // first recorded
  std::int64_t updated_ms = 0;  // last recorded
  std::int64_t sent_ms = 0;     // when it was sent; 0 unless status is sent
};

class DeliveryLog {
 public:
  DeliveryLog(engine::Records* records, Clock* clock) : records_(records), clock_(clock) {}

  // The record of (event_id, channel); nullopt when nothing was recorded yet.
  Result<std::optional<DeliveryRecord>> Find(std::string_view event_id,
                                             std::string_view channel) const;

  // True when (event_id, channel) was sent already.
  Result<bool> AlreadySent(std::string_view event_id, std::string_view channel) const;

  // Records an attempt's outcome. Uses user, channel, event_id, event_type, status, detail and
  // attempts of `record`; sets the times (created_ms kept from an earlier record; sent_ms set
  // when status is sent). Returns what was stored. InvalidArgument for an empty or NUL-holding
  // user, event id or channel.
  Result<DeliveryRecord> Record(DeliveryRecord record);

  // The newest `count` records of `user`, newest first (by first attempt). InvalidArgument for
  // a bad user id.
  Result<std::vector<DeliveryRecord>> RecentForUser(std::string_view user,
                                                    std::uint32_t count) const;

 private:
  engine::Records* records_;
  Clock* clock_;
};

}  // namespace herald::handlers
