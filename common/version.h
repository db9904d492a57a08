// The version of this build, as INFO, --version, the logs and backup manifests show it.
#pragma once

#include <string_view>

namespace herald {

inline constexpr std::string_view kHeraldVersion = "0.1.0";

}  // namespace herald
