// Status and Result<T>: the error vocabulary at every module boundary, and of the public API.
//
// A Status is OK or carries a code and a message that names the problem in words a user can
// act on ("unknown event type 'x'", "queue name too long"). Result<T> is a value or a non-OK
// Status. Both are cheap to move; an OK Status holds no allocation.
//
// Thread safety: immutable values; safe to copy across threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace herald {

class [[nodiscard]] Status {
 public:
  // On the wire (RESP error prefixes are chosen from these in net/); never renumber.
  enum class Code : unsigned char {
    kOk = 0,
    kNotFound = 1,
    kInvalidArgument = 2,
    kAlreadyExists = 3,
    kBusy = 4,
    kTimedOut = 5,
    kCorruption = 6,
    kIOError = 7,
    kShuttingDown = 8,
    kPaused = 9,
    kWrongType = 10,
    kInternal = 11,
    kNotSupported = 12,  // this backend or build has no such feature
  };

  Status() = default;

  static Status Ok() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status AlreadyExists(std::string msg) {
    return Status(Code::kAlreadyExists, std::move(msg));
  }
  static Status Busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status TimedOut(std::string msg) { return Status(Code::kTimedOut, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status ShuttingDown(std::string msg) {
    return Status(Code::kShuttingDown, std::move(msg));
  }
  static Status Paused(std::string msg) { return Status(Code::kPaused, std::move(msg)); }
  static Status WrongType(std::string msg) { return Status(Code::kWrongType, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }
  static Status NotSupported(std::string msg) {
    return Status(Code::kNotSupported, std::move(msg));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsAlreadyExists() const { return code_ == Code::kAlreadyExists; }
  bool IsBusy() const { return code_ == Code::kBusy; }
  bool IsTimedOut() const { return code_ == Code::kTimedOut; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsIOError() const { return code_ == Code::kIOError; }
  bool IsShuttingDown() const { return code_ == Code::kShuttingDown; }
  bool IsPaused() const { return code_ == Code::kPaused; }
  bool IsWrongType() const { return code_ == Code::kWrongType; }
  bool IsNotSupported() const { return code_ == Code::kNotSupported; }

  // "NotFound: job 42 not found"; "OK" for success. For logs, not for users.
  std::string ToString() const;

  // A copy whose message is "<prefix>: <message>"; OK stays OK.
  Status WithPrefix(std::string_view prefix) const;

  static std::string_view CodeName(Code code);

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// A value or an error. Access the value only after checking ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result built from an OK Status has no value");
    if (status_.ok()) status_ = Status::Internal("Result built from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace herald

// Early-return helpers for functions that return Status or Result<T>.
#define HERALD_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::herald::Status herald_status_ = (expr);        \
    if (!herald_status_.ok()) return herald_status_; \
  } while (0)

#define HERALD_CONCAT_INNER(a, b) a##b
#define HERALD_CONCAT(a, b) HERALD_CONCAT_INNER(a, b)
#define HERALD_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
#define HERALD_ASSIGN_OR_RETURN(lhs, expr) \
  HERALD_ASSIGN_OR_RETURN_IMPL(HERALD_CONCAT(herald_result_, __LINE__), lhs, expr)
