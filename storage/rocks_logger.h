// Internal to storage/ (names rocksdb types): RocksDB's own log lines go to the store's spdlog
// logger instead of a LOG file in the data directory. A LOG file on a full disk made RocksDB
// abort: after one failed append its file writer asserts on the next (the error handler logs
// the very error that filled the disk). Levels: RocksDB's DEBUG, INFO and HEADER lines (flushes,
// compactions, options) at debug; WARN, ERROR and FATAL at warn, error and critical.
#pragma once

#include <rocksdb/env.h>
#include <spdlog/logger.h>

#include <cstdarg>
#include <memory>

namespace herald::storage {

class RocksLogger : public rocksdb::Logger {
 public:
  explicit RocksLogger(std::shared_ptr<spdlog::logger> log)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL), log_(std::move(log)) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override;

 private:
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace herald::storage
