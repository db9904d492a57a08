#include "handlers/preferences.h"

#include <cctype>

#include "handlers/event.h"
#include "handlers/record_keys.h"

namespace herald::handlers {

std::string_view ChannelName(Channel channel) {
  switch (channel) {
    case Channel::kEmail:
      return "email";
    case Channel::kPush:
      return "push";
    case Channel::kInApp:
      return "inapp";
  }
  return "unknown";
}

Result<Channel> ParseChannel(std::string_view name) {
  std::string lower;
  for (char c : name) {
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (lower == "email") return Channel::kEmail;
  if (lower == "push") return Channel::kPush;
  if (lower == "inapp" || lower == "in-app" || lower == "in_app") return Channel::kInApp;
  return Status::InvalidArgument("unknown channel '" + std::string(name) +
                                 "' (email, push or inapp)");
}

Status Preferences::Set(std::string_view user, std::string_view channel, bool enabled) {
  HERALD_ASSIGN_OR_RETURN(Channel parsed, ParseChannel(channel));
  return Set(user, parsed, enabled);
}

Status Preferences::Set(std::string_view user, Channel channel, bool enabled) {
  HERALD_RETURN_IF_ERROR(CheckUserId(user));
  return records_->Put(engine::RecordKind::kPrefs, keys::PrefKey(user, ChannelName(channel)),
                       keys::Versioned(enabled ? "1" : "0"));
}

Result<std::map<std::string, bool>> Preferences::Get(std::string_view user) const {
  HERALD_RETURN_IF_ERROR(CheckUserId(user));
  std::map<std::string, bool> out;
  for (Channel channel : kAllChannels) out[std::string(ChannelName(channel))] = true;
  const std::string prefix = keys::PrefPrefix(user);
  HERALD_ASSIGN_OR_RETURN(auto rows, records_->Scan(engine::RecordKind::kPrefs, prefix, 64,
                                                    engine::ScanOrder::kOldestFirst));
  for (const auto& [key, value] : rows) {
    std::string channel = key.substr(prefix.size());
    auto payload = keys::Unversioned(value);
    // Rows for channels this version does not know are ignored rather than reported.
    if (!payload || out.find(channel) == out.end()) continue;
    out[channel] = *payload != "0";
  }
  return out;
}

Result<bool> Preferences::Enabled(std::string_view user, Channel channel) const {
  HERALD_RETURN_IF_ERROR(CheckUserId(user));
  auto value = records_->Get(engine::RecordKind::kPrefs, keys::PrefKey(user, ChannelName(channel)));
  if (!value.ok()) return value.status();
  const std::optional<std::string>& stored = value.value();
  if (!stored.has_value()) return true;
  auto payload = keys::Unversioned(*stored);
  return !payload || *payload != "0";
}

}  // namespace herald::handlers
