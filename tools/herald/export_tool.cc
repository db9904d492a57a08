#include "tools/herald/export_tool.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

#include "engine/job_export.h"
#include "tools/herald/tool_support.h"

namespace herald::tools {
namespace {

using resp::Reply;

constexpr const char* kStates[] = {"waiting", "active", "delayed", "completed", "failed"};
constexpr std::size_t kPage = 500;
constexpr std::size_t kImportBatch = 200;

// Milliseconds since the epoch from "1764547200000" or "2026-12-01T00:00:00Z" (UTC; the "Z"
// and the time may be left out).
std::optional<std::int64_t> ParseSince(const std::string& text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), ::isdigit) && text.size() < 18) {
    return std::stoll(text);
  }
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) {
    tm = std::tm{};
    end = strptime(text.c_str(), "%Y-%m-%d", &tm);
  }
  if (end == nullptr || !(*end == '\0' || (end[0] == 'Z' && end[1] == '\0'))) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class ExportRun {
 public:
  ExportRun(const ExportFlags& flags, std::FILE* out, std::FILE* err)
      : flags_(flags), out_(out), err_(err) {}

  int Run() {
    std::int64_t since = 0;
    if (!flags_.since.empty()) {
      std::optional<std::int64_t> parsed = ParseSince(flags_.since);
      if (!parsed) {
        return Fail(2, "--since '" + flags_.since +
                           "' is not a time (ms since the epoch, or 2026-12-01T00:00:00Z)");
      }
      since = *parsed;
    }
    for (const std::string& state : flags_.states) {
      if (std::find(std::begin(kStates), std::end(kStates), state) == std::end(kStates)) {
        return Fail(2, "--state '" + state + "' is not a state (" + "waiting, active, delayed, " +
                           "completed, failed)");
      }
    }
    int code = 0;
    client_ = ConnectTool("export", flags_.connect, flags_.password, err_, &code);
    if (!client_) return code;
    std::vector<std::string> queues = flags_.queues;
    if (queues.empty()) {
      std::optional<Reply> names = Call({"QUEUES"});
      if (!names) return exit_;
      for (const Reply& name : names->elements) queues.push_back(name.str);
      std::sort(queues.begin(), queues.end());
    }
    std::vector<std::string> states = flags_.states;
    if (states.empty()) states.assign(std::begin(kStates), std::end(kStates));

    std::fprintf(out_, "%s\n", engine::ExportHeaderLine(NowMs()).c_str());
    for (const std::string& queue : queues) {
      for (const std::string& state : states) {
        std::string cursor;
        do {
          std::optional<Reply> page = Call({"EXPORT", "JOBS", queue, state, cursor, "COUNT",
                                            std::to_string(kPage), "SINCE", std::to_string(since)});
          if (!page) return exit_;
          cursor = page->elements[0].str;
          for (const Reply& line : page->elements[1].elements) {
            std::fprintf(out_, "%s\n", line.str.c_str());
            ++counts_[queue][state];
            ++jobs_;
          }
          Progress();
        } while (!cursor.empty());
      }
    }
    if (flags_.records) {
      for (engine::RecordKind table : engine::kExportedTables) {
        const std::string name(engine::ExportTableName(table));
        std::string after;
        do {
          std::optional<Reply> page =
              Call({"EXPORT", "RECORDS", name, after, "COUNT", std::to_string(kPage)});
          if (!page) return exit_;
          after = page->elements[0].str;
          for (const Reply& line : page->elements[1].elements) {
            std::fprintf(out_, "%s\n", line.str.c_str());
            ++records_[name];
            ++record_total_;
          }
          Progress();
        } while (!after.empty());
      }
    }
    std::fflush(out_);
    std::fprintf(err_, "\n");
    Summary(queues, states);
    return 0;
  }

 private:
  int Fail(int code, const std::string& message) {
    std::fprintf(err_, "herald export: %s\n", message.c_str());
    return code;
  }

  std::optional<Reply> Call(const std::vector<std::string>& args) {
    return CallTool(*client_, "export", args, err_, &exit_);
  }

  void Progress() {
    std::fprintf(err_, "\rherald export: %llu jobs, %llu records   ",
                 static_cast<unsigned long long>(jobs_),
                 static_cast<unsigned long long>(record_total_));
    std::fflush(err_);
  }

  void Summary(const std::vector<std::string>& queues, const std::vector<std::string>& states) {
    Row header = {"QUEUE"};
    for (const std::string& state : states) {
      std::string upper = state;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      header.push_back(upper);
    }
    std::vector<Row> rows;
    for (const std::string& queue : queues) {
      Row row = {queue};
      for (const std::string& state : states) row.push_back(std::to_string(counts_[queue][state]));
      rows.push_back(std::move(row));
    }
    PrintTable(err_, header, rows);
    if (flags_.records) {
      std::vector<Row> tables;
      for (engine::RecordKind table : engine::kExportedTables) {
        const std::string name(engine::ExportTableName(table));
        tables.push_back({name, std::to_string(records_[name])});
      }
      PrintTable(err_, {"TABLE", "RECORDS"}, tables);
    }
    std::fprintf(err_, "export: %llu jobs, %llu records\n", static_cast<unsigned long long>(jobs_),
                 static_cast<unsigned long long>(record_total_));
  }

  const ExportFlags& flags_;
  std::FILE* out_;
  std::FILE* err_;
  std::unique_ptr<client::Client> client_;
  int exit_ = 0;
  std::map<std::string, std::map<std::string, std::uint64_t>> counts_;
  std::map<std::string, std::uint64_t> records_;
  std::uint64_t jobs_ = 0;
  std::uint64_t record_total_ = 0;
};

class ImportRun {
 public:
  ImportRun(const ImportFlags& flags, std::FILE* err) : flags_(flags), err_(err) {}

  int Run() {
    std::ifstream file;
    std::istream* in = &std::cin;
    if (flags_.file.empty()) return Fail(2, "a file to import is required (- for stdin)");
    if (flags_.file != "-") {
      file.open(flags_.file, std::ios::binary);
      if (!file) return Fail(2, "cannot open " + flags_.file);
      in = &file;
    }
    int code = 0;
    client_ = ConnectTool("import", flags_.connect, flags_.password, err_, &code);
    if (!client_) return code;

    std::string line;
    std::size_t number = 0;
    bool header = false;
    while (std::getline(*in, line)) {
      ++number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      if (!header) {
        auto parsed = engine::ParseExportLine(line);
        if (!parsed.ok() || parsed->type != engine::ExportLine::Type::kHeader) {
          return Fail(1, "line " + std::to_string(number) +
                             ": not a herald export (its first line is the header)");
        }
        if (parsed->version != engine::kExportFormatVersion) {
          return Fail(1, "the export is version " + std::to_string(parsed->version) +
                             "; this build reads version " +
                             std::to_string(engine::kExportFormatVersion));
        }
        header = true;
        continue;
      }
      Queue(number, std::move(line));
      if (batch_.size() >= kImportBatch && !Send()) return exit_;
    }
    if (!header) return Fail(1, "the file is empty: not a herald export");
    if (!Send()) return exit_;
    std::fprintf(err_, "\n");
    std::vector<Row> rows;
    for (const auto& [what, count] : added_) {
      rows.push_back({what, std::to_string(count.first), std::to_string(count.second)});
    }
    PrintTable(err_, {"QUEUE OR TABLE", "IMPORTED", "ALREADY THERE"}, rows);
    std::fprintf(err_, "import: %llu imported, %llu already there, %llu refused\n",
                 static_cast<unsigned long long>(imported_),
                 static_cast<unsigned long long>(existing_),
                 static_cast<unsigned long long>(refused_));
    return refused_ > 0 ? 1 : 0;
  }

 private:
  struct Pending {
    std::size_t number = 0;
    std::string what;  // the queue or "table:<name>"
  };

  int Fail(int code, const std::string& message) {
    std::fprintf(err_, "herald import: %s\n", message.c_str());
    return code;
  }

  void Queue(std::size_t number, std::string line) {
    auto parsed = engine::ParseExportLine(line);
    std::string what = "?";
    if (parsed.ok() && parsed->type == engine::ExportLine::Type::kJob) what = parsed->job.queue;
    if (parsed.ok() && parsed->type == engine::ExportLine::Type::kRecord) {
      what = "table " + std::string(engine::ExportTableName(parsed->table));
    }
    client_->Append({"IMPORT", std::move(line)});
    batch_.push_back({number, std::move(what)});
  }

  bool Send() {
    if (batch_.empty()) return true;
    auto replies = client_->ReadReplies(batch_.size());
    if (!replies.ok()) {
      exit_ = Fail(2, replies.status().message());
      return false;
    }
    for (std::size_t i = 0; i < batch_.size(); ++i) {
      const Reply& reply = (*replies)[i];
      auto& count = added_[batch_[i].what];
      if (reply.is_error()) {
        ++refused_;
        if (refused_ <= 20) Fail(1, "line " + std::to_string(batch_[i].number) + ": " + reply.str);
      } else if (reply.integer == 1) {
        ++count.first;
        ++imported_;
      } else {
        ++count.second;
        ++existing_;
      }
    }
    batch_.clear();
    std::fprintf(err_, "\rherald import: %llu lines   ",
                 static_cast<unsigned long long>(imported_ + existing_ + refused_));
    std::fflush(err_);
    return true;
  }

  const ImportFlags& flags_;
  std::FILE* err_;
  std::unique_ptr<client::Client> client_;
  int exit_ = 0;
  std::vector<Pending> batch_;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> added_;
  std::uint64_t imported_ = 0, existing_ = 0, refused_ = 0;
};

}  // namespace

int RunExport(const ExportFlags& flags, std::FILE* out, std::FILE* err) {
  return ExportRun(flags, out, err).Run();
}

int RunImport(const ImportFlags& flags, std::FILE* err) { return ImportRun(flags, err).Run(); }

}  // namespace herald::tools
