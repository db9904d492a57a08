// ServerOptions: how the RESP server listens and what it accepts, as it starts. Some of them
// can change while it runs (CONFIG SET): ServerConfig (server_config.h) holds the live values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace herald::net {

struct ServerOptions {
  // Default: 127.0.0.1.
  std::string bind = "127.0.0.1";
  // 0 picks a free port (see RespServer::port()). Default: 6380.
  std::uint16_t port = 6380;
  // I/O threads. Default: 0 = the number of cores.
  std::uint32_t io_threads = 0;
  // Password for AUTH; "" = none. Default: none.
  std::string requirepass;
  // Without a password, refuse clients that connect from other than the loopback interface
  // (Redis's protected-mode). Default: true.
  bool protected_mode = true;
  // Connections beyond this are refused with "-ERR max number of clients reached". Default: 10000.
  std::uint32_t max_clients = 10000;
  // Largest bulk string accepted (proto-max-bulk-len). Default: 512 MiB.
  std::uint64_t max_bulk_bytes = 512ULL << 20;
  // Most arguments in one command. Default: 1048576.
  std::uint64_t max_args = 1 << 20;
  // Unparsed input held per client (client-query-buffer-limit). Default: 1 GiB.
  std::uint64_t max_query_buffer = 1ULL << 30;
  // Close clients idle this long; 0 = never. Default: 0.
  std::uint32_t idle_timeout_s = 0;
  // Reported by INFO and CONFIG GET. Default: "everysec".
  std::string fsync_mode = "everysec";
};

// Whether a bind address is the loopback interface only: "localhost", or an IPv4 address in
// 127.0.0.0/8 or ::1 (a non-loopback bind needs a password, unless protected mode is off).
bool IsLoopbackBind(std::string_view bind);

}  // namespace herald::net
