#include "common/status.h"

namespace herald {

std::string_view Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      return "NotFound";
    case Code::kInvalidArgument:
      return "InvalidArgument";
    case Code::kAlreadyExists:
      return "AlreadyExists";
    case Code::kBusy:
      return "Busy";
    case Code::kTimedOut:
      return "TimedOut";
    case Code::kCorruption:
      return "Corruption";
    case Code::kIOError:
      return "IOError";
    case Code::kShuttingDown:
      return "ShuttingDown";
    case Code::kPaused:
      return "Paused";
    case Code::kWrongType:
      return "WrongType";
    case Code::kInternal:
      return "Internal";
    case Code::kNotSupported:
      return "NotSupported";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(CodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::WithPrefix(std::string_view prefix) const {
  if (ok()) return *this;
  std::string msg(prefix);
  msg += ": ";
  msg += message_;
  return Status(code_, std::move(msg));
}

}  // namespace herald
