#include "handlers/handler_config.h"

#include <toml++/toml.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iterator>
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
using engine::ReadTomlBool;
using engine::ReadTomlInt;
using engine::ReadTomlString;

// A secret from the environment variable or the file named by `source`, the TOML value at
// `where`. The secret itself never appears in an error.
Status ResolveSecret(const toml::node& source, std::string_view how, const std::string& where,
                     std::string* secret) {
  auto name = source.value<std::string>();
  if (!name || name->empty()) return Bad(where, "must be a non-empty string");
  if (how == "env") {
    const char* value = std::getenv(name->c_str());
    if (value == nullptr) return Bad(where, "names " + *name + ", which is not set");
    *secret = value;
    return Status::Ok();
  }
  std::ifstream in(*name, std::ios::binary);
  if (!in) return Bad(where, "names " + *name + ", which cannot be read");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  *secret = std::move(text);
  return Status::Ok();
}

// `key`, `key_env` or `key_file`: at most one of them.
Status ReadSecret(const toml::table& table, const std::string& key, const std::string& where,
                  std::string* secret) {
  const toml::node* plain = table.get(key);
  const toml::node* env = table.get(key + "_env");
  const toml::node* file = table.get(key + "_file");
  if ((plain != nullptr) + (env != nullptr) + (file != nullptr) > 1) {
    return Bad(where + "." + key,
               "is given twice: set one of " + key + ", " + key + "_env, " + key + "_file");
  }
  if (plain != nullptr) return ReadTomlString(table, key, where, secret);
  if (env != nullptr) return ResolveSecret(*env, "env", where + "." + key + "_env", secret);
  if (file != nullptr) return ResolveSecret(*file, "file", where + "." + key + "_file", secret);
  return Status::Ok();
}

bool IsHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                    c == '.' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
                    c == '\'' || c == '*' || c == '+' || c == '^' || c == '`' || c == '|' ||
                    c == '~';
    if (!ok) return false;
  }
  return true;
}

Status ReadHeaders(const toml::table& table, const std::string& where, HttpHeaders* headers) {
  const toml::node* node = table.get("headers");
  if (node == nullptr) return Status::Ok();
  const toml::table* entries = node->as_table();
  const std::string at = where + ".headers";
  if (entries == nullptr) return Bad(at, "must be a table of name = value");
  for (const auto& [key, value_node] : *entries) {
    const std::string name(key.str());
    const std::string item = at + "." + name;
    if (!IsHeaderName(name)) return Bad(item, "is not a valid header name");
    std::string value;
    if (auto text = value_node.value<std::string>()) {
      value = *text;
    } else if (const toml::table* from = value_node.as_table()) {
      HERALD_RETURN_IF_ERROR(CheckKeys(*from, item, {"env", "file"}));
      if (from->size() != 1) return Bad(item, "must be { env = \"NAME\" } or { file = \"path\" }");
      for (const auto& [how, source] : *from) {
        HERALD_RETURN_IF_ERROR(
            ResolveSecret(source, how.str(), item + "." + std::string(how.str()), &value));
      }
    } else {
      return Bad(item, "must be a string, { env = \"NAME\" } or { file = \"path\" }");
    }
    if (value.find_first_of("\r\n") != std::string::npos) {
      return Bad(item, "must be one line");
    }
    headers->emplace_back(name, std::move(value));
  }
  return Status::Ok();
}

Status ReadWebhook(const toml::table& table, const std::string& where, std::string_view url_key,
                   WebhookConfig* webhook) {
  HERALD_RETURN_IF_ERROR(CheckKeys(table, where,
                                   {url_key, "timeout_ms", "headers", "secret", "secret_env",
                                    "secret_file", "ca_file", "insecure"}));
  HERALD_RETURN_IF_ERROR(ReadTomlString(table, url_key, where, &webhook->url));
  HERALD_RETURN_IF_ERROR(ReadTomlInt(table, "timeout_ms", where, 1, 3600000, &webhook->timeout_ms));
  HERALD_RETURN_IF_ERROR(ReadHeaders(table, where, &webhook->headers));
  HERALD_RETURN_IF_ERROR(ReadSecret(table, "secret", where, &webhook->secret));
  HERALD_RETURN_IF_ERROR(ReadTomlString(table, "ca_file", where, &webhook->ca_file));
  HERALD_RETURN_IF_ERROR(ReadTomlBool(table, "insecure", where, &webhook->insecure));
  return Status::Ok();
}

Status ReadSmtp(const toml::table& smtp, const std::string& at, SmtpRelayConfig* config) {
  HERALD_RETURN_IF_ERROR(
      CheckKeys(smtp, at,
                {"host", "port", "from", "helo", "timeout_ms", "tls", "username", "password",
                 "password_env", "password_file", "auth", "ca_file", "insecure", "idle_s"}));
  HERALD_RETURN_IF_ERROR(ReadTomlString(smtp, "host", at, &config->host));
  HERALD_RETURN_IF_ERROR(ReadTomlInt(smtp, "port", at, 1, 65535, &config->port));
  HERALD_RETURN_IF_ERROR(ReadTomlString(smtp, "from", at, &config->from));
  HERALD_RETURN_IF_ERROR(ReadTomlString(smtp, "helo", at, &config->helo_name));
  std::int64_t timeout_ms = config->timeout.count();
  HERALD_RETURN_IF_ERROR(ReadTomlInt(smtp, "timeout_ms", at, 1, 3600000, &timeout_ms));
  config->timeout = std::chrono::milliseconds(timeout_ms);
  std::string tls;
  HERALD_RETURN_IF_ERROR(ReadTomlString(smtp, "tls", at, &tls));
  if (tls == "none") {
    config->tls = SmtpTls::kNone;
  } else if (tls == "starttls") {
    config->tls = SmtpTls::kStartTls;
  } else if (tls == "implicit") {
    config->tls = SmtpTls::kImplicit;
  } else if (!tls.empty()) {
    return Bad(at + ".tls", "is '" + tls + "'; it must be none, starttls or implicit");
  }
  HERALD_RETURN_IF_ERROR(ReadTomlString(smtp, "username", at, &config->username));
  HERALD_RETURN_IF_ERROR(ReadSecret(smtp, "password", at, &config->password));
  std::string auth;
  HERALD_RETURN_IF_ERROR(ReadTomlString(smtp, "auth", at, &auth));
  if (auth == "auto") {
    config->auth = SmtpAuth::kAuto;
  } else if (auth == "plain") {
    config->auth = SmtpAuth::kPlain;
  } else if (auth == "login") {
    config->auth = SmtpAuth::kLogin;
  } else if (!auth.empty()) {
    return Bad(at + ".auth", "is '" + auth + "'; it must be auto, plain or login");
  }
  HERALD_RETURN_IF_ERROR(ReadTomlString(smtp, "ca_file", at, &config->ca_file));
  HERALD_RETURN_IF_ERROR(ReadTomlBool(smtp, "insecure", at, &config->insecure));
  std::int64_t idle_s = config->idle.count();
  HERALD_RETURN_IF_ERROR(ReadTomlInt(smtp, "idle_s", at, 1, 3600, &idle_s));
  config->idle = std::chrono::seconds(idle_s);
  return Status::Ok();
}

Status ReadFcm(const toml::table& table, const std::string& at, FcmConfig* fcm) {
  HERALD_RETURN_IF_ERROR(
      CheckKeys(table, at,
                {"service_account", "service_account_env", "service_account_file", "project_id",
                 "token_url", "send_url", "timeout_ms", "ca_file", "insecure"}));
  HERALD_RETURN_IF_ERROR(ReadSecret(table, "service_account", at, &fcm->service_account));
  HERALD_RETURN_IF_ERROR(ReadTomlString(table, "project_id", at, &fcm->project_id));
  HERALD_RETURN_IF_ERROR(ReadTomlString(table, "token_url", at, &fcm->token_url));
  HERALD_RETURN_IF_ERROR(ReadTomlString(table, "send_url", at, &fcm->send_url));
  HERALD_RETURN_IF_ERROR(ReadTomlInt(table, "timeout_ms", at, 1, 3600000, &fcm->timeout_ms));
  HERALD_RETURN_IF_ERROR(ReadTomlString(table, "ca_file", at, &fcm->ca_file));
  HERALD_RETURN_IF_ERROR(ReadTomlBool(table, "insecure", at, &fcm->insecure));
  return Status::Ok();
}

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
  HERALD_RETURN_IF_ERROR(CheckKeys(
      handlers, where,
      {"outbox_dir", "templates_dir", "queues", "smtp", "push", "fcm", "tickets", "faults"}));
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
    HERALD_RETURN_IF_ERROR(ReadSmtp(*smtp, at, &config->smtp));
  }
  if (const toml::node* node = handlers.get("push")) {
    const toml::table* push = node->as_table();
    const std::string at = where + ".push";
    if (push == nullptr) return Bad(at, "must be a table");
    HERALD_RETURN_IF_ERROR(ReadWebhook(*push, at, "webhook_url", &config->push));
  }
  if (const toml::node* node = handlers.get("fcm")) {
    const toml::table* fcm = node->as_table();
    const std::string at = where + ".fcm";
    if (fcm == nullptr) return Bad(at, "must be a table");
    HERALD_RETURN_IF_ERROR(ReadFcm(*fcm, at, &config->fcm));
  }
  if (const toml::node* node = handlers.get("tickets")) {
    const toml::table* tickets = node->as_table();
    const std::string at = where + ".tickets";
    if (tickets == nullptr) return Bad(at, "must be a table");
    HERALD_RETURN_IF_ERROR(ReadWebhook(*tickets, at, "helpdesk_url", &config->helpdesk));
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

HttpPosterOptions PosterOptionsOf(const WebhookConfig& webhook, Clock* clock) {
  HttpPosterOptions options;
  options.headers = webhook.headers;
  options.signing_secret = webhook.secret;
  options.ca_file = webhook.ca_file;
  options.insecure = webhook.insecure;
  options.clock = clock;
  return options;
}

Result<std::unique_ptr<FcmClient>> FcmClientOf(const FcmConfig& fcm, Clock* clock) {
  FcmOptions options;
  HERALD_ASSIGN_OR_RETURN(options.account, ParseServiceAccount(fcm.service_account));
  options.project_id = fcm.project_id;
  options.token_url = fcm.token_url;
  options.send_url = fcm.send_url;
  options.ca_file = fcm.ca_file;
  options.insecure = fcm.insecure;
  options.clock = clock;
  return FcmClient::Create(std::move(options));
}

std::string HandlersConfig::OutboxDir() const {
  if (!outbox_dir.empty()) return outbox_dir;
  return (data_dir.empty() ? std::string(".") : data_dir) + "/outbox";
}

Status ValidateHandlersConfig(const HandlersConfig& config) {
  if (!IsPlausibleAddress(AddressOf(config.smtp.from))) {
    return Status::InvalidArgument("handlers.smtp.from '" + config.smtp.from +
                                   "' has no valid address");
  }
  if (config.smtp.helo_name.empty() ||
      config.smtp.helo_name.find_first_of(" \t\r\n") != std::string::npos) {
    return Status::InvalidArgument("handlers.smtp.helo must be one word");
  }
  if (!config.push.url.empty()) {
    auto url = ParseHttpUrl(config.push.url);
    if (!url.ok()) return url.status().WithPrefix("handlers.push.webhook_url");
  }
  if (!config.helpdesk.url.empty()) {
    auto url = ParseHttpUrl(config.helpdesk.url);
    if (!url.ok()) return url.status().WithPrefix("handlers.tickets.helpdesk_url");
  }
  if (config.fcm.enabled()) {
    // The whole client is built once here so that a bad key or URL stops startup.
    auto client = FcmClientOf(config.fcm, nullptr);
    if (!client.ok()) return client.status().WithPrefix("handlers.fcm");
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
