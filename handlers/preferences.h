// Preferences: per user and channel, whether the user wants notifications on that channel.
// Channels: email, push, inapp ("in-app" is accepted as a spelling of inapp). Every channel is
// on until the user turns it off. Backs PREFS.SET / PREFS.GET.
//
// Stored in the prefs table, one record per (user, channel) (layout in record_keys.h), so two
// concurrent Sets of different channels never overwrite each other.
//
// Thread safety: thread-safe (Records is). `records` must outlive this object.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/records.h"

namespace herald::handlers {

enum class Channel : std::uint8_t { kEmail = 0, kPush = 1, kInApp = 2 };

inline constexpr std::array<Channel, 3> kAllChannels = {Channel::kEmail, Channel::kPush,
                                                        Channel::kInApp};

// "email", "push", "inapp".
std::string_view ChannelName(Channel channel);
// Case-insensitive; "in-app" and "in_app" read as inapp. InvalidArgument "unknown channel 'x'
// (email, push or inapp)".
Result<Channel> ParseChannel(std::string_view name);

class Preferences {
 public:
  explicit Preferences(engine::Records* records) : records_(records) {}

  // Turns `channel` on or off for `user`. InvalidArgument for an unknown channel or a user id
  // that is empty, longer than 256 bytes or contains NUL; store errors otherwise.
  Status Set(std::string_view user, std::string_view channel, bool enabled);
  Status Set(std::string_view user, Channel channel, bool enabled);

  // Every channel -> on/off for `user` ({"email", "inapp", "push"}), defaults (on) filled in.
  Result<std::map<std::string, bool>> Get(std::string_view user) const;

  // Whether `user` wants `channel`.
  Result<bool> Enabled(std::string_view user, Channel channel) const;

 private:
  engine::Records* records_;
};

}  // namespace herald::handlers
