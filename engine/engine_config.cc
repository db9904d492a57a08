#include "engine/engine_config.h"

#include <toml++/toml.h>

#include "engine/toml_values.h"

namespace herald::engine {
namespace {

constexpr std::int64_t kMaxEventQueueCapacity = 16777216;

Status Bad(const std::string& source, const std::string& key, const std::string& problem) {
  return Status::InvalidArgument(source + ": " + key + " " + problem);
}

Status ApplyQueue(const std::string& source, const std::string& name, const toml::table& table,
                  QueuePolicy* policy) {
  const std::string where = source + ": queues." + name;
  HERALD_RETURN_IF_ERROR(ReadTomlInt(table, "attempts", where, 1, 1000000, &policy->max_attempts));
  if (const toml::node* node = table.get("backoff")) {
    auto type = node->value<std::string>();
    if (!type) return Status::InvalidArgument(where + ".backoff must be a string");
    auto parsed = storage::ParseBackoffType(*type);
    if (!parsed.ok()) {
      return Status::InvalidArgument(where + ".backoff must be fixed or exponential, not '" +
                                     *type + "'");
    }
    policy->backoff_type = parsed.value();
  }
  HERALD_RETURN_IF_ERROR(
      ReadTomlInt(table, "backoff_delay_ms", where, 0, kMaxLeaseMs, &policy->backoff_ms));
  HERALD_RETURN_IF_ERROR(ReadTomlInt(table, "concurrency", where, 0, 100000, &policy->concurrency));
  HERALD_RETURN_IF_ERROR(
      ReadTomlInt(table, "timeout_ms", where, 1, kMaxLeaseMs, &policy->timeout_ms));
  HERALD_RETURN_IF_ERROR(
      ReadTomlInt(table, "lease_ms", where, kMinLeaseMs, kMaxLeaseMs, &policy->lease_ms));
  constexpr std::int64_t kMaxKeep = 1'000'000'000;
  constexpr std::int64_t kMaxKeepAgeMs = 3650LL * 24 * 3600 * 1000;  // ten years
  HERALD_RETURN_IF_ERROR(
      ReadTomlInt(table, "keep_completed", where, 0, kMaxKeep, &policy->keep_completed));
  HERALD_RETURN_IF_ERROR(ReadTomlInt(table, "keep_completed_age_ms", where, 0, kMaxKeepAgeMs,
                                     &policy->keep_completed_age_ms));
  HERALD_RETURN_IF_ERROR(
      ReadTomlInt(table, "keep_failed", where, 0, kMaxKeep, &policy->keep_failed));
  HERALD_RETURN_IF_ERROR(ReadTomlInt(table, "keep_failed_age_ms", where, 0, kMaxKeepAgeMs,
                                     &policy->keep_failed_age_ms));
  if (const toml::node* node = table.get("rate_limit")) {
    const toml::table* limit = node->as_table();
    if (limit == nullptr) {
      return Status::InvalidArgument(where + ".rate_limit must be a table {max, duration_ms}");
    }
    std::int64_t max = 0, duration = 0;
    HERALD_RETURN_IF_ERROR(ReadTomlInt(*limit, "max", where + ".rate_limit", 1, 1000000000, &max));
    HERALD_RETURN_IF_ERROR(
        ReadTomlInt(*limit, "duration_ms", where + ".rate_limit", 1, kMaxLeaseMs, &duration));
    if (max == 0 || duration == 0) {
      return Status::InvalidArgument(where + ".rate_limit needs both max and duration_ms");
    }
    policy->rate_max = static_cast<std::uint32_t>(max);
    policy->rate_duration_ms = duration;
  }
  return Status::Ok();
}

Status ApplyTable(const toml::table& root, const std::string& source, EngineConfig* config) {
  if (const toml::table* engine = root["engine"].as_table()) {
    HERALD_RETURN_IF_ERROR(ReadTomlInt(*engine, "shutdown_grace_ms", source + ": engine", 0,
                                       kMaxLeaseMs, &config->shutdown_grace_ms));
    HERALD_RETURN_IF_ERROR(ReadTomlInt(*engine, "handler_grace_ms", source + ": engine", 100,
                                       kMaxLeaseMs, &config->handler_grace_ms));
    HERALD_RETURN_IF_ERROR(ReadTomlInt(*engine, "completed_retention", source + ": engine", 0,
                                       100000000, &config->completed_retention));
    HERALD_RETURN_IF_ERROR(ReadTomlInt(*engine, "event_queue_capacity", source + ": engine", 1,
                                       kMaxEventQueueCapacity, &config->event_queue_capacity));
    HERALD_RETURN_IF_ERROR(
        ReadTomlInt(*engine, "max_queues", source + ": engine", 1, 100000, &config->max_queues));
  }
  if (const toml::node* queues_node = root.get("queues")) {
    const toml::table* queues = queues_node->as_table();
    if (queues == nullptr) return Bad(source, "queues", "must be a table");
    for (const auto& [key, node] : *queues) {
      std::string name(key.str());
      HERALD_RETURN_IF_ERROR(ValidateQueueName(name).WithPrefix(source + ": queues." + name));
      const toml::table* table = node.as_table();
      if (table == nullptr) return Bad(source, "queues." + name, "must be a table");
      QueuePolicy* policy = nullptr;
      for (QueuePolicy& existing : config->queues) {
        if (existing.name == name) policy = &existing;
      }
      if (policy == nullptr) {
        config->queues.push_back(QueuePolicy{});
        policy = &config->queues.back();
        policy->name = name;
      }
      HERALD_RETURN_IF_ERROR(ApplyQueue(source, name, *table, policy));
    }
  }
  if (const toml::node* events_node = root.get("events")) {
    const toml::table* events = events_node->as_table();
    if (events == nullptr) return Bad(source, "events", "must be a table");
    for (const auto& [key, node] : *events) {
      std::string type(key.str());
      const std::string where = "events.\"" + type + "\"";
      const toml::table* table = node.as_table();
      if (table == nullptr) return Bad(source, where, "must be a table");
      EventContract contract;
      contract.event_type = type;
      auto queue = (*table)["queue"].value<std::string>();
      if (!queue) return Bad(source, where + ".queue", "is required (a queue name)");
      HERALD_RETURN_IF_ERROR(ValidateQueueName(*queue).WithPrefix(source + ": " + where));
      contract.queue = *queue;
      if (const toml::node* required = table->get("required")) {
        const toml::array* fields = required->as_array();
        if (fields == nullptr) return Bad(source, where + ".required", "must be an array");
        for (const toml::node& field : *fields) {
          auto name = field.value<std::string>();
          if (!name) return Bad(source, where + ".required", "must hold strings");
          contract.required_fields.push_back(*name);
        }
      }
      bool replaced = false;
      for (EventContract& existing : config->events) {
        if (existing.event_type == type) {
          existing = contract;
          replaced = true;
        }
      }
      if (!replaced) config->events.push_back(contract);
    }
  }
  // Every routed-to queue has a policy.
  for (const EventContract& contract : config->events) {
    if (FindPolicy(*config, contract.queue) == nullptr) {
      QueuePolicy policy;
      policy.name = contract.queue;
      config->queues.push_back(policy);
    }
  }
  return Status::Ok();
}

}  // namespace

Status LoadEngineConfigText(std::string_view toml_text, const std::string& source_name,
                            EngineConfig* config) {
  HERALD_ASSIGN_OR_RETURN(toml::table root, ParseToml(toml_text, source_name));
  return ApplyTable(root, source_name, config);
}

Status LoadEngineConfig(const std::string& path, EngineConfig* config) {
  HERALD_ASSIGN_OR_RETURN(toml::table root, ParseTomlFile(path));
  return ApplyTable(root, path, config);
}

const QueuePolicy* FindPolicy(const EngineConfig& config, std::string_view queue) {
  for (const QueuePolicy& policy : config.queues) {
    if (policy.name == queue) return &policy;
  }
  return nullptr;
}

}  // namespace herald::engine
