// libFuzzer target: the TOML configuration — the [server], [engine], [queues.*], [events.*] and
// [handlers.*] tables as the herald binary reads them (tests/fuzz/README.md).
//
// Checked beyond "no crash, no sanitizer report": a refused file says where and what; an
// accepted engine config has valid queue policies (attempts >= 1).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/engine_config.h"
#include "handlers/handler_config.h"
#include "tools/herald/config.h"

namespace {

using namespace herald;

void Check(bool condition) {
  if (!condition) std::abort();
}

// The server table is read from a file, as the binary reads it: one file per process.
const std::string& ConfigPath() {
  static const std::string path =
      "/dev/shm/herald-config-fuzz-" + std::to_string(static_cast<long>(getpid())) + ".toml";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  engine::EngineConfig engine_config;
  Status engine = engine::LoadEngineConfigText(text, "fuzz.toml", &engine_config);
  if (engine.ok()) {
    for (const engine::QueuePolicy& policy : engine_config.queues) Check(policy.max_attempts >= 1);
  } else {
    Check(engine.message().find("fuzz.toml") != std::string::npos);
  }
  handlers::HandlersConfig handlers_config;
  Status handlers = handlers::LoadHandlersConfigText(text, "fuzz.toml", &handlers_config);
  if (!handlers.ok()) Check(!handlers.message().empty());

  if (std::FILE* file = std::fopen(ConfigPath().c_str(), "wb")) {
    std::fwrite(data, 1, size, file);
    std::fclose(file);
    tools::HeraldConfig server;
    Status loaded = tools::LoadConfigFile(ConfigPath(), &server);
    if (loaded.ok()) {
      (void)tools::ValidateConfig(server);
    } else {
      Check(!loaded.message().empty());
    }
  }
  return 0;
}
