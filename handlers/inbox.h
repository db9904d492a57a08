// Inbox: the in-app notifications of each user, newest first. The push handler writes one
// entry per event (the in-app channel); `INBOX user [count]` reads them (Recent).
//
// Adding is idempotent per (event id, user): adding the same event again returns the entry
// that exists. Layout: record_keys.h (inbox table).
//
// Thread safety: thread-safe. `records` must outlive this object.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/records.h"

namespace herald::handlers {

struct InboxEntry {
  std::string user;
  std::string event_id;
  std::string event_type;
  std::string title;
  std::string text;
  std::int64_t created_ms = 0;
};

class Inbox {
 public:
  explicit Inbox(engine::Records* records) : records_(records) {}

  // Stores `entry` under its created_ms unless the event is in the user's inbox already.
  // Returns the stored entry and whether it is new. InvalidArgument for a bad user or event id.
  struct AddResult {
    InboxEntry entry;
    bool created = false;
  };
  Result<AddResult> Add(InboxEntry entry);

  // The newest `count` entries of `user`, newest first.
  Result<std::vector<InboxEntry>> Recent(std::string_view user, std::uint32_t count) const;

 private:
  engine::Records* records_;
};

}  // namespace herald::handlers
