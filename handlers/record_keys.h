// The key and value layouts of every record the handlers keep in engine::Records. This header
// is the one place they are written down; golden tests (tests/handlers/record_keys_test.cc)
// pin the bytes.
//
// Grammar (`be64` = 8-byte big-endian unsigned milliseconds since the epoch, so byte order is
// time order; user and event ids are 1..256 bytes without NUL, so NUL ends them):
//
//   prefs table
//     <user> 0x00 <channel>                                   -> V "1" | "0"
//     0x00 'd' <user> 0x00 <device token>                     -> V JSON Device
//       (a user id never starts with NUL, so these never meet a channel setting)
//   inbox table
//     'm' <user> 0x00 <be64 created_ms> <event_id>            -> V JSON InboxEntry
//     'e' <event_id> 0x00 <user>                              -> V <the 'm' key>
//   sent table (delivery log)
//     'e' <event_id> 0x00 <channel>                           -> V JSON DeliveryRecord
//     'u' <user> 0x00 <be64 created_ms> <event_id> 0x00 <channel>  -> V ""   (per-user index)
//     'f' <event_id> 0x00 <device token>                      -> V <FCM message name>
//       (the devices an event was pushed to, so a retry skips them)
//   tickets table
//     't' <be64 created_ms> <ticket_id>                       -> V JSON Ticket
//     'e' <event_id>                                          -> V <the 't' key>
//
// V = the value format version byte (kRecordVersion) followed by the payload. JSON payloads are
// flat objects written with Boost.JSON and read with simdjson. The 'e' keys make writes
// idempotent per event: a message, a delivery or a ticket exists at most once per event id
// (and channel). Writers put the entry first and its 'e' key last, so a crash in between can
// at worst leave an entry without index (the write is redone), never an index without entry.
//
// On disk: never change a layout in place; add a new prefix or bump kRecordVersion.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herald::handlers::keys {

inline constexpr char kRecordVersion = '\x01';

inline void AppendBe64(std::string* out, std::int64_t ms) {
  const std::uint64_t v = ms < 0 ? 0 : static_cast<std::uint64_t>(ms);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

inline std::int64_t ReadBe64(std::string_view bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < bytes.size(); ++i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return static_cast<std::int64_t>(v);
}

inline std::string Join(std::string_view a, std::string_view b) {
  std::string out;
  out.reserve(a.size() + 1 + b.size());
  out.append(a);
  out.push_back('\0');
  out.append(b);
  return out;
}

// ---- prefs -------------------------------------------------------------------------------
inline std::string PrefPrefix(std::string_view user) { return Join(user, ""); }
inline std::string PrefKey(std::string_view user, std::string_view channel) {
  return Join(user, channel);
}

inline std::string DevicePrefix(std::string_view user) {
  return std::string("\0d", 2) + Join(user, "");
}
inline std::string DeviceKey(std::string_view user, std::string_view token) {
  return DevicePrefix(user) + std::string(token);
}

// ---- inbox -------------------------------------------------------------------------------
inline std::string InboxUserPrefix(std::string_view user) { return "m" + Join(user, ""); }
inline std::string InboxMessageKey(std::string_view user, std::int64_t created_ms,
                                   std::string_view event_id) {
  std::string key = InboxUserPrefix(user);
  AppendBe64(&key, created_ms);
  key.append(event_id);
  return key;
}
inline std::string InboxEventKey(std::string_view event_id, std::string_view user) {
  return "e" + Join(event_id, user);
}

// ---- sent --------------------------------------------------------------------------------
inline std::string SentEventKey(std::string_view event_id, std::string_view channel) {
  return "e" + Join(event_id, channel);
}
inline std::string SentUserPrefix(std::string_view user) { return "u" + Join(user, ""); }
inline std::string SentUserKey(std::string_view user, std::int64_t created_ms,
                               std::string_view event_id, std::string_view channel) {
  std::string key = SentUserPrefix(user);
  AppendBe64(&key, created_ms);
  key.append(Join(event_id, channel));
  return key;
}
// The (event_id, channel) of a 'u' key whose user prefix is `prefix_size` bytes long.
struct EventChannel {
  std::string event_id;
  std::string channel;
};
inline std::optional<EventChannel> ParseSentUserKey(std::string_view key, std::size_t prefix_size) {
  if (key.size() < prefix_size + 8) return std::nullopt;
  std::string_view rest = key.substr(prefix_size + 8);
  const std::size_t nul = rest.find('\0');
  if (nul == std::string_view::npos) return std::nullopt;
  return EventChannel{std::string(rest.substr(0, nul)), std::string(rest.substr(nul + 1))};
}

inline std::string FcmSentKey(std::string_view event_id, std::string_view token) {
  return "f" + Join(event_id, token);
}

// ---- tickets -----------------------------------------------------------------------------
inline std::string TicketPrefix() { return "t"; }
inline std::string TicketKey(std::int64_t created_ms, std::string_view ticket_id) {
  std::string key = TicketPrefix();
  AppendBe64(&key, created_ms);
  key.append(ticket_id);
  return key;
}
inline std::string TicketEventKey(std::string_view event_id) { return "e" + std::string(event_id); }

// ---- values ------------------------------------------------------------------------------
inline std::string Versioned(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 1);
  out.push_back(kRecordVersion);
  out.append(payload);
  return out;
}
// The payload of a value written by Versioned(); nullopt for an unknown version.
inline std::optional<std::string_view> Unversioned(std::string_view value) {
  if (value.empty() || value.front() != kRecordVersion) return std::nullopt;
  return value.substr(1);
}

}  // namespace herald::handlers::keys
