#include "net/server_config.h"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <optional>
#include <thread>

#include "common/secret.h"
#include "engine/keyspace.h"
#include "net/commands/arg_parsing.h"

namespace herald::net {

bool IsLoopbackBind(std::string_view bind) {
  if (bind == "localhost") return true;
  boost::system::error_code ec;
  const boost::asio::ip::address address = boost::asio::ip::make_address(std::string(bind), ec);
  return !ec && address.is_loopback();
}

namespace {

enum class Param {
  kAppendfsync,
  kAppendonly,
  kBind,
  kClientQueryBufferLimit,
  kDatabases,
  kIoThreads,
  kMaxclients,
  kMaxmemory,
  kMaxmemoryPolicy,
  kPort,
  kProtectedMode,
  kProtoMaxBulkLen,
  kRequirepass,
  kSave,
  kTimeout,
};

struct ParamInfo {
  std::string_view name;
  Param param;
  bool live;  // CONFIG SET may change it
};

// Every parameter Herald knows, by name. The ones Herald fixes (16 databases, no
// eviction, no snapshots, its own WAL) or sets only at start are immutable.
constexpr ParamInfo kParams[] = {
    {"appendfsync", Param::kAppendfsync, false},
    {"appendonly", Param::kAppendonly, false},
    {"bind", Param::kBind, false},
    {"client-query-buffer-limit", Param::kClientQueryBufferLimit, true},
    {"databases", Param::kDatabases, false},
    {"io-threads", Param::kIoThreads, false},
    {"maxclients", Param::kMaxclients, true},
    {"maxmemory", Param::kMaxmemory, false},
    {"maxmemory-policy", Param::kMaxmemoryPolicy, false},
    {"port", Param::kPort, false},
    {"protected-mode", Param::kProtectedMode, true},
    {"proto-max-bulk-len", Param::kProtoMaxBulkLen, true},
    {"requirepass", Param::kRequirepass, true},
    {"save", Param::kSave, false},
    {"timeout", Param::kTimeout, true},
};

const ParamInfo* Lookup(std::string_view name) {
  for (const ParamInfo& info : kParams) {
    if (EqualsIgnoreCase(info.name, name)) return &info;
  }
  return nullptr;
}

// Redis's memtoull: digits, then an optional unit (b, k, kb, m, mb, g, gb, any case; k = 1000,
// kb = 1024). No sign, no spaces, no fraction.
std::optional<std::uint64_t> ParseMemory(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  const std::string_view unit = text.substr(digits);
  std::uint64_t multiplier = 0;
  if (unit.empty() || EqualsIgnoreCase(unit, "b")) {
    multiplier = 1;
  } else if (EqualsIgnoreCase(unit, "k")) {
    multiplier = 1000;
  } else if (EqualsIgnoreCase(unit, "kb")) {
    multiplier = 1024;
  } else if (EqualsIgnoreCase(unit, "m")) {
    multiplier = 1000 * 1000;
  } else if (EqualsIgnoreCase(unit, "mb")) {
    multiplier = 1024 * 1024;
  } else if (EqualsIgnoreCase(unit, "g")) {
    multiplier = 1000 * 1000 * 1000;
  } else if (EqualsIgnoreCase(unit, "gb")) {
    multiplier = 1024 * 1024 * 1024;
  } else {
    return std::nullopt;
  }
  std::uint64_t value = 0;  // no digits at all reads as 0, as strtoull("") does
  if (digits > 0) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + digits, value);
    if (ec != std::errc() || end != text.data() + digits) return std::nullopt;
  }
  if (value > std::numeric_limits<std::uint64_t>::max() / multiplier) return std::nullopt;
  return value * multiplier;
}

std::string Between(std::int64_t min, std::int64_t max) {
  return "argument must be between " + std::to_string(min) + " and " + std::to_string(max) +
         " inclusive";
}

// Redis's integer parameters: string2ll, then the range.
std::optional<std::string> ParseInteger(std::string_view text, std::int64_t min, std::int64_t max,
                                        std::int64_t* out) {
  auto value = ParseRedisInt(text);
  if (!value) return "argument couldn't be parsed into an integer";
  if (*value < min || *value > max) return Between(min, max);
  *out = *value;
  return std::nullopt;
}

// Redis's memory parameters (proto-max-bulk-len, client-query-buffer-limit): at least 1 MiB.
std::optional<std::string> ParseMemoryParam(std::string_view text, std::uint64_t* out) {
  constexpr std::int64_t kMin = 1024 * 1024;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  auto value = ParseMemory(text);
  if (!value) return "argument must be a memory value";
  if (*value < static_cast<std::uint64_t>(kMin) || *value > static_cast<std::uint64_t>(kMax)) {
    return Between(kMin, kMax);
  }
  *out = *value;
  return std::nullopt;
}

std::string SetFailed(std::string_view name, std::string_view why) {
  return "CONFIG SET failed (possibly related to argument '" + std::string(name) + "') - " +
         std::string(why);
}

}  // namespace

ServerConfig::ServerConfig(ServerOptions options)
    : initial_(std::move(options)),
      idle_timeout_s_(initial_.idle_timeout_s),
      max_clients_(initial_.max_clients),
      max_bulk_bytes_(initial_.max_bulk_bytes),
      max_query_buffer_(initial_.max_query_buffer),
      protected_mode_(initial_.protected_mode),
      password_required_(!initial_.requirepass.empty()),
      requirepass_(initial_.requirepass) {}

std::string ServerConfig::requirepass() const {
  MutexLock lock(&password_mu_);
  return requirepass_;
}

bool ServerConfig::CheckPassword(std::string_view password) const {
  MutexLock lock(&password_mu_);
  return requirepass_.empty() || SameSecret(password, requirepass_);
}

std::vector<std::string_view> ServerConfig::Names() {
  std::vector<std::string_view> names;
  for (const ParamInfo& info : kParams) names.push_back(info.name);
  return names;
}

std::vector<std::pair<std::string, std::string>> ServerConfig::Get(
    std::span<const std::string> patterns, std::uint16_t port) const {
  auto value_of = [&](Param param) -> std::string {
    switch (param) {
      case Param::kAppendfsync:
        return initial_.fsync_mode;
      case Param::kAppendonly:
        return "yes";
      case Param::kBind:
        return initial_.bind;
      case Param::kClientQueryBufferLimit:
        return std::to_string(max_query_buffer());
      case Param::kDatabases:
        return std::to_string(engine::kKvDatabases);
      case Param::kIoThreads: {
        const std::uint32_t threads = initial_.io_threads != 0
                                          ? initial_.io_threads
                                          : std::max(1u, std::thread::hardware_concurrency());
        return std::to_string(threads);
      }
      case Param::kMaxclients:
        return std::to_string(max_clients());
      case Param::kMaxmemory:
        return "0";
      case Param::kMaxmemoryPolicy:
        return "noeviction";
      case Param::kPort:
        return std::to_string(port);
      case Param::kProtectedMode:
        return protected_mode() ? "yes" : "no";
      case Param::kProtoMaxBulkLen:
        return std::to_string(max_bulk_bytes());
      case Param::kRequirepass:
        // As Redis: only a client that knows the password (or any, when none is set) gets here.
        return requirepass();
      case Param::kSave:
        return "";
      case Param::kTimeout:
        return std::to_string(idle_timeout_s());
    }
    return "";
  };
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<Param> seen;
  auto add = [&](std::string name, Param param) {
    if (std::find(seen.begin(), seen.end(), param) != seen.end()) return;
    seen.push_back(param);
    out.emplace_back(std::move(name), value_of(param));
  };
  for (const std::string& pattern : patterns) {
    if (pattern.find_first_of("[*?") == std::string::npos) {
      if (const ParamInfo* info = Lookup(pattern)) add(pattern, info->param);
      continue;
    }
    for (const ParamInfo& info : kParams) {
      if (engine::GlobMatch(pattern, info.name)) add(std::string(info.name), info.param);
    }
  }
  return out;
}

Status ServerConfig::Set(std::span<const std::string> name_values) {
  // First the names, in order (Redis's configSetCommand): the first unknown, immutable or
  // repeated one is the error.
  std::vector<const ParamInfo*> params;
  for (std::size_t i = 0; i + 1 < name_values.size(); i += 2) {
    const std::string& name = name_values[i];
    const ParamInfo* info = Lookup(name);
    if (info == nullptr) {
      return Status::InvalidArgument("Unknown option or number of arguments for CONFIG SET - '" +
                                     name + "'");
    }
    if (!info->live) {
      return Status::InvalidArgument(SetFailed(name, "can't set immutable config"));
    }
    if (std::find(params.begin(), params.end(), info) != params.end()) {
      return Status::InvalidArgument(SetFailed(name, "duplicate parameter"));
    }
    params.push_back(info);
  }
  // Then every value, before anything is applied.
  struct Parsed {
    std::optional<std::uint32_t> idle_timeout_s;
    std::optional<std::uint32_t> max_clients;
    std::optional<std::uint64_t> max_bulk_bytes;
    std::optional<std::uint64_t> max_query_buffer;
    std::optional<bool> protected_mode;
    std::optional<std::string> requirepass;
  } parsed;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string& value = name_values[2 * i + 1];
    std::optional<std::string> error;
    std::int64_t integer = 0;
    std::uint64_t bytes = 0;
    switch (params[i]->param) {
      case Param::kTimeout:
        error = ParseInteger(value, 0, std::numeric_limits<std::int32_t>::max(), &integer);
        if (!error) parsed.idle_timeout_s = static_cast<std::uint32_t>(integer);
        break;
      case Param::kMaxclients:
        error = ParseInteger(value, 1, std::numeric_limits<std::uint32_t>::max(), &integer);
        if (!error) parsed.max_clients = static_cast<std::uint32_t>(integer);
        break;
      case Param::kProtoMaxBulkLen:
        error = ParseMemoryParam(value, &bytes);
        if (!error) parsed.max_bulk_bytes = bytes;
        break;
      case Param::kClientQueryBufferLimit:
        error = ParseMemoryParam(value, &bytes);
        if (!error) parsed.max_query_buffer = bytes;
        break;
      case Param::kProtectedMode:
        if (EqualsIgnoreCase(value, "yes")) {
          parsed.protected_mode = true;
        } else if (EqualsIgnoreCase(value, "no")) {
          parsed.protected_mode = false;
        } else {
          error = "argument must be 'yes' or 'no'";
        }
        break;
      case Param::kRequirepass:
        parsed.requirepass = value;
        break;
      default:  // immutable: refused above
        break;
    }
    if (error) return Status::InvalidArgument(SetFailed(params[i]->name, *error));
  }
  MutexLock lock(&set_mu_);
  if (parsed.idle_timeout_s) idle_timeout_s_.store(*parsed.idle_timeout_s);
  if (parsed.max_clients) max_clients_.store(*parsed.max_clients);
  if (parsed.max_bulk_bytes) max_bulk_bytes_.store(*parsed.max_bulk_bytes);
  if (parsed.max_query_buffer) max_query_buffer_.store(*parsed.max_query_buffer);
  if (parsed.protected_mode) protected_mode_.store(*parsed.protected_mode);
  if (parsed.requirepass) {
    MutexLock password_lock(&password_mu_);
    requirepass_ = *parsed.requirepass;
    password_required_.store(!requirepass_.empty(), std::memory_order_release);
  }
  return Status::Ok();
}

}  // namespace herald::net
