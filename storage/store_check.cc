#include "storage/store_check.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "storage/database.h"
#include "storage/keys.h"
#include "storage/queue_state.h"
#include "storage/rocks_status.h"

namespace herald::storage {
namespace {

// One index entry: where a job id stands in its queue's column family.
struct Entry {
  std::string queue;
  std::string key;
  JobState state = JobState::kWaiting;  // active for a lease
  bool lease = false;
  bool matched = false;  // its job's record gives this very key
};

std::optional<JobState> StateOfIndex(char kind) {
  switch (kind) {
    case 'w':
      return JobState::kWaiting;
    case 'd':
      return JobState::kDelayed;
    case 'a':
      return JobState::kActive;
    case 'f':
      return JobState::kFailed;
    case 'c':
      return JobState::kCompleted;
    default:
      return std::nullopt;
  }
}

std::string Quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, 80)) {
    out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  }
  return out + (text.size() > 80 ? "...'" : "'");
}

class Checker {
 public:
  Checker(Database* database, bool repair, CheckReport* report)
      : database_(database), repair_(repair), report_(report) {}

  Status Run() {
    for (rocksdb::ColumnFamilyHandle* cf : database_->queue_cfs()) {
      std::optional<std::string_view> name = keys::QueueOfCfName(cf->GetName());
      if (name) cfs_.emplace(std::string(*name), cf);
    }
    for (const auto& [name, cf] : cfs_) HERALD_RETURN_IF_ERROR(ScanQueue(name, cf));
    HERALD_RETURN_IF_ERROR(ScanRecords());
    for (auto& [id, entries] : entries_) {
      for (Entry& entry : entries) {
        if (entry.matched || records_seen_.count(id) > 0) continue;
        Problem("the " + std::string(JobStateName(entry.state)) + " index of " +
                Quoted(entry.queue) + " holds job " + Quoted(id) + ", which has no record");
        if (repair_) Delete(entry);
      }
    }
    for (CheckedQueue& queue : report_->queues) {
      for (JobState state : kJobStates) {
        const std::uint64_t counted = CountOf(queue.counted, state);
        const std::uint64_t stored = CountOf(queue.stored, state);
        if (counted != stored) {
          Problem(Quoted(queue.name) + ": the counter of " + std::string(JobStateName(state)) +
                  " jobs says " + std::to_string(stored) + ", its index holds " +
                  std::to_string(counted));
        }
      }
    }
    if (repair_) return Repair();
    return Status::Ok();
  }

 private:
  void Problem(std::string text) {
    ++report_->problems;
    if (report_->listed.size() < CheckReport::kMaxListed)
      report_->listed.push_back(std::move(text));
  }

  Status ScanQueue(const std::string& name, rocksdb::ColumnFamilyHandle* cf) {
    CheckedQueue queue;
    queue.name = name;
    std::unique_ptr<rocksdb::Iterator> it(database_->db()->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view key = it->key().ToStringView();
      const std::string_view value = it->value().ToStringView();
      if (key.size() < 2 || key[1] != '|') continue;
      std::optional<JobState> state = StateOfIndex(key[0]);
      if (!state) continue;
      Entry entry{name, std::string(key), *state, false, false};
      std::string id(value);
      if (key[0] == 'w' && !value.empty() && value.front() == '\0') {
        std::optional<keys::Lease> lease = keys::DecodeLease(value);
        if (!lease) {
          Problem("a lease in the waiting index of " + Quoted(name) + " does not decode");
          continue;
        }
        id = std::string(lease->id);
        entry.state = JobState::kActive;
        entry.lease = true;
      }
      ++CountOf(queue.counted, entry.state);
      entries_[id].push_back(std::move(entry));
    }
    HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "read the indexes of " + name));
    std::string value;
    const bool counted =
        database_->db()->Get(rocksdb::ReadOptions(), cf, keys::kCountedKey, &value).ok();
    for (JobState state : kJobStates) {
      if (!counted) {
        CountOf(queue.stored, state) = CountOf(queue.counted, state);  // an older build's
        continue;
      }
      std::int64_t n = 0;
      if (database_->db()->Get(rocksdb::ReadOptions(), cf, keys::CountKey(state), &value).ok()) {
        n = keys::DecodeCount(value).value_or(-1);
      }
      CountOf(queue.stored, state) = n < 0 ? ~std::uint64_t{0} : static_cast<std::uint64_t>(n);
    }
    if (database_->db()->Get(rocksdb::ReadOptions(), cf, keys::kPausedKey, &value).ok()) {
      Result<bool> paused = keys::DecodeFlag(value);
      queue.counted.paused = queue.stored.paused = paused.ok() && *paused;
    }
    report_->queues.push_back(std::move(queue));
    return Status::Ok();
  }

  Status ScanRecords() {
    std::unique_ptr<rocksdb::Iterator> it(
        database_->db()->NewIterator(rocksdb::ReadOptions(), database_->jobs()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string id = it->key().ToString();
      ++report_->records;
      records_seen_.insert(id);
      Result<Job> job = DecodeJob(it->value().ToStringView());
      if (!job.ok()) {
        Problem("the record of job " + Quoted(id) + " does not decode: " + job.status().message());
        continue;
      }
      if (job->id != id) {
        Problem("the record under " + Quoted(id) + " is of job " + Quoted(job->id));
        continue;
      }
      if (cfs_.count(job->queue) == 0) {
        Problem("job " + Quoted(id) + " names queue " + Quoted(job->queue) +
                ", which does not exist");
        continue;
      }
      const std::string expected = keys::IndexKeyOf(*job);
      std::vector<Entry>& entries = entries_[id];
      Entry* at_place = nullptr;
      for (Entry& entry : entries) {
        if (!at_place && entry.queue == job->queue && entry.key == expected) {
          entry.matched = true;
          at_place = &entry;
        }
      }
      expected_[job->queue]
               [at_place != nullptr && at_place->lease ? JobState::kActive : job->state]++;
      for (Entry& entry : entries) {
        if (entry.matched) continue;
        entry.matched = true;  // accounted for here
        Problem("job " + Quoted(id) + " (" + std::string(JobStateName(job->state)) +
                ") is also in the " + std::string(JobStateName(entry.state)) + " index of " +
                Quoted(entry.queue));
        if (repair_) Delete(entry);
      }
      if (at_place == nullptr) {
        Problem("job " + Quoted(id) + " (" + std::string(JobStateName(job->state)) +
                ") is not in the index of " + Quoted(job->queue));
        if (repair_) {
          batch_.Put(cfs_.at(job->queue), expected, id);
          Flush();
        }
      }
    }
    return FromRocks(it->status(), "read the job records");
  }

  void Delete(const Entry& entry) {
    batch_.Delete(cfs_.at(entry.queue), entry.key);
    Flush();
  }

  void Flush(bool force = false) {
    ++pending_;
    if (pending_ < 1000 && !force) return;
    if (batch_.Count() > 0) {
      report_->fixes += batch_.Count();
      Status written = database_->Write(&batch_, "repair");
      if (write_status_.ok()) write_status_ = written;
      batch_.Clear();
    }
    pending_ = 0;
  }

  Status Repair() {
    report_->repaired = true;
    for (const auto& [name, cf] : cfs_) {
      for (JobState state : kJobStates) {
        const std::uint64_t n = expected_[name][state];
        batch_.Put(cf, keys::CountKey(state), keys::EncodeCount(static_cast<std::int64_t>(n)));
      }
      batch_.Put(cf, keys::kCountedKey, keys::EncodeFlag(true));
    }
    Flush(true);
    HERALD_RETURN_IF_ERROR(write_status_);
    return database_->SyncWal();
  }

  Database* database_;
  const bool repair_;
  CheckReport* report_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> cfs_;
  std::unordered_map<std::string, std::vector<Entry>> entries_;  // job id -> its entries
  std::unordered_set<std::string> records_seen_;
  // Per queue, per state: the jobs there once repaired.
  std::map<std::string, std::map<JobState, std::uint64_t>> expected_;
  rocksdb::WriteBatch batch_;
  std::size_t pending_ = 0;
  Status write_status_;
};

}  // namespace

Result<CheckReport> CheckStore(const StoreOptions& options, bool repair) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(options.data_dir) / "CURRENT", ec)) {
    return Status::NotFound("no store in '" + options.data_dir + "'");
  }
  StoreOptions opened = options;
  opened.fsync = FsyncMode::kNo;
  auto log = options.logger ? options.logger
                            : std::make_shared<spdlog::logger>(
                                  "check", std::make_shared<spdlog::sinks::null_sink_mt>());
  CheckReport report;
  {
    HERALD_ASSIGN_OR_RETURN(std::unique_ptr<Database> database, Database::Open(opened, log));
    Checker checker(database.get(), repair, &report);
    HERALD_RETURN_IF_ERROR(checker.Run());
  }
  if (repair) {
    HERALD_ASSIGN_OR_RETURN(CheckReport again, CheckStore(options, false));
    report.left = again.problems;
    report.queues = std::move(again.queues);
  }
  return report;
}

}  // namespace herald::storage
