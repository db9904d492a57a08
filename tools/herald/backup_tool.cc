#include "tools/herald/backup_tool.h"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "engine/backups.h"
#include "storage/store.h"
#include "tools/herald/tool_support.h"

namespace herald::tools {
namespace {

namespace fs = std::filesystem;
using engine::BackupManifest;
using resp::Reply;

constexpr std::uint64_t kChunk = 4 << 20;

std::string State(const storage::QueueCounts& c) {
  return std::to_string(c.waiting) + "/" + std::to_string(c.delayed) + "/" +
         std::to_string(c.completed) + "/" + std::to_string(c.failed);
}

void PrintQueues(std::FILE* out, const BackupManifest& manifest) {
  std::vector<Row> rows;
  for (const engine::BackupQueue& queue : manifest.queues) {
    const storage::QueueCounts& c = queue.counts;
    rows.push_back({queue.name, std::to_string(c.waiting), std::to_string(c.delayed),
                    std::to_string(c.completed), std::to_string(c.failed),
                    c.paused ? "yes" : "no"});
  }
  PrintTable(out, {"QUEUE", "WAITING", "DELAYED", "COMPLETED", "FAILED", "PAUSED"}, rows);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// "backup: 12.0 MiB of 40.0 MiB (30%)", rewritten in place.
void Progress(std::FILE* err, const char* what, std::uint64_t done, std::uint64_t total) {
  const int percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
  std::fprintf(err, "\rherald %s: %s of %s (%d%%)   ", what, Bytes(done).c_str(),
               Bytes(total).c_str(), percent);
  std::fflush(err);
}

// Writes `path` out to disk (its data and its name in the directory).
bool SyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return false;
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced;
}

// A directory that exists and is empty, or is made: "" when so, the reason otherwise.
std::string PrepareEmptyDir(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return "'" + dir + "' is not a directory";
    if (!fs::is_empty(dir, ec)) return "'" + dir + "' is not empty";
    return "";
  }
  fs::create_directories(dir, ec);
  if (ec) return "cannot create '" + dir + "': " + ec.message();
  return "";
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class BackupRun {
 public:
  BackupRun(const BackupFlags& flags, std::FILE* out, std::FILE* err)
      : flags_(flags), out_(out), err_(err) {}

  int Run() {
    if (flags_.dir.empty()) return Fail(2, "a directory to write the backup into is required");
    if (!flags_.on_server) {
      if (std::string problem = PrepareEmptyDir(flags_.dir); !problem.empty()) {
        return Fail(2, problem);
      }
    }
    int code = 0;
    client_ = ConnectTool("backup", flags_.connect, flags_.password, err_, &code);
    if (!client_) return code;
    // A checkpoint of a large store, and the count of its copy, take a while.
    client_->set_io_timeout(std::chrono::minutes(30));
    return flags_.on_server ? OnServer() : Streamed();
  }

 private:
  int Fail(int code, const std::string& message) {
    std::fprintf(err_, "herald backup: %s\n", message.c_str());
    return code;
  }

  // The reply to `args`; nullopt (and the reason printed, exit_ set) when it failed.
  std::optional<Reply> Call(const std::vector<std::string>& args) {
    return CallTool(*client_, "backup", args, err_, &exit_);
  }

  int OnServer() {
    std::error_code ec;
    const std::string dir = fs::absolute(flags_.dir, ec).string();
    std::fprintf(err_, "herald backup: the server writes the backup into %s\n", dir.c_str());
    const auto start = std::chrono::steady_clock::now();
    std::optional<Reply> reply = Call({"BACKUP", "SAVE", dir});
    if (!reply) return exit_;
    auto manifest = engine::ManifestFromJson(reply->str);
    if (!manifest.ok()) return Fail(1, manifest.status().message());
    return Summary(*manifest, dir, SecondsSince(start));
  }

  int Streamed() {
    const std::string db_dir = (fs::path(flags_.dir) / "db").string();
    std::error_code ec;
    fs::create_directories(db_dir, ec);
    if (ec) return Fail(2, "cannot create '" + db_dir + "': " + ec.message());

    const auto start = std::chrono::steady_clock::now();
    std::fprintf(err_, "herald backup: the server takes a checkpoint...\n");
    std::optional<Reply> staged = Call({"BACKUP", "START"});
    if (!staged) return exit_;
    if (staged->elements.size() != 2) return Fail(1, "BACKUP START: unexpected reply");
    const std::string token = staged->elements[0].str;
    const std::string manifest_json = staged->elements[1].str;
    auto manifest = engine::ManifestFromJson(manifest_json);
    if (!manifest.ok()) return Fail(1, manifest.status().message());

    const int copied = Copy(token, *manifest, db_dir);
    (void)client_->Command({"BACKUP", "END", token});
    if (copied != 0) return copied;
    // The manifest last: a directory with one holds a whole backup.
    const std::string manifest_path = (fs::path(flags_.dir) / "manifest.json").string();
    {
      std::ofstream file(manifest_path, std::ios::binary | std::ios::trunc);
      file << manifest_json;
      file.flush();
      if (!file) return Fail(1, "cannot write " + manifest_path);
    }
    if (!SyncPath(manifest_path, false) || !SyncPath(flags_.dir, true)) {
      return Fail(1, "cannot sync " + manifest_path);
    }
    return Summary(*manifest, flags_.dir, SecondsSince(start));
  }

  int Copy(const std::string& token, const BackupManifest& manifest, const std::string& db_dir) {
    std::uint64_t done = 0;
    for (const engine::BackupFile& file : manifest.files) {
      const std::string path = (fs::path(db_dir) / file.name).string();
      std::ofstream output(path, std::ios::binary | std::ios::trunc);
      if (!output) return Fail(1, "cannot create " + path);
      std::uint64_t offset = 0;
      while (offset < file.size) {
        std::optional<Reply> chunk = Call(
            {"BACKUP", "READ", token, file.name, std::to_string(offset), std::to_string(kChunk)});
        if (!chunk) return exit_;
        if (chunk->str.empty()) break;
        output.write(chunk->str.data(), static_cast<std::streamsize>(chunk->str.size()));
        offset += chunk->str.size();
        done += chunk->str.size();
        Progress(err_, "backup", done, manifest.bytes);
      }
      output.flush();
      if (!output) return Fail(1, "cannot write " + path);
      output.close();
      if (offset != file.size) {
        return Fail(1, file.name + ": read " + std::to_string(offset) +
                           " bytes, the manifest says " + std::to_string(file.size));
      }
      if (!SyncPath(path, false)) return Fail(1, "cannot sync " + path);
    }
    if (!SyncPath(db_dir, true)) return Fail(1, "cannot sync " + db_dir);
    if (!manifest.files.empty()) std::fprintf(err_, "\n");
    return 0;
  }

  int Summary(const BackupManifest& manifest, const std::string& dir, double seconds) {
    PrintQueues(out_, manifest);
    std::fprintf(out_, "backup: %llu jobs in %zu queues, %zu files, %s, in %s (%.1f s)\n",
                 static_cast<unsigned long long>(manifest.jobs()), manifest.queues.size(),
                 manifest.files.size(), Bytes(manifest.bytes).c_str(), dir.c_str(), seconds);
    if (manifest.active_at_backup > 0) {
      std::fprintf(out_,
                   "backup: %llu jobs were active; the restored store has them waiting, their "
                   "attempt counted\n",
                   static_cast<unsigned long long>(manifest.active_at_backup));
    }
    return 0;
  }

  const BackupFlags& flags_;
  std::FILE* out_;
  std::FILE* err_;
  std::unique_ptr<client::Client> client_;
  int exit_ = 0;
};

class RestoreRun {
 public:
  RestoreRun(const RestoreFlags& flags, std::FILE* out, std::FILE* err)
      : flags_(flags), out_(out), err_(err) {}

  int Run() {
    if (flags_.dir.empty() || flags_.data_dir.empty()) {
      return Fail(2, "a backup directory and --data-dir are required");
    }
    const auto start = std::chrono::steady_clock::now();
    const std::string manifest_path = (fs::path(flags_.dir) / "manifest.json").string();
    std::optional<std::string> text = ReadFile(manifest_path);
    if (!text) {
      return Fail(1, "no " + manifest_path + ": not a backup, or one that did not finish");
    }
    auto manifest = engine::ManifestFromJson(*text);
    if (!manifest.ok()) return Fail(1, manifest_path + ": " + manifest.status().message());
    const std::string from = (fs::path(flags_.dir) / "db").string();
    for (const engine::BackupFile& file : manifest->files) {
      std::error_code ec;
      const std::uint64_t size = fs::file_size(fs::path(from) / file.name, ec);
      if (ec) return Fail(1, "the backup lacks db/" + file.name + " (" + ec.message() + ")");
      if (size != file.size) {
        return Fail(1, "db/" + file.name + " has " + std::to_string(size) +
                           " bytes, the manifest says " + std::to_string(file.size));
      }
    }
    if (int code = PrepareTarget(); code != 0) return code;
    std::uint64_t done = 0;
    for (const engine::BackupFile& file : manifest->files) {
      const std::string target = (fs::path(flags_.data_dir) / file.name).string();
      std::error_code ec;
      fs::copy_file(fs::path(from) / file.name, target, ec);
      if (ec) return Fail(1, "cannot copy db/" + file.name + ": " + ec.message());
      if (!SyncPath(target, false)) return Fail(1, "cannot sync " + target);
      done += file.size;
      Progress(err_, "restore", done, manifest->bytes);
    }
    if (!manifest->files.empty()) std::fprintf(err_, "\n");
    if (!SyncPath(flags_.data_dir, true)) return Fail(1, "cannot sync " + flags_.data_dir);
    return Check(*manifest, SecondsSince(start));
  }

 private:
  int Fail(int code, const std::string& message) {
    std::fprintf(err_, "herald restore: %s\n", message.c_str());
    return code;
  }

  int PrepareTarget() {
    std::error_code ec;
    if (fs::exists(flags_.data_dir, ec) && fs::is_directory(flags_.data_dir, ec) &&
        !fs::is_empty(flags_.data_dir, ec)) {
      if (!flags_.force) {
        return Fail(1, "'" + flags_.data_dir +
                           "' is not empty; refusing to overwrite it (--force empties it first)");
      }
      for (const fs::directory_entry& entry : fs::directory_iterator(flags_.data_dir, ec)) {
        fs::remove_all(entry.path(), ec);
        if (ec) return Fail(1, "cannot remove " + entry.path().string() + ": " + ec.message());
      }
    }
    if (std::string problem = PrepareEmptyDir(flags_.data_dir); !problem.empty()) {
      return Fail(1, problem);
    }
    return 0;
  }

  // Opens the copy as Herald will and compares it with the manifest.
  int Check(const BackupManifest& manifest, double seconds) {
    storage::StoreOptions options;
    options.data_dir = flags_.data_dir;
    options.fsync = storage::FsyncMode::kAlways;
    options.block_cache_mb = 8;
    options.logger = std::make_shared<spdlog::logger>(
        "restore", std::make_shared<spdlog::sinks::null_sink_mt>());
    auto store = storage::Store::Open(options);
    if (!store.ok()) return Fail(1, "the copy does not open: " + store.status().message());
    if (Status verified = (*store)->VerifyChecksums(); !verified.ok()) {
      return Fail(1, verified.message());
    }
    std::vector<std::string> problems;
    for (const engine::BackupQueue& queue : manifest.queues) {
      auto counts = (*store)->Counts(queue.name);
      if (!counts.ok()) {
        problems.push_back(queue.name + ": missing in the copy");
        continue;
      }
      const storage::QueueCounts& want = queue.counts;
      if (counts->waiting != want.waiting || counts->delayed != want.delayed ||
          counts->completed != want.completed || counts->failed != want.failed ||
          counts->active != 0) {
        problems.push_back(queue.name + ": waiting/delayed/completed/failed " + State(*counts) +
                           ", the manifest says " + State(want));
      }
    }
    if (!problems.empty()) {
      for (const std::string& problem : problems) Fail(1, problem);
      return Fail(1, "the restored store does not match the manifest");
    }
    PrintQueues(out_, manifest);
    std::fprintf(out_,
                 "restore: %llu jobs in %zu queues from %s (taken by herald %s) into %s; "
                 "checksums and counts match (%.1f s)\n",
                 static_cast<unsigned long long>(manifest.jobs()), manifest.queues.size(),
                 flags_.dir.c_str(), manifest.herald_version.c_str(), flags_.data_dir.c_str(),
                 seconds);
    return 0;
  }

  const RestoreFlags& flags_;
  std::FILE* out_;
  std::FILE* err_;
};

}  // namespace

int RunBackup(const BackupFlags& flags, std::FILE* out, std::FILE* err) {
  return BackupRun(flags, out, err).Run();
}

int RunRestore(const RestoreFlags& flags, std::FILE* out, std::FILE* err) {
  return RestoreRun(flags, out, err).Run();
}

}  // namespace herald::tools
