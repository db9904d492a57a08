// Quote: a name or path in single quotes, for error messages ("unknown queue 'emails'").
//
// Thread safety: a pure function.
#pragma once

#include <string>
#include <string_view>

namespace herald::storage {

inline std::string Quote(std::string_view s) {
  std::string out("'");
  out.append(s);
  out.push_back('\'');
  return out;
}

}  // namespace herald::storage
