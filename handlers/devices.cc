#include "handlers/devices.h"

#include <boost/json.hpp>

#include "handlers/event.h"
#include "handlers/flat_json.h"
#include "handlers/record_codec.h"
#include "handlers/record_keys.h"

namespace herald::handlers {
namespace {

Status CheckToken(std::string_view token) {
  if (token.empty() || token.size() > Devices::kMaxTokenBytes) {
    return Status::InvalidArgument("device token must be 1.." +
                                   std::to_string(Devices::kMaxTokenBytes) + " bytes");
  }
  for (char c : token) {
    if (c <= 0x20 || c >= 0x7f) {
      return Status::InvalidArgument("device token must be printable ASCII without spaces");
    }
  }
  return Status::Ok();
}

std::string Encode(const Device& device) {
  boost::json::object o;
  o["token"] = device.token;
  o["platform"] = device.platform;
  o["addedMs"] = device.added_ms;
  return EncodeJsonRecord(o);
}

Result<Device> Decode(std::string_view value) {
  HERALD_ASSIGN_OR_RETURN(FlatObject object, DecodeJsonRecord(value, "device"));
  return Device{FieldText(object, "token"), FieldText(object, "platform"),
                FieldInt(object, "addedMs")};
}

}  // namespace

Result<bool> Devices::Add(std::string_view user, std::string_view token, std::string_view platform,
                          std::int64_t now_ms) {
  HERALD_RETURN_IF_ERROR(CheckUserId(user));
  HERALD_RETURN_IF_ERROR(CheckToken(token));
  if (!platform.empty() && platform != "android" && platform != "ios" && platform != "web") {
    return Status::InvalidArgument("unknown platform '" + std::string(platform) +
                                   "' (android, ios or web)");
  }
  const std::string key = keys::DeviceKey(user, token);
  HERALD_ASSIGN_OR_RETURN(auto existing, records_->Get(engine::RecordKind::kPrefs, key));
  Device device{std::string(token), std::string(platform), now_ms};
  if (existing) {
    auto stored = Decode(*existing);
    if (stored.ok()) device.added_ms = stored->added_ms;
  } else {
    HERALD_ASSIGN_OR_RETURN(std::vector<Device> devices, List(user));
    if (devices.size() >= kMaxPerUser) {
      return Status::InvalidArgument("user " + std::string(user) + " has " +
                                     std::to_string(kMaxPerUser) +
                                     " device tokens already; remove one first");
    }
  }
  HERALD_RETURN_IF_ERROR(records_->Put(engine::RecordKind::kPrefs, key, Encode(device)));
  return !existing.has_value();
}

Result<bool> Devices::Remove(std::string_view user, std::string_view token) {
  HERALD_RETURN_IF_ERROR(CheckUserId(user));
  HERALD_RETURN_IF_ERROR(CheckToken(token));
  const std::string key = keys::DeviceKey(user, token);
  HERALD_ASSIGN_OR_RETURN(auto existing, records_->Get(engine::RecordKind::kPrefs, key));
  if (!existing) return false;
  HERALD_RETURN_IF_ERROR(records_->Delete(engine::RecordKind::kPrefs, key));
  return true;
}

Result<std::vector<Device>> Devices::List(std::string_view user) const {
  HERALD_RETURN_IF_ERROR(CheckUserId(user));
  HERALD_ASSIGN_OR_RETURN(auto rows,
                          records_->Scan(engine::RecordKind::kPrefs, keys::DevicePrefix(user),
                                         kMaxPerUser * 2, engine::ScanOrder::kOldestFirst));
  std::vector<Device> devices;
  for (const auto& [key, value] : rows) {
    HERALD_ASSIGN_OR_RETURN(Device device, Decode(value));
    devices.push_back(std::move(device));
  }
  return devices;
}

}  // namespace herald::handlers
