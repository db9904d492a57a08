#include "handlers/handler_config.h"

#include <toml++/toml.h>

#include <charconv>
#include <set>

#include "engine/toml_values.h"
#include "handlers/email_message.h"
#include "handlers/http_client.h"

namespace herald::handlers {
namespace {

Status Bad(const std::string& where, const std::string& problem) {
  return Status::InvalidArgument(where + " " + problem);
}

Status CheckKeys(const toml::table& table, const std::string& where,
                 std::initializer_list<std::string_view> known) {
  for (const auto& [key, node] : table) {
    bool found = false;
    for (std::string_view name : known) found = found || key.str() == name;
    if (!found) {
      std::string list;
      for (std::string_view name : known) list += (list.empty() ? "" : ", ") + std::string(name);
      return Bad(where + "." + std::string(key.str()), "is not a known key (" + list + ")");
    }
  }
  return Status::Ok();
}

using engine::ParseToml;
using engine::ParseTomlFile;
using engine::ReadTomlInt;
using engine::ReadTomlString;

Status ReadFaults(const toml::table& table, const std::string& where, FaultInjection* faults) {
  HERALD_RETURN_IF_ERROR(CheckKeys(table, where, {"fail_first", "fail_rate", "seed"}));
  HERALD_RETURN_IF_ERROR(ReadTomlInt(table, "fail_first", where, 0, 1000000, &faults->fail_first));
  if (const toml::node* node = table.get("fail_rate")) {
    auto rate = node->value<double>();  // integers convert too (fail_rate = 1)
    if (!rate || *rate < 0.0 || *rate > 1.0) {
      return Bad(where + ".fail_rate", "must be a number from 0 to 1");
    }
    faults->fail_rate = *rate;
  }
  HERALD_RETURN_IF_ERROR(ReadTomlInt(table, "seed", where, 0, INT64_MAX, &faults->seed));
  return Status::Ok();
}

Status ApplyHandlers(const toml::table& handlers, const std::string& source,
                     HandlersConfig* config) {
  const std::string where = source + ": handlers";
  HERALD_RETURN_IF_ERROR(
      CheckKeys(handlers, where,
                {"outbox_dir", "templates_dir", "queues", "smtp", "push", "tickets", "faults"}));
  HERALD_RETURN_IF_ERROR(ReadTomlString(handlers, "outbox_dir", where, &config->outbox_dir));
  HERALD_RETURN_IF_ERROR(ReadTomlString(handlers, "templates_dir", where, &config->templates_dir));
  if (const toml::node* node = handlers.get("queues")) {
    const toml::table* queues = node->as_table();
    if (queues == nullptr) return Bad(where + ".queues", "must be a table of queue = kind");
    for (const auto& [key, kind_node] : *queues) {
      auto kind = kind_node.value<std::string>();
      if (!kind) {
        return Bad(where + ".queues." + std::string(key.str()),
                   "must be a string (email, push or ticket)");
      }
      config->queues[std::string(key.str())] = *kind;
    }
  }
  if (const toml::node* node = handlers.get("smtp")) {
    const toml::table* smtp = node->as_table();
    const std::string at = where + ".smtp";
    if (smtp == nullptr) return Bad(at, "must be a table");
    HERALD_RETURN_IF_ERROR(CheckKeys(*smtp, at, {"host", "port", "from", "helo", "timeout_ms"}));
    HERALD_RETURN_IF_ERROR(ReadTomlString(*smtp, "host", at, &config->smtp.host));
    HERALD_RETURN_IF_ERROR(ReadTomlInt(*smtp, "port", at, 1, 65535, &config->smtp.port));
    HERALD_RETURN_IF_ERROR(ReadTomlString(*smtp, "from", at, &config->smtp.from));
    HERALD_RETURN_IF_ERROR(ReadTomlString(*smtp, "helo", at, &config->smtp.helo));
    HERALD_RETURN_IF_ERROR(
        ReadTomlInt(*smtp, "timeout_ms", at, 1, 3600000, &config->smtp.timeout_ms));
  }
  if (const toml::node* node = handlers.get("push")) {
    const toml::table* push = node->as_table();
    const std::string at = where + ".push";
    if (push == nullptr) return Bad(at, "must be a table");
    HERALD_RETURN_IF_ERROR(CheckKeys(*push, at, {"webhook_url", "timeout_ms"}));
    HERALD_RETURN_IF_ERROR(ReadTomlString(*push, "webhook_url", at, &config->push_webhook_url));
    HERALD_RETURN_IF_ERROR(
        ReadTomlInt(*push, "timeout_ms", at, 1, 3600000, &config->push_timeout_ms));
  }
  if (const toml::node* node = handlers.get("tickets")) {
    const toml::table* tickets = node->as_table();
    const std::string at = where + ".tickets";
    if (tickets == nullptr) return Bad(at, "must be a table");
    HERALD_RETURN_IF_ERROR(CheckKeys(*tickets, at, {"helpdesk_url", "timeout_ms"}));
    HERALD_RETURN_IF_ERROR(
        ReadTomlString(*tickets, "helpdesk_url", at, &config->helpdesk_webhook_url));
    HERALD_RETURN_IF_ERROR(
        ReadTomlInt(*tickets, "timeout_ms", at, 1, 3600000, &config->helpdesk_timeout_ms));
  }
  if (const toml::node* node = handlers.get("faults")) {
    const toml::table* faults = node->as_table();
    if (faults == nullptr) return Bad(where + ".faults", "must be a table of queue tables");
    for (const auto& [key, queue_node] : *faults) {
      const std::string at = where + ".faults." + std::string(key.str());
      const toml::table* table = queue_node.as_table();
      if (table == nullptr) return Bad(at, "must be a table {fail_first, fail_rate, seed}");
      HERALD_RETURN_IF_ERROR(ReadFaults(*table, at, &config->faults[std::string(key.str())]));
    }
  }
  return Status::Ok();
}

Status ApplyTemplates(const toml::table& templates, const std::string& source,
                      HandlersConfig* config) {
  for (const auto& [key, node] : templates) {
    const std::string event_type(key.str());
    const std::string where = source + ": templates.\"" + event_type + "\"";
    const toml::table* kinds = node.as_table();
    if (kinds == nullptr) return Bad(where, "must be a table of kind = template");
    for (const auto& [kind_key, source_node] : *kinds) {
      const std::string kind(kind_key.str());
      auto parsed = ParseTemplateKind(kind);
      if (!parsed.ok()) return Status::InvalidArgument(where + ": " + parsed.status().message());
      auto text = source_node.value<std::string>();
      if (!text) return Bad(where + "." + kind, "must be a string");
      config->templates[event_type][kind] = *text;
    }
  }
  return Status::Ok();
}

Status ApplyTable(const toml::table& root, const std::string& source, HandlersConfig* config) {
  if (const toml::table* server = root["server"].as_table()) {
    HERALD_RETURN_IF_ERROR(
        ReadTomlString(*server, "data_dir", source + ": server", &config->data_dir));
  }
  if (const toml::node* node = root.get("handlers")) {
    const toml::table* handlers = node->as_table();
    if (handlers == nullptr) return Bad(source + ": handlers", "must be a table");
    HERALD_RETURN_IF_ERROR(ApplyHandlers(*handlers, source, config));
  }
  if (const toml::node* node = root.get("templates")) {
    const toml::table* templates = node->as_table();
    if (templates == nullptr) return Bad(source + ": templates", "must be a table");
    HERALD_RETURN_IF_ERROR(ApplyTemplates(*templates, source, config));
  }
  return ValidateHandlersConfig(*config).WithPrefix(source);
}

}  // namespace

std::string HandlersConfig::OutboxDir() const {
  if (!outbox_dir.empty()) return outbox_dir;
  return (data_dir.empty() ? std::string(".") : data_dir) + "/outbox";
}

Status ValidateHandlersConfig(const HandlersConfig& config) {
  if (!IsPlausibleAddress(AddressOf(config.smtp.from))) {
    return Status::InvalidArgument("handlers.smtp.from '" + config.smtp.from +
                                   "' has no valid address");
  }
  if (config.smtp.helo.empty() || config.smtp.helo.find_first_of(" \t\r\n") != std::string::npos) {
    return Status::InvalidArgument("handlers.smtp.helo must be one word");
  }
  if (!config.push_webhook_url.empty()) {
    auto url = ParseHttpUrl(config.push_webhook_url);
    if (!url.ok()) return url.status().WithPrefix("handlers.push.webhook_url");
  }
  if (!config.helpdesk_webhook_url.empty()) {
    auto url = ParseHttpUrl(config.helpdesk_webhook_url);
    if (!url.ok()) return url.status().WithPrefix("handlers.tickets.helpdesk_url");
  }
  for (const auto& [queue, kind] : config.queues) {
    if (kind != "email" && kind != "push" && kind != "ticket" && kind != "noop") {
      return Status::InvalidArgument("handlers.queues." + queue + " is '" + kind +
                                     "'; it must be email, push, ticket or noop");
    }
  }
  for (const auto& [queue, faults] : config.faults) {
    if (faults.fail_rate < 0.0 || faults.fail_rate > 1.0) {
      return Status::InvalidArgument("handlers.faults." + queue +
                                     ".fail_rate must be a number from 0 to 1");
    }
  }
  return Status::Ok();
}

Status LoadHandlersConfigText(std::string_view toml_text, const std::string& source_name,
                              HandlersConfig* config) {
  HERALD_ASSIGN_OR_RETURN(toml::table root, ParseToml(toml_text, source_name));
  return ApplyTable(root, source_name, config);
}

Status LoadHandlersConfig(const std::string& path, HandlersConfig* config) {
  HERALD_ASSIGN_OR_RETURN(toml::table root, ParseTomlFile(path));
  return ApplyTable(root, path, config);
}

Status ApplyFaultSpec(std::string_view spec, HandlersConfig* config) {
  const std::string text(spec);
  auto bad = [&](const std::string& problem) {
    return Status::InvalidArgument("fault spec '" + text + "': " + problem +
                                   " (expected <queue>:first=N[,rate=R][,seed=S])");
  };
  const std::size_t colon = spec.find(':');
  if (colon == std::string_view::npos || colon == 0) return bad("no queue");
  const std::string queue(spec.substr(0, colon));
  FaultInjection faults = config->faults.count(queue) ? config->faults[queue] : FaultInjection{};
  std::string_view rest = spec.substr(colon + 1);
  if (rest.empty()) return bad("no settings");
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return bad("'" + std::string(item) + "' has no '='");
    const std::string_view name = item.substr(0, eq);
    const std::string value(item.substr(eq + 1));
    if (name == "first") {
      std::uint32_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size()) {
        return bad("first must be a whole number");
      }
      faults.fail_first = n;
    } else if (name == "rate") {
      char* end = nullptr;
      const double rate = std::strtod(value.c_str(), &end);
      if (value.empty() || end != value.c_str() + value.size() || rate < 0.0 || rate > 1.0) {
        return bad("rate must be a number from 0 to 1");
      }
      faults.fail_rate = rate;
    } else if (name == "seed") {
      std::uint64_t seed = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seed);
      if (ec != std::errc() || end != value.data() + value.size()) {
        return bad("seed must be a whole number");
      }
      faults.seed = seed;
    } else {
      return bad("unknown setting '" + std::string(name) + "'");
    }
  }
  config->faults[queue] = faults;
  return Status::Ok();
}

}  // namespace herald::handlers
