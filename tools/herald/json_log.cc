#include "tools/herald/json_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string_view>

namespace herald::tools {
namespace {

void Append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

void AppendEscaped(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        Append(dest, "\\\"");
        break;
      case '\\':
        Append(dest, "\\\\");
        break;
      case '\n':
        Append(dest, "\\n");
        break;
      case '\r':
        Append(dest, "\\r");
        break;
      case '\t':
        Append(dest, "\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char code[8];
          std::snprintf(code, sizeof code, "\\u%04x", static_cast<unsigned>(c));
          Append(dest, code);
        } else {
          dest.push_back(c);
        }
    }
  }
  dest.push_back('"');
}

// The length of a leading "component: " (a lower-case word), 0 when there is none.
std::size_t ComponentLength(std::string_view message) {
  std::size_t i = 0;
  while (i < message.size() && i < 32 &&
         ((message[i] >= 'a' && message[i] <= 'z') || message[i] == '_' || message[i] == '-')) {
    ++i;
  }
  if (i == 0 || i + 1 >= message.size() || message[i] != ':' || message[i + 1] != ' ') return 0;
  return i;
}

}  // namespace

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const auto since_epoch = msg.time.time_since_epoch();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000;
  const std::time_t seconds = std::chrono::system_clock::to_time_t(msg.time);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char time[80];  // room for any int the fields could hold
  std::snprintf(time, sizeof time, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::string_view message(msg.payload.data(), msg.payload.size());
  Append(dest, "{\"time\":\"");
  Append(dest, time);
  Append(dest, "\",\"level\":");
  const auto level = spdlog::level::to_string_view(msg.level);
  AppendEscaped(dest, std::string_view(level.data(), level.size()));
  if (const std::size_t length = ComponentLength(message); length > 0) {
    Append(dest, ",\"component\":");
    AppendEscaped(dest, message.substr(0, length));
    message.remove_prefix(length + 2);
  }
  Append(dest, ",\"message\":");
  AppendEscaped(dest, message);
  Append(dest, ",\"logger\":");
  AppendEscaped(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
  Append(dest, "}\n");
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

}  // namespace herald::tools
