// ServerConfig: the RESP server's configuration as CONFIG GET and CONFIG SET see it. It starts
// from ServerOptions. The parameters that can change while the server runs — timeout,
// maxclients, requirepass, protected-mode, proto-max-bulk-len, client-query-buffer-limit — are
// read from here whenever they are needed (each new value holds from the next command, read or
// accepted connection); the others keep the value the server started with, and CONFIG SET
// refuses them as Redis refuses an immutable parameter.
//
// Thread safety: thread-safe. Reading a live value takes no lock (atomics; the password sits
// behind a mutex, with an atomic saying whether one is set). CONFIG SETs are serialised.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "net/server_options.h"

namespace herald::net {

class ServerConfig {
 public:
  explicit ServerConfig(ServerOptions options);

  // The options as the server started; the fields of the live parameters may be out of date
  // (read them with the accessors below).
  const ServerOptions& initial() const { return initial_; }

  // Live parameters.
  std::uint32_t idle_timeout_s() const { return idle_timeout_s_.load(std::memory_order_relaxed); }
  std::uint32_t max_clients() const { return max_clients_.load(std::memory_order_relaxed); }
  std::uint64_t max_bulk_bytes() const { return max_bulk_bytes_.load(std::memory_order_relaxed); }
  std::uint64_t max_query_buffer() const {
    return max_query_buffer_.load(std::memory_order_relaxed);
  }
  bool protected_mode() const { return protected_mode_.load(std::memory_order_relaxed); }
  // Whether a password is set (clients must then authenticate).
  bool password_required() const { return password_required_.load(std::memory_order_acquire); }
  std::string requirepass() const EXCLUDES(password_mu_);
  // Whether `password` is the password; any is when none is set (Redis's "nopass" default user).
  bool CheckPassword(std::string_view password) const EXCLUDES(password_mu_);

  // CONFIG GET pattern [pattern ...]: (name, value) of every parameter matched, each once, in
  // the order first matched. As Redis 7, a pattern without glob characters names a parameter
  // case-insensitively (and is answered with the name as given); a glob pattern matches names
  // case-sensitively. `port` is the port the server listens on.
  std::vector<std::pair<std::string, std::string>> Get(std::span<const std::string> patterns,
                                                       std::uint16_t port) const;
  // Every parameter's name (CONFIG GET * lists them all).
  static std::vector<std::string_view> Names();

  // CONFIG SET name value [name value ...] (`name_values` holds the pairs): every pair is
  // applied or none is. InvalidArgument with Redis 7's message (without "ERR "): "Unknown option
  // or number of arguments for CONFIG SET - 'x'", or "CONFIG SET failed (possibly related to
  // argument 'x') - <why>" for an immutable or repeated parameter or a bad value ("argument
  // couldn't be parsed into an integer", "argument must be between A and B inclusive",
  // "argument must be a memory value", "argument must be 'yes' or 'no'"). The caller checks
  // that the pairs are pairs.
  Status Set(std::span<const std::string> name_values) EXCLUDES(set_mu_, password_mu_);

 private:
  const ServerOptions initial_;
  std::atomic<std::uint32_t> idle_timeout_s_;
  std::atomic<std::uint32_t> max_clients_;
  std::atomic<std::uint64_t> max_bulk_bytes_;
  std::atomic<std::uint64_t> max_query_buffer_;
  std::atomic<bool> protected_mode_;
  std::atomic<bool> password_required_;
  mutable Mutex password_mu_;
  std::string requirepass_ GUARDED_BY(password_mu_);
  Mutex set_mu_;  // one CONFIG SET at a time, so that concurrent ones do not interleave
};

}  // namespace herald::net
