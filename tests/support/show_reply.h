// Fields of a SHOW reply (a flat field/value array in RESP2, a map in RESP3), for tests that
// read jobs back over the wire.
#pragma once

#include <string>

#include "net/resp/reply.h"

namespace herald::testing {

// The field `name` as text (an integer in decimal); "" when absent.
inline std::string ShowField(const resp::Reply& show, const std::string& name) {
  auto text = [](const resp::Reply& value) {
    return value.type == resp::ReplyType::kInteger ? std::to_string(value.integer) : value.str;
  };
  if (const resp::Reply* value = show.Find(name)) return text(*value);
  for (std::size_t i = 0; i + 1 < show.elements.size(); i += 2) {
    if (show.elements[i].str == name) return text(show.elements[i + 1]);
  }
  return "";
}

}  // namespace herald::testing
