// Devices: the push device tokens of each user (FCM registration tokens, one per app install),
// registered by the app through DEVICES.ADD or PUT /api/users/{id}/devices and dropped when FCM
// says a token is dead (UNREGISTERED). The push handler sends to each of them.
//
// Stored in the prefs table beside the channel settings (layout in record_keys.h), one record
// per (user, token), so adding and removing tokens concurrently never loses one.
//
// Thread safety: thread-safe (Records is). `records` must outlive this object.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/records.h"

namespace herald::handlers {

struct Device {
  std::string token;
  std::string platform;  // "android", "ios", "web", or "" when not given
  std::int64_t added_ms = 0;
};

class Devices {
 public:
  // At most this many tokens per user; a 33rd is refused until one is removed.
  static constexpr std::size_t kMaxPerUser = 32;
  static constexpr std::size_t kMaxTokenBytes = 4096;

  explicit Devices(engine::Records* records) : records_(records) {}

  // Registers `token` for `user` at `now_ms`. Returns true when it is new (an existing token
  // keeps its added time and takes the new platform). InvalidArgument names the problem: a bad
  // user id, a token that is empty, longer than 4096 bytes or not printable ASCII, a platform
  // other than android, ios or web, or a user with kMaxPerUser tokens already.
  Result<bool> Add(std::string_view user, std::string_view token, std::string_view platform,
                   std::int64_t now_ms);
  // Returns whether the token was registered.
  Result<bool> Remove(std::string_view user, std::string_view token);
  // The user's devices, in token order.
  Result<std::vector<Device>> List(std::string_view user) const;

 private:
  engine::Records* records_;
};

}  // namespace herald::handlers
