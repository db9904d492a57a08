#include "handlers/record_codec.h"

#include <boost/json/serialize.hpp>

#include "handlers/record_keys.h"

namespace herald::handlers {

std::string EncodeJsonRecord(const boost::json::object& object) {
  return keys::Versioned(boost::json::serialize(object));
}

Result<FlatObject> DecodeJsonRecord(std::string_view value, std::string_view what) {
  auto payload = keys::Unversioned(value);
  if (!payload) return Status::Corruption(std::string(what) + " has an unknown format version");
  auto object = ParseFlatObject(*payload);
  if (!object.ok()) return Status::Corruption(std::string(what) + ": " + object.status().message());
  return object;
}

}  // namespace herald::handlers
