// libFuzzer target: the HTTP request path — request line, target (path, percent-escapes,
// query), headers, body framing and the routes behind them (API, events, bulk, metrics, the
// dashboard's pages and assets, the mock events; not the event stream, which stays open) —
// through Herald's HTTP server in this process, over a real
// broker on a store in a temp dir (tests/fuzz/README.md).
//
// Each input is written to a fresh loopback connection, which is then half-closed; the server
// must answer or close within the read timeout. Every 64 inputs a fresh connection must still
// get 200 from GET /healthz: the server neither died nor stopped serving.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/background_runner.h"
#include "common/clock.h"
#include "engine/broker.h"
#include "net/commands/builtin_commands.h"
#include "net/http/api_routes.h"
#include "net/http/dashboard_routes.h"
#include "net/http/http_server.h"
#include "net/http/queue_activity.h"
#include "net/http/router.h"
#include "net/http/stats_history.h"
#include "net/resp_server.h"
#include "net/server_state.h"
#include "storage/store.h"

namespace {

using namespace herald;

void Check(bool condition) {
  if (!condition) std::abort();
}

// The servers, built once per process and kept until it exits.
struct Servers {
  Servers() {
    dir = std::filesystem::temp_directory_path() /
          ("herald-http-fuzz-" + std::to_string(static_cast<long>(getpid())));
    std::filesystem::remove_all(dir);
    storage::StoreOptions store_options;
    store_options.data_dir = (dir / "db").string();
    store_options.fsync = storage::FsyncMode::kNo;
    store = std::move(storage::Store::Open(store_options)).value();
    broker = std::move(engine::Broker::Create(store.get(), engine::EngineConfig{}, &clock,
                                              spdlog::default_logger()))
                 .value();
    Check(broker->Start().ok());
    AddBuiltinCommandsOnce();
    net::ServerOptions options;
    options.port = 0;
    options.io_threads = 1;
    state =
        std::make_unique<net::ServerState>(broker.get(), &table, options, spdlog::default_logger());
    resp = std::make_unique<net::RespServer>(state.get(), spdlog::default_logger());
    Check(resp->Start().ok());
    Check(broker->events()
              .Subscribe([activity = &activity](const engine::JobEvent& e) { activity->Record(e); })
              .ok());
    api.state = state.get();
    api.activity = &activity;
    api.runner = &runner;
    api.mock_events = true;
    history = std::make_unique<net::http::StatsHistory>(&broker->records(), &activity, &clock);
    api.history = history.get();
    net::http::AddQueueRoutes(&router, &api);
    net::http::AddEventRoutes(&router, &api);
    net::http::AddBulkRoutes(&router, &api);
    net::http::AddMetricsRoutes(&router, &api);
    net::http::AddDashboardRoutes(&router);
    router.Freeze();
    net::http::HttpOptions http_options;
    http_options.port = 0;
    http_options.request_timeout_ms = 2000;
    http_options.idle_timeout_ms = 2000;
    http = std::make_unique<net::http::HttpServer>(state.get(), &router, http_options,
                                                   &resp->io_context(), spdlog::default_logger());
    api.http_stats = &http->stats();
    Check(http->Start().ok());
    // A few jobs, so that the routes that read them have something to show.
    for (const char* queue : {"emails", "notifications", "tickets"}) {
      Check(broker->Add(queue, "{\"eventType\":\"booking.created\"}", {}).ok());
    }
  }

  void AddBuiltinCommandsOnce() {
    net::AddBuiltinCommands(&table);
    std::string error;
    Check(table.Freeze(&error));
  }

  std::filesystem::path dir;
  SystemClock clock;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<engine::Broker> broker;
  net::CommandTable table;
  std::unique_ptr<net::ServerState> state;
  std::unique_ptr<net::RespServer> resp;
  net::http::QueueActivity activity;
  BackgroundRunner runner;
  std::unique_ptr<net::http::StatsHistory> history;
  net::http::ApiContext api;
  net::http::Router router;
  std::unique_ptr<net::http::HttpServer> http;
};

Servers& TheServers() {
  static Servers* servers = new Servers();  // never destroyed: the fuzzer exits with it
  return *servers;
}

// Sends `bytes` on a new connection, half-closes it and returns what came back before the
// server closed it (or the 5 s read timeout passed).
std::string Exchange(std::uint16_t port, std::string_view bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  Check(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  Check(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  for (std::size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server closed early (an error answer): fine
    sent += static_cast<std::size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  std::string out;
  char buffer[4096];
  for (;;) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::uint64_t runs = 0;
  Servers& servers = TheServers();
  const std::string answer =
      Exchange(servers.http->port(), std::string_view(reinterpret_cast<const char*>(data), size));
  // Whatever came back is HTTP (or nothing: a connection closed before a request was whole).
  Check(answer.empty() || answer.rfind("HTTP/1.1 ", 0) == 0);
  if (++runs % 64 == 0) {
    const std::string health = Exchange(
        servers.http->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    Check(health.rfind("HTTP/1.1 200", 0) == 0);
  }
  return 0;
}
