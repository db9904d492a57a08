#include "tools/herald/admin.h"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <utility>

#include "net/client/client.h"
#include "tools/herald/tool_support.h"

namespace herald::tools {
namespace {

namespace json = boost::json;
using client::Client;
using resp::Reply;

// Field name -> value, in the server's order.
using Fields = std::vector<std::pair<std::string, std::string>>;

std::string Text(const Reply& reply) {
  if (reply.is_string() || reply.is_error()) return reply.str;
  if (reply.type == resp::ReplyType::kInteger) return std::to_string(reply.integer);
  if (reply.is_null()) return "";
  if (reply.type == resp::ReplyType::kArray) return std::to_string(reply.elements.size());
  return reply.ToString();
}

// A RESP2 field/value array (or a RESP3 map) as fields.
Fields FieldsOf(const Reply& reply) {
  Fields fields;
  if (reply.type == resp::ReplyType::kMap) {
    for (const resp::ReplyEntry& entry : reply.pairs) {
      fields.emplace_back(Text(entry.first), Text(entry.second));
    }
    return fields;
  }
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    fields.emplace_back(Text(reply.elements[i]), Text(reply.elements[i + 1]));
  }
  return fields;
}

std::string Field(const Fields& fields, std::string_view name) {
  for (const auto& [key, value] : fields) {
    if (key == name) return value;
  }
  return {};
}

// "2026-12-03 10:00:00" (UTC) for a ms time; "-" for 0.
std::string Time(const std::string& ms_text) {
  const long long ms = std::atoll(ms_text.c_str());
  if (ms <= 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &tm);
  return buffer;
}

std::string Cut(std::string text, std::size_t width) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (text.size() > width) text = text.substr(0, width - 3) + "...";
  return text;
}

void PrintJson(std::FILE* out, const json::value& value) {
  std::fprintf(out, "%s\n", json::serialize(value).c_str());
}

// A reply as JSON: field/value arrays of SHOW's history as objects, numbers kept as text as
// the other fields are.
json::value JsonOf(const Reply& reply) {
  if (reply.type != resp::ReplyType::kArray) return json::string(Text(reply));
  json::array list;
  for (const Reply& element : reply.elements) {
    if (element.type == resp::ReplyType::kArray) {
      json::object object;
      for (const auto& [key, value] : FieldsOf(element)) object[key] = value;
      list.push_back(std::move(object));
    } else {
      list.push_back(json::string(Text(element)));
    }
  }
  return list;
}

json::object ObjectOf(const Fields& fields) {
  json::object object;
  for (const auto& [key, value] : fields) object[key] = value;
  return object;
}

class Admin {
 public:
  Admin(const AdminFlags& flags, std::FILE* out, std::FILE* err)
      : flags_(flags), out_(out), err_(err) {}

  int Run() {
    int code = 0;
    client_ = ConnectTool("admin", flags_.connect, flags_.password, err_, &code);
    if (!client_) return code;
    const std::string& action = flags_.action;
    const std::size_t n = flags_.args.size();
    if (action == "stats" && n == 0) return Stats();
    if (action == "queues" && n == 0) return Queues();
    if (action == "jobs" && n == 2) return Jobs(flags_.args[0], flags_.args[1]);
    if (action == "show" && n == 1) return Show(flags_.args[0]);
    if (action == "retry" && n >= 1) return Retry();
    if ((action == "pause" || action == "resume") && n == 1) return PauseOrResume(action);
    if (action == "clean" && n == 2) return Clean(flags_.args[0], flags_.args[1]);
    return Usage("'" + action + "' with " + std::to_string(n) + " argument(s) is not an action" +
                 " (stats, queues, jobs QUEUE STATE, show ID, retry QUEUE [ID ...], pause QUEUE," +
                 " resume QUEUE, clean QUEUE STATE)");
  }

 private:
  int Usage(const std::string& message) {
    std::fprintf(err_, "herald admin: %s\n", message.c_str());
    return 2;
  }

  int Refused(const std::string& message) {
    std::fprintf(err_, "herald admin: %s\n", message.c_str());
    return 1;
  }

  // Runs a command; false (and the error printed) when the exchange or the server failed.
  bool Call(const std::vector<std::string>& args, Reply* reply) {
    std::optional<Reply> result = CallTool(*client_, "admin", args, err_, &failed_);
    if (!result) return false;
    *reply = std::move(*result);
    return true;
  }

  std::vector<Fields> QueueStats(std::vector<std::string>* names) {
    std::vector<Fields> stats;
    Reply queues;
    if (!Call({"QUEUES"}, &queues)) return stats;
    for (const Reply& name : queues.elements) names->push_back(Text(name));
    std::sort(names->begin(), names->end());
    for (const std::string& name : *names) {
      Reply stat;
      if (!Call({"QSTAT", name}, &stat)) return {};
      stats.push_back(FieldsOf(stat));
    }
    return stats;
  }

  int Queues() {
    std::vector<std::string> names;
    std::vector<Fields> stats = QueueStats(&names);
    if (failed_ != 0) return failed_;
    if (flags_.json) {
      json::array list;
      for (const Fields& fields : stats) list.push_back(ObjectOf(fields));
      PrintJson(out_, list);
      return 0;
    }
    std::vector<Row> rows;
    for (const Fields& f : stats) {
      rows.push_back({Field(f, "name"), Field(f, "waiting"), Field(f, "active"),
                      Field(f, "delayed"), Field(f, "completed"), Field(f, "failed"),
                      Field(f, "paused") == "1" ? "yes" : "no",
                      Field(f, "attempts") + " x " + Field(f, "backoff") + " " +
                          Field(f, "backoff-ms") + " ms"});
    }
    PrintTable(
        out_, {"QUEUE", "WAITING", "ACTIVE", "DELAYED", "COMPLETED", "FAILED", "PAUSED", "RETRIES"},
        rows);
    return 0;
  }

  int Stats() {
    Reply info;
    if (!Call({"INFO"}, &info)) return failed_;
    // INFO's "key:value" lines, the sections' headers left out.
    Fields fields;
    std::string_view text = info.str;
    while (!text.empty()) {
      const std::size_t end = text.find('\n');
      std::string_view line = text.substr(0, end);
      text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const std::size_t colon = line.find(':');
      if (line.empty() || line.front() == '#' || colon == std::string_view::npos) continue;
      fields.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
    }
    static constexpr std::string_view kShown[] = {"herald_version",    "uptime_in_seconds",
                                                  "connected_clients", "blocked_clients",
                                                  "used_memory_rss",   "fsync",
                                                  "disk_bytes",        "wal_syncs",
                                                  "store_writes",      "total_commands_processed",
                                                  "running_handlers",  "job_events_dropped"};
    std::vector<std::string> names;
    std::vector<Fields> stats = QueueStats(&names);
    if (failed_ != 0) return failed_;
    std::uint64_t totals[5] = {0, 0, 0, 0, 0};
    static constexpr std::string_view kStates[] = {"waiting", "active", "delayed", "completed",
                                                   "failed"};
    for (const Fields& f : stats) {
      for (int i = 0; i < 5; ++i)
        totals[i] += std::strtoull(Field(f, kStates[i]).c_str(), nullptr, 10);
    }
    if (flags_.json) {
      json::object object;
      for (std::string_view key : kShown) object[key] = Field(fields, key);
      object["queues"] = names.size();
      for (int i = 0; i < 5; ++i) object[kStates[i]] = totals[i];
      PrintJson(out_, object);
      return 0;
    }
    std::vector<Row> rows;
    for (std::string_view key : kShown) rows.push_back({std::string(key), Field(fields, key)});
    rows.push_back({"queues", std::to_string(names.size())});
    for (int i = 0; i < 5; ++i) {
      rows.push_back({"jobs_" + std::string(kStates[i]), std::to_string(totals[i])});
    }
    PrintTable(out_, {"STAT", "VALUE"}, rows);
    return 0;
  }

  int Jobs(const std::string& queue, const std::string& state) {
    Reply page;
    if (!Call({"QSCAN", queue, state, "0", "COUNT", std::to_string(flags_.count)}, &page)) {
      return failed_;
    }
    std::vector<Fields> jobs;
    if (page.elements.size() == 2) {
      for (const Reply& id : page.elements[1].elements) {
        if (jobs.size() >= flags_.count) break;
        Reply job;
        if (!Call({"SHOW", Text(id)}, &job)) {
          if (failed_ == 1) {  // removed meanwhile
            failed_ = 0;
            continue;
          }
          return failed_;
        }
        jobs.push_back(FieldsOf(job));
      }
    }
    if (flags_.json) {
      json::array list;
      for (const Fields& fields : jobs) list.push_back(ObjectOf(fields));
      PrintJson(out_, list);
      return 0;
    }
    std::vector<Row> rows;
    for (const Fields& f : jobs) {
      const std::string outcome =
          !Field(f, "last-error").empty() ? Field(f, "last-error") : Field(f, "result");
      rows.push_back({Field(f, "id"), Cut(Field(f, "name"), 24),
                      Field(f, "attempts-made") + "/" + Field(f, "max-attempts"),
                      Time(Field(f, "created-ms")), Cut(Field(f, "payload"), 40),
                      Cut(outcome, 40)});
    }
    PrintTable(out_, {"ID", "NAME", "ATTEMPTS", "CREATED (UTC)", "PAYLOAD", "ERROR/RESULT"}, rows);
    std::fprintf(out_, "%zu %s job(s) of %s shown\n", jobs.size(), state.c_str(), queue.c_str());
    return 0;
  }

  int Show(const std::string& id) {
    Reply job;
    if (!Call({"SHOW", id}, &job)) return failed_;
    if (job.is_null()) return Refused("no job " + id);
    Fields fields = FieldsOf(job);
    if (flags_.json) {
      json::object object;
      for (std::size_t i = 0; i + 1 < job.elements.size(); i += 2) {
        object[Text(job.elements[i])] = JsonOf(job.elements[i + 1]);
      }
      PrintJson(out_, object);
      return 0;
    }
    std::vector<Row> rows;
    for (auto& [key, value] : fields) {
      const bool time =
          key.size() > 3 && key.compare(key.size() - 3, 3, "-ms") == 0 && key != "backoff-ms";
      rows.push_back({key, time ? Time(value) + " (" + value + ")" : value});
    }
    PrintTable(out_, {"FIELD", "VALUE"}, rows);
    return 0;
  }

  // retry QUEUE --filter TEXT / --type EVENT: the failed jobs whose payload or last error holds
  // TEXT and whose event type is EVENT, found page by page (EXPORT JOBS), retried by id.
  int RetryMatching(const std::string& queue) {
    std::uint64_t matched = 0, retried = 0;
    std::string cursor;
    do {
      Reply page;
      if (!Call({"EXPORT", "JOBS", queue, "failed", cursor, "COUNT", "500"}, &page)) return failed_;
      cursor = page.elements[0].str;
      std::vector<std::string> ids = {"QRETRY", queue};
      for (const Reply& line : page.elements[1].elements) {
        boost::system::error_code ec;
        json::value job = json::parse(line.str, ec);
        if (ec || !job.is_object()) continue;
        const json::object& object = job.as_object();
        auto text = [&](std::string_view key) {
          const json::value* value = object.if_contains(key);
          return value != nullptr && value->is_string() ? std::string(value->as_string())
                                                        : std::string();
        };
        const std::string payload = text("payload");
        if (!flags_.filter.empty() && payload.find(flags_.filter) == std::string::npos &&
            text("last_error").find(flags_.filter) == std::string::npos) {
          continue;
        }
        if (!flags_.type.empty()) {
          json::value event = json::parse(payload, ec);
          const json::value* type =
              !ec && event.is_object() ? event.as_object().if_contains("eventType") : nullptr;
          if (type == nullptr || !type->is_string() || type->as_string() != flags_.type) continue;
        }
        ids.push_back(text("id"));
      }
      matched += ids.size() - 2;
      if (ids.size() > 2) {
        Reply reply;
        if (!Call(ids, &reply)) return failed_;
        retried += static_cast<std::uint64_t>(reply.integer);
      }
    } while (!cursor.empty());
    if (flags_.json) {
      PrintJson(out_, json::object{{"matched", matched}, {"retried", retried}});
    } else {
      std::fprintf(out_, "retried: %llu of %llu matching failed job(s) of %s\n",
                   static_cast<unsigned long long>(retried),
                   static_cast<unsigned long long>(matched), queue.c_str());
    }
    return 0;
  }

  int Retry() {
    if (!flags_.filter.empty() || !flags_.type.empty()) {
      if (flags_.args.size() != 1) return Usage("retry with --filter or --type takes only QUEUE");
      return RetryMatching(flags_.args[0]);
    }
    std::vector<std::string> args = {"QRETRY"};
    args.insert(args.end(), flags_.args.begin(), flags_.args.end());
    Reply reply;
    if (!Call(args, &reply)) return failed_;
    return Done("retried", Text(reply));
  }

  int PauseOrResume(const std::string& action) {
    Reply reply;
    if (!Call({action == "pause" ? "QPAUSE" : "QRESUME", flags_.args[0]}, &reply)) return failed_;
    return Done(action == "pause" ? "paused" : "resumed", flags_.args[0]);
  }

  int Clean(const std::string& queue, const std::string& state) {
    Reply reply;
    if (!Call({"QCLEAN", queue, state, std::to_string(flags_.older_than_ms), "LIMIT",
               std::to_string(flags_.limit)},
              &reply)) {
      return failed_;
    }
    return Done("removed", Text(reply));
  }

  int Done(const std::string& what, const std::string& value) {
    if (flags_.json) {
      json::object object;
      object[what] = value;
      PrintJson(out_, object);
    } else {
      std::fprintf(out_, "%s: %s\n", what.c_str(), value.c_str());
    }
    return 0;
  }

  const AdminFlags& flags_;
  std::FILE* out_;
  std::FILE* err_;
  std::unique_ptr<Client> client_;
  int failed_ = 0;
};

}  // namespace

int RunAdmin(const AdminFlags& flags, std::FILE* out, std::FILE* err) {
  return Admin(flags, out, err).Run();
}

int RunReload(const std::string& connect, const std::string& password, std::FILE* out,
              std::FILE* err) {
  int code = 0;
  std::unique_ptr<Client> client = ConnectTool("reload", connect, password, err, &code);
  if (!client) return code;
  std::optional<Reply> reply = CallTool(*client, "reload", {"RELOAD"}, err, &code);
  if (!reply) return code;
  std::fprintf(out, "%s\n", reply->str.c_str());
  return 0;
}

}  // namespace herald::tools
