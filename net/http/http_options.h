// HttpOptions: how the HTTP server listens and what it accepts. The password and protected mode
// are the RESP server's (ServerConfig, live under CONFIG SET); these are HTTP's own.
#pragma once

#include <cstdint>
#include <string>

namespace herald::net::http {

struct HttpOptions {
  // Default: 127.0.0.1.
  std::string bind = "127.0.0.1";
  // 0 picks a free port (see HttpServer::port()). Default: 8080.
  std::uint16_t port = 8080;
  // Connections beyond this are answered 503 and closed. Default: 1024.
  std::uint32_t max_connections = 1024;
  // Request line and header fields together, in bytes; more is 413. Default: 16 KiB.
  std::uint32_t header_limit = 16 << 10;
  // Request body, in bytes; more is 413 (before the body is read). Default: 8 MiB.
  std::uint64_t body_limit = 8ULL << 20;
  // From a request's first header byte to the end of its body; a slower client is dropped.
  // Default: 30 s.
  std::uint32_t request_timeout_ms = 30000;
  // A kept-alive connection with no request for this long is closed. Default: 60 s.
  std::uint32_t idle_timeout_ms = 60000;
  // Server-Sent Events: how often a client is sent what is new, and how long a write to it
  // may take before the client counts as not reading and is dropped. Default: 250 ms, 5 s.
  std::uint32_t stream_tick_ms = 250;
  std::uint32_t stream_stall_ms = 5000;
  // A second password that may read everything and change nothing (403); only meaningful with
  // requirepass set. "" = none. Default: none.
  std::string readonly_password;
};

}  // namespace herald::net::http
