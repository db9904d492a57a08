// ConfigReloader: a config reload (SIGHUP, RELOAD, `herald reload`). Reads the TOML file the
// server started with again and, when all of it is valid, gives the broker its queue policies,
// routes and event contracts and the handlers their templates (engine::Broker::Reconfigure,
// handlers::LiveTemplates). An invalid file is refused with the reason, and the running
// configuration is kept as a whole. What is read only at start — ports, the data directory,
// fsync, workers, the handlers' providers (SMTP, webhook, FCM) — needs a restart.
//
// Thread safety: thread-safe (one reload at a time). Lifetime: `broker` and `templates` must
// outlive it.
#pragma once

#include <memory>
#include <string>

#include "common/mutex.h"
#include "common/status.h"
#include "engine/broker.h"
#include "handlers/templates.h"

namespace herald::tools {

class ConfigReloader {
 public:
  // `config_file` "" (started without --config): Reload refuses, saying so.
  ConfigReloader(std::string config_file, std::string data_dir, engine::Broker* broker,
                 std::shared_ptr<handlers::LiveTemplates> templates)
      : config_file_(std::move(config_file)),
        data_dir_(std::move(data_dir)),
        broker_(broker),
        templates_(std::move(templates)) {}

  // InvalidArgument naming the file's problem; the running configuration is then unchanged.
  // Returns what was loaded, for the log and the RELOAD reply, on success.
  Result<std::string> Reload();

 private:
  const std::string config_file_;
  const std::string data_dir_;
  engine::Broker* const broker_;
  const std::shared_ptr<handlers::LiveTemplates> templates_;
  Mutex mu_;
};

}  // namespace herald::tools
