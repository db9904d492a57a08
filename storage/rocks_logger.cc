#include "storage/rocks_logger.h"

#include <cstdio>
#include <string>

namespace herald::storage {
namespace {

spdlog::level::level_enum LevelOf(rocksdb::InfoLogLevel level) {
  switch (level) {
    case rocksdb::InfoLogLevel::WARN_LEVEL:
      return spdlog::level::warn;
    case rocksdb::InfoLogLevel::ERROR_LEVEL:
      return spdlog::level::err;
    case rocksdb::InfoLogLevel::FATAL_LEVEL:
      return spdlog::level::critical;
    default:  // DEBUG, INFO, HEADER
      return spdlog::level::debug;
  }
}

}  // namespace

void RocksLogger::Logv(const char* format, va_list ap) {
  Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
}

void RocksLogger::Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) {
  const spdlog::level::level_enum to = LevelOf(level);
  if (!log_->should_log(to)) return;
  char small[512];
  va_list copy;
  va_copy(copy, ap);
  const int n = std::vsnprintf(small, sizeof(small), format, copy);
  va_end(copy);
  if (n < 0) return;
  std::string line;
  if (static_cast<std::size_t>(n) < sizeof(small)) {
    line.assign(small, static_cast<std::size_t>(n));
  } else {
    line.resize(static_cast<std::size_t>(n) + 1);
    std::vsnprintf(line.data(), line.size(), format, ap);
    line.resize(static_cast<std::size_t>(n));
  }
  log_->log(to, "rocksdb: {}", line);
}

}  // namespace herald::storage
