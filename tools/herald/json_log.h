// JsonLogFormatter: spdlog lines as JSON objects, one per line, for log shippers
// (`--log-format json`):
//   {"time":"2026-12-03T10:00:00.123Z","level":"info","component":"handlers",
//    "message":"emails -> email handler (outbox ./data/outbox)","logger":"herald"}
// `component` is the message's leading "word:" when it has one (Herald's lines start with the
// part that wrote them: "engine:", "handlers:", "notifications:"), and is then cut from the
// message; otherwise it is absent. Strings are escaped as JSON needs.
//
// Thread safety: as spdlog formatters (each sink clones its own).
#pragma once

#include <spdlog/formatter.h>

#include <memory>

namespace herald::tools {

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace herald::tools
