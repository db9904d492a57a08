#include "net/status_reply.h"

namespace herald::net {

std::string ErrorText(const Status& status, std::string_view not_found_code) {
  using Code = Status::Code;
  std::string prefix;
  switch (status.code()) {
    case Code::kWrongType:
      prefix = "WRONGTYPE";
      break;
    case Code::kNotFound:
      prefix = std::string(not_found_code);
      break;
    case Code::kPaused:
      prefix = "PAUSED";
      break;
    case Code::kBusy:
      prefix = "BUSY";
      break;
    case Code::kShuttingDown:
      prefix = "SHUTDOWN";
      break;
    case Code::kIOError:
    case Code::kCorruption:
      return "ERR storage error: " + status.message();
    default:
      prefix = "ERR";
      break;
  }
  return prefix + " " + status.message();
}

}  // namespace herald::net
