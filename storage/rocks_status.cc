#include "storage/rocks_status.h"

#include <rocksdb/status.h>

#include <string>

namespace herald::storage {

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::Ok();
  std::string msg(context);
  msg += ": ";
  msg += s.ToString();
  switch (s.code()) {
    case rocksdb::Status::kNotFound:
      return Status::NotFound(std::move(msg));
    case rocksdb::Status::kCorruption:
      return Status::Corruption(std::move(msg));
    case rocksdb::Status::kIOError:
      return Status::IOError(std::move(msg));
    case rocksdb::Status::kInvalidArgument:
      return Status::InvalidArgument(std::move(msg));
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
      return Status::Busy(std::move(msg));
    case rocksdb::Status::kTimedOut:
      return Status::TimedOut(std::move(msg));
    case rocksdb::Status::kShutdownInProgress:
      return Status::ShuttingDown(std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

}  // namespace herald::storage
