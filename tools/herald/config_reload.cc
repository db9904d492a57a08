#include "tools/herald/config_reload.h"

#include <spdlog/spdlog.h>

#include "handlers/handler_config.h"
#include "tools/herald/config.h"

namespace herald::tools {

Result<std::string> ConfigReloader::Reload() {
  MutexLock lock(&mu_);
  if (config_file_.empty()) {
    return Status::InvalidArgument(
        "herald was started without --config: there is no file to reload");
  }
  // The whole file is checked before anything changes.
  HeraldConfig server;
  if (Status status = LoadConfigFile(config_file_, &server); !status.ok()) {
    return Status::InvalidArgument("config: " + status.message());
  }
  engine::EngineConfig engine;
  if (Status status = engine::LoadEngineConfig(config_file_, &engine); !status.ok()) {
    return Status::InvalidArgument("config: " + status.message());
  }
  handlers::HandlersConfig handlers;
  handlers.data_dir = data_dir_;
  Status loaded = handlers::LoadHandlersConfig(config_file_, &handlers);
  if (loaded.ok()) loaded = handlers::ValidateHandlersConfig(handlers);
  if (!loaded.ok()) return Status::InvalidArgument("config: " + loaded.message());
  auto templates = handlers::TemplateSet::Create(handlers.templates, handlers.templates_dir);
  if (!templates.ok()) return Status::InvalidArgument("templates: " + templates.status().message());

  HERALD_RETURN_IF_ERROR(broker_->Reconfigure(engine.queues, engine.events));
  if (templates_) templates_->Replace(std::move(*templates));
  std::string summary = std::to_string(engine.queues.size()) + " queue policies, " +
                        std::to_string(engine.events.size()) + " event types and the templates" +
                        " from " + config_file_;
  spdlog::info("config reloaded: {}", summary);
  return summary;
}

}  // namespace herald::tools
