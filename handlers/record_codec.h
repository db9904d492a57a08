// The value format of the handlers' JSON records (inbox entries, delivery records, tickets):
// the format version byte (record_keys.h, kRecordVersion), then a flat JSON object written
// with Boost.JSON and read back as a FlatObject (simdjson). One codec for every record kind,
// so that a new format version is introduced in one place.
//
// Thread safety: free functions.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

#include "common/status.h"
#include "handlers/flat_json.h"

namespace herald::handlers {

// The stored value of `object`.
std::string EncodeJsonRecord(const boost::json::object& object);

// The object of a value written by EncodeJsonRecord. Corruption, naming `what` ("inbox entry",
// "ticket"): "<what> has an unknown format version", "<what>: invalid JSON: ...".
Result<FlatObject> DecodeJsonRecord(std::string_view value, std::string_view what);

}  // namespace herald::handlers
