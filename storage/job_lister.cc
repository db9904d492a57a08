#include "storage/job_lister.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "storage/bounded_iterator.h"
#include "storage/keys.h"

namespace herald::storage {

Result<JobPage> JobLister::List(std::string_view queue, JobState state, std::string_view cursor,
                                std::uint32_t count) const {
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, registry_->Require(queue));
  count = std::clamp<std::uint32_t>(count, 1, 10000);
  if (state == JobState::kActive) return ListActive(queue, cursor, count);
  return ListIndex(qs, state, cursor, count);
}

Result<JobPage> JobLister::ListIndex(QueueState* qs, JobState state, std::string_view cursor,
                                     std::uint32_t count) const {
  std::string prefix(keys::IndexPrefix(state));
  std::string scan_start = prefix;
  {
    MutexLock lock(&qs->mu());
    if (IndexHead* head = qs->HeadOf(state)) scan_start = std::string(head->ScanStart());
  }
  std::optional<std::string> from;
  if (!cursor.empty()) {
    std::optional<std::string> raw = keys::FromHex(cursor);
    if (!raw) return Status::InvalidArgument("invalid cursor");
    from = prefix + *raw;
  }
  bool newest_first = state == JobState::kCompleted || state == JobState::kFailed;
  std::string lower_key = scan_start;
  std::string upper_key = keys::IndexEnd(state);
  if (from) {
    if (newest_first) {
      upper_key = keys::Successor(*from);
    } else {
      lower_key = std::max(lower_key, *from);
    }
  }
  BoundedIterator it(database_->db(), qs->cf(), std::move(lower_key), std::move(upper_key));
  std::vector<IndexHead::Entry> entries;
  if (newest_first) {
    for (it->SeekToLast(); it->Valid() && entries.size() <= count; it->Prev()) {
      entries.push_back({it->key().ToString(), it->value().ToString(), nullptr});
    }
  } else {
    for (it->SeekToFirst(); it->Valid() && entries.size() <= count; it->Next()) {
      if (keys::DecodeLease(it->value().ToStringView())) continue;  // an active job
      entries.push_back({it->key().ToString(), it->value().ToString(), nullptr});
    }
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "list " + qs->name()));
  JobPage page;
  if (entries.size() > count) {
    page.next_cursor = keys::ToHex(std::string_view(entries.back().key).substr(prefix.size()));
    entries.pop_back();
  }
  for (const auto& e : entries) {
    Result<Job> job = reader_->Read(e.id);
    if (!job.ok()) {
      if (job.status().IsNotFound()) continue;  // removed since the scan
      return job.status();
    }
    page.jobs.push_back(std::move(*job));
  }
  return page;
}

Result<JobPage> JobLister::ListActive(std::string_view queue, std::string_view cursor,
                                      std::uint32_t count) const {
  // Active jobs live in memory (keys.h, leases); the cursor is the next job's be64 seq.
  std::uint64_t from_seq = 0;
  if (!cursor.empty()) {
    std::optional<std::string> raw = keys::FromHex(cursor);
    if (!raw || raw->size() != 8) return Status::InvalidArgument("invalid cursor");
    from_seq = keys::LoadBe64(raw->data());
  }
  std::vector<ActiveJobs::Found> active = active_->OfQueue(queue);
  std::erase_if(active, [&](const ActiveJobs::Found& f) { return f.job->seq < from_seq; });
  std::sort(active.begin(), active.end(),
            [](const auto& a, const auto& b) { return a.job->seq < b.job->seq; });
  JobPage page;
  if (active.size() > count) {
    std::string raw;
    keys::PutBe64(&raw, active[count].job->seq);
    page.next_cursor = keys::ToHex(raw);
    active.resize(count);
  }
  for (const ActiveJobs::Found& found : active) {
    Result<Job> job = reader_->ReadActive(found);
    if (!job.ok()) {
      if (job.status().IsNotFound()) continue;  // removed since
      return job.status();
    }
    page.jobs.push_back(std::move(*job));
  }
  return page;
}

}  // namespace herald::storage
