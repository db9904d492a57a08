#include "engine/backups.h"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <system_error>

#include "common/version.h"

namespace herald::engine {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kManifestFormat = "herald-backup";

// RocksDB's files that a copy does not need: its lock and its own log.
bool Copied(const std::string& name) {
  return name != "LOCK" && name.rfind("LOG", 0) != 0 && name != "manifest.json";
}

std::string NewToken() {
  std::random_device random;
  std::uniform_int_distribution<unsigned> byte(0, 255);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (int i = 0; i < 16; ++i) {
    const unsigned b = byte(random);
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  return token;
}

// Writes `text` to `path` through a temporary file renamed over it, so that a manifest is
// either whole or absent.
Status WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return Status::IOError("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::IOError("cannot rename " + tmp + ": " + ec.message());
  return Status::Ok();
}

const json::value* Member(const json::object& object, std::string_view name) {
  return object.if_contains(name);
}

Result<std::uint64_t> Unsigned(const json::object& object, std::string_view name) {
  const json::value* value = Member(object, name);
  if (value == nullptr) return Status::InvalidArgument("manifest: no '" + std::string(name) + "'");
  if (value->is_uint64()) return value->as_uint64();
  if (value->is_int64() && value->as_int64() >= 0) {
    return static_cast<std::uint64_t>(value->as_int64());
  }
  return Status::InvalidArgument("manifest: '" + std::string(name) +
                                 "' is not a non-negative integer");
}

Result<std::string> Text(const json::object& object, std::string_view name) {
  const json::value* value = Member(object, name);
  if (value == nullptr || !value->is_string()) {
    return Status::InvalidArgument("manifest: '" + std::string(name) + "' is not a string");
  }
  return std::string(value->as_string());
}

}  // namespace

std::uint64_t BackupManifest::jobs() const {
  std::uint64_t total = 0;
  for (const BackupQueue& queue : queues) {
    const storage::QueueCounts& c = queue.counts;
    total += c.waiting + c.active + c.delayed + c.completed + c.failed;
  }
  return total;
}

std::string ManifestToJson(const BackupManifest& manifest) {
  json::object root;
  root["format"] = kManifestFormat;
  root["version"] = manifest.version;
  root["herald_version"] = manifest.herald_version;
  root["created_ms"] = manifest.created_ms;
  root["fsync"] = manifest.fsync;
  root["jobs"] = manifest.jobs();
  root["active_at_backup"] = manifest.active_at_backup;
  json::array queues;
  for (const BackupQueue& queue : manifest.queues) {
    json::object q;
    q["name"] = queue.name;
    q["waiting"] = queue.counts.waiting;
    q["active"] = queue.counts.active;
    q["delayed"] = queue.counts.delayed;
    q["completed"] = queue.counts.completed;
    q["failed"] = queue.counts.failed;
    q["paused"] = queue.counts.paused;
    queues.push_back(std::move(q));
  }
  root["queues"] = std::move(queues);
  json::array files;
  for (const BackupFile& file : manifest.files) {
    files.push_back(json::object{{"name", file.name}, {"size", file.size}});
  }
  root["files"] = std::move(files);
  root["bytes"] = manifest.bytes;
  return json::serialize(root) + "\n";
}

Result<BackupManifest> ManifestFromJson(std::string_view text) {
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) {
    return Status::InvalidArgument("manifest: not a JSON object" +
                                   (ec ? " (" + ec.message() + ")" : std::string()));
  }
  const json::object& root = parsed.as_object();
  HERALD_ASSIGN_OR_RETURN(std::string format, Text(root, "format"));
  if (format != kManifestFormat) {
    return Status::InvalidArgument("manifest: format is '" + format + "', not '" +
                                   std::string(kManifestFormat) + "'");
  }
  BackupManifest manifest;
  HERALD_ASSIGN_OR_RETURN(std::uint64_t version, Unsigned(root, "version"));
  if (version != kBackupFormatVersion) {
    return Status::InvalidArgument("manifest: version " + std::to_string(version) +
                                   " is not supported (this build reads version " +
                                   std::to_string(kBackupFormatVersion) + ")");
  }
  HERALD_ASSIGN_OR_RETURN(manifest.herald_version, Text(root, "herald_version"));
  HERALD_ASSIGN_OR_RETURN(std::uint64_t created, Unsigned(root, "created_ms"));
  manifest.created_ms = static_cast<std::int64_t>(created);
  HERALD_ASSIGN_OR_RETURN(manifest.fsync, Text(root, "fsync"));
  HERALD_ASSIGN_OR_RETURN(manifest.active_at_backup, Unsigned(root, "active_at_backup"));
  HERALD_ASSIGN_OR_RETURN(manifest.bytes, Unsigned(root, "bytes"));
  const json::value* queues = Member(root, "queues");
  const json::value* files = Member(root, "files");
  if (queues == nullptr || !queues->is_array()) {
    return Status::InvalidArgument("manifest: 'queues' is not an array");
  }
  if (files == nullptr || !files->is_array()) {
    return Status::InvalidArgument("manifest: 'files' is not an array");
  }
  for (const json::value& value : queues->as_array()) {
    if (!value.is_object()) return Status::InvalidArgument("manifest: a queue is not an object");
    const json::object& q = value.as_object();
    BackupQueue queue;
    HERALD_ASSIGN_OR_RETURN(queue.name, Text(q, "name"));
    HERALD_ASSIGN_OR_RETURN(queue.counts.waiting, Unsigned(q, "waiting"));
    HERALD_ASSIGN_OR_RETURN(queue.counts.active, Unsigned(q, "active"));
    HERALD_ASSIGN_OR_RETURN(queue.counts.delayed, Unsigned(q, "delayed"));
    HERALD_ASSIGN_OR_RETURN(queue.counts.completed, Unsigned(q, "completed"));
    HERALD_ASSIGN_OR_RETURN(queue.counts.failed, Unsigned(q, "failed"));
    const json::value* paused = Member(q, "paused");
    queue.counts.paused = paused != nullptr && paused->is_bool() && paused->as_bool();
    manifest.queues.push_back(std::move(queue));
  }
  std::uint64_t bytes = 0;
  for (const json::value& value : files->as_array()) {
    if (!value.is_object()) return Status::InvalidArgument("manifest: a file is not an object");
    BackupFile file;
    HERALD_ASSIGN_OR_RETURN(file.name, Text(value.as_object(), "name"));
    HERALD_ASSIGN_OR_RETURN(file.size, Unsigned(value.as_object(), "size"));
    if (file.name.empty() || file.name.find('/') != std::string::npos || file.name == "." ||
        file.name == "..") {
      return Status::InvalidArgument("manifest: '" + file.name + "' is not a plain file name");
    }
    bytes += file.size;
    manifest.files.push_back(std::move(file));
  }
  if (bytes != manifest.bytes) {
    return Status::InvalidArgument("manifest: the files add up to " + std::to_string(bytes) +
                                   " bytes, not " + std::to_string(manifest.bytes));
  }
  return manifest;
}

Backups::Backups(storage::Store* store, Clock* clock, std::shared_ptr<spdlog::logger> log)
    : store_(store),
      clock_(clock),
      log_(std::move(log)),
      staging_dir_((fs::path(store->options().data_dir) / "backup-staging").string()) {
  std::error_code ec;
  fs::remove_all(staging_dir_, ec);
  if (ec) log_->warn("backup: cannot remove {}: {}", staging_dir_, ec.message());
}

Backups::~Backups() {
  std::error_code ec;
  fs::remove_all(staging_dir_, ec);
}

Result<BackupManifest> Backups::MakeBackup(const std::string& dir) {
  const std::int64_t started = clock_->NowMs();
  const std::string db_dir = (fs::path(dir) / "db").string();
  HERALD_RETURN_IF_ERROR(store_->Checkpoint(db_dir));

  BackupManifest manifest;
  manifest.herald_version = std::string(kHeraldVersion);
  manifest.created_ms = started;
  manifest.fsync = std::string(storage::FsyncModeName(store_->fsync_mode()));
  {
    // Opened as a restore opens it, so that the counts are what the restored store shows.
    storage::StoreOptions options;
    options.data_dir = db_dir;
    options.fsync = storage::FsyncMode::kNo;
    options.block_cache_mb = 8;
    options.completed_retention = store_->options().completed_retention;
    options.logger =
        std::make_shared<spdlog::logger>("backup", std::make_shared<spdlog::sinks::null_sink_mt>());
    HERALD_ASSIGN_OR_RETURN(std::unique_ptr<storage::Store> copy, storage::Store::Open(options));
    manifest.active_at_backup = copy->recovered_active();
    for (const std::string& name : copy->ListQueues()) {
      HERALD_ASSIGN_OR_RETURN(storage::QueueCounts counts, copy->Counts(name));
      manifest.queues.push_back({name, counts});
    }
  }
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(db_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file(ec)) continue;
    if (!Copied(name)) {
      fs::remove(entry.path(), ec);
      continue;
    }
    const std::uint64_t size = entry.file_size(ec);
    if (ec) return Status::IOError("cannot read the size of " + entry.path().string());
    manifest.files.push_back({name, size});
    manifest.bytes += size;
  }
  if (ec) return Status::IOError("cannot list " + db_dir + ": " + ec.message());
  std::sort(manifest.files.begin(), manifest.files.end(),
            [](const BackupFile& a, const BackupFile& b) { return a.name < b.name; });
  return manifest;
}

Result<BackupManifest> Backups::Write(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      return Status::InvalidArgument("backup directory '" + dir + "' is not a directory");
    }
    if (!fs::is_empty(dir, ec)) {
      return Status::InvalidArgument("backup directory '" + dir + "' is not empty");
    }
  } else if (!fs::create_directories(dir, ec) || ec) {
    return Status::IOError("cannot create '" + dir + "': " + ec.message());
  }
  Result<BackupManifest> manifest = MakeBackup(dir);
  if (manifest.ok()) {
    Status written =
        WriteFileAtomically((fs::path(dir) / "manifest.json").string(), ManifestToJson(*manifest));
    if (!written.ok()) return written;
    log_->info("backup: {} jobs in {} queues, {} bytes written to {}", manifest->jobs(),
               manifest->queues.size(), manifest->bytes, dir);
  } else {
    log_->error("backup into {} failed: {}", dir, manifest.status().message());
  }
  return manifest;
}

Result<StagedBackup> Backups::Stage() {
  ExpireIdle();
  {
    MutexLock lock(&mu_);
    if (staged_.size() >= kMaxStaged) {
      return Status::Busy(std::to_string(kMaxStaged) +
                          " backups are being read already; end one (BACKUP END) first");
    }
  }
  const std::string token = NewToken();
  const std::string dir = (fs::path(staging_dir_) / token).string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create '" + dir + "': " + ec.message());
  Result<BackupManifest> manifest = MakeBackup(dir);
  if (!manifest.ok()) {
    fs::remove_all(dir, ec);
    log_->error("backup failed: {}", manifest.status().message());
    return manifest.status();
  }
  log_->info("backup: {} jobs in {} queues, {} bytes staged for a client", manifest->jobs(),
             manifest->queues.size(), manifest->bytes);
  MutexLock lock(&mu_);
  staged_[token] = Staged{dir, *manifest, clock_->NowMs()};
  return StagedBackup{token, *manifest};
}

Result<std::string> Backups::Read(std::string_view token, std::string_view name,
                                  std::uint64_t offset, std::uint64_t max) {
  std::string path;
  std::uint64_t size = 0;
  {
    MutexLock lock(&mu_);
    auto it = staged_.find(token);
    if (it == staged_.end()) return Status::NotFound("no backup is staged with that token");
    const std::vector<BackupFile>& files = it->second.manifest.files;
    auto file = std::find_if(files.begin(), files.end(),
                             [&](const BackupFile& f) { return f.name == name; });
    if (file == files.end()) {
      return Status::NotFound("the backup has no file '" + std::string(name) + "'");
    }
    it->second.last_used_ms = clock_->NowMs();
    path = (fs::path(it->second.dir) / "db" / file->name).string();
    size = file->size;
  }
  if (offset >= size) return std::string();
  const std::uint64_t length = std::min({max, kMaxChunk, size - offset});
  std::ifstream in(path, std::ios::binary);
  std::string chunk(length, '\0');
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(chunk.data(), static_cast<std::streamsize>(length));
  if (!in || static_cast<std::uint64_t>(in.gcount()) != length) {
    return Status::IOError("cannot read " + path);
  }
  return chunk;
}

Status Backups::Release(std::string_view token) {
  std::string dir;
  {
    MutexLock lock(&mu_);
    auto it = staged_.find(token);
    if (it == staged_.end()) return Status::NotFound("no backup is staged with that token");
    dir = it->second.dir;
    staged_.erase(it);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) log_->warn("backup: cannot remove {}: {}", dir, ec.message());
  ExpireIdle();
  return Status::Ok();
}

std::size_t Backups::staged() const {
  MutexLock lock(&mu_);
  return staged_.size();
}

void Backups::ExpireIdle() {
  std::vector<std::string> expired;
  {
    const std::int64_t now = clock_->NowMs();
    MutexLock lock(&mu_);
    for (auto it = staged_.begin(); it != staged_.end();) {
      if (now - it->second.last_used_ms >= kStagedIdleMs) {
        expired.push_back(it->second.dir);
        it = staged_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const std::string& dir : expired) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    log_->warn("backup: {} was not read for {} s and is removed", dir, kStagedIdleMs / 1000);
  }
}

}  // namespace herald::engine
