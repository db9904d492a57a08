// The one place a Status becomes a RESP error text, with Redis's prefixes.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace herald::net {

// "ERR <message>" by default; WrongType -> "WRONGTYPE <message>"; NotFound -> "<not_found_code>
// <message>" (NOJOB for job commands); Paused -> "PAUSED ..."; Busy -> "BUSY ...";
// ShuttingDown -> "SHUTDOWN ..."; IOError/Corruption -> "ERR storage error: ...".
std::string ErrorText(const Status& status, std::string_view not_found_code = "ERR");

}  // namespace herald::net
