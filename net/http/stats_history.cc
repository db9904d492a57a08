#include "net/http/stats_history.h"

#include <boost/json.hpp>

#include <algorithm>
#include <map>

namespace herald::net::http {
namespace {

namespace json = boost::json;

constexpr std::string_view kPrefix = "stats|";

std::string MinuteKey(std::int64_t minute) {
  std::string key(kPrefix);
  for (int shift = 56; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>((static_cast<std::uint64_t>(minute) >> shift) & 0xff));
  }
  return key;
}

std::string RowKey(const MinuteStats& stats) { return MinuteKey(stats.minute) + stats.queue; }

std::string Encode(const MinuteStats& stats) {
  json::object out;
  out["added"] = stats.added;
  out["completed"] = stats.completed;
  out["failed"] = stats.failed;
  out["waitP50Ms"] = stats.wait_p50_ms;
  out["waitP99Ms"] = stats.wait_p99_ms;
  out["latenessP99Ms"] = stats.lateness_p99_ms;
  return json::serialize(out);
}

double NumberOf(const json::object& object, const char* key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr) return 0;
  if (value->is_double()) return value->get_double();
  if (value->is_int64()) return static_cast<double>(value->get_int64());
  if (value->is_uint64()) return static_cast<double>(value->get_uint64());
  return 0;
}

std::optional<MinuteStats> Decode(std::string_view key, std::string_view value) {
  if (key.size() < kPrefix.size() + 8) return std::nullopt;
  MinuteStats stats;
  std::uint64_t minute = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    minute = (minute << 8) | static_cast<unsigned char>(key[kPrefix.size() + i]);
  }
  stats.minute = static_cast<std::int64_t>(minute);
  stats.queue = std::string(key.substr(kPrefix.size() + 8));
  boost::system::error_code ec;
  json::value parsed = json::parse(value, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const json::object& object = parsed.get_object();
  stats.added = static_cast<std::uint64_t>(NumberOf(object, "added"));
  stats.completed = static_cast<std::uint64_t>(NumberOf(object, "completed"));
  stats.failed = static_cast<std::uint64_t>(NumberOf(object, "failed"));
  stats.wait_p50_ms = NumberOf(object, "waitP50Ms");
  stats.wait_p99_ms = NumberOf(object, "waitP99Ms");
  stats.lateness_p99_ms = NumberOf(object, "latenessP99Ms");
  return stats;
}

MinuteStats StatsOf(const std::string& queue, const MinuteActivity& minute) {
  MinuteStats stats;
  stats.minute = minute.minute;
  stats.queue = queue;
  stats.added = minute.added;
  stats.completed = minute.completed;
  stats.failed = minute.failed;
  stats.wait_p50_ms = minute.wait.Quantile(0.5);
  stats.wait_p99_ms = minute.wait.Quantile(0.99);
  stats.lateness_p99_ms = minute.lateness.Quantile(0.99);
  return stats;
}

}  // namespace

void StatsHistory::Start(std::chrono::milliseconds interval) {
  thread_ = std::jthread([this, interval](std::stop_token stop) {
    while (!stop.stop_requested()) {
      {
        MutexLock lock(&stop_mu_);
        stop_cv_.wait_for(stop_mu_, stop, interval, [] { return false; });
      }
      if (stop.stop_requested()) break;
      (void)Flush();
    }
  });
}

void StatsHistory::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  stop_cv_.notify_all();
  thread_.join();
  (void)Flush(/*include_current=*/true);
}

Status StatsHistory::Flush(bool include_current) {
  MutexLock lock(&mu_);
  std::int64_t now = clock_->NowMs();
  std::int64_t current = now / 60000;
  std::int64_t through = include_current ? current : current - 1;
  for (const auto& [queue, totals] : activity_->Totals()) {
    for (const MinuteActivity& minute : activity_->Minutes(queue, flushed_through_ + 1)) {
      if (minute.minute > through) continue;
      MinuteStats stats = StatsOf(queue, minute);
      // A minute written before (by an earlier process, or partly at a stop) is added to.
      bool partly_ours = minute.minute == current_written_;
      HERALD_ASSIGN_OR_RETURN(auto existing,
                              records_->Get(engine::RecordKind::kAdmin, RowKey(stats)));
      if (existing && !partly_ours) {
        if (auto before = Decode(RowKey(stats), *existing)) {
          stats.added += before->added;
          stats.completed += before->completed;
          stats.failed += before->failed;
          stats.wait_p99_ms = std::max(stats.wait_p99_ms, before->wait_p99_ms);
          stats.lateness_p99_ms = std::max(stats.lateness_p99_ms, before->lateness_p99_ms);
        }
      }
      HERALD_RETURN_IF_ERROR(
          records_->Put(engine::RecordKind::kAdmin, RowKey(stats), Encode(stats)));
    }
  }
  if (include_current) current_written_ = current;
  flushed_through_ = std::max(flushed_through_, current - 1);
  // Rows older than the bound go, oldest first.
  HERALD_ASSIGN_OR_RETURN(auto oldest, records_->Scan(engine::RecordKind::kAdmin, kPrefix, 1024,
                                                      engine::ScanOrder::kOldestFirst));
  const std::string keep_from = MinuteKey((now - kKeepMs) / 60000);
  for (const auto& [key, value] : oldest) {
    if (key >= keep_from) break;
    HERALD_RETURN_IF_ERROR(records_->Delete(engine::RecordKind::kAdmin, key));
  }
  return Status::Ok();
}

Result<std::vector<MinuteStats>> StatsHistory::Since(std::int64_t since_ms) const {
  std::int64_t since_minute = std::max<std::int64_t>(0, since_ms / 60000);
  std::map<std::pair<std::int64_t, std::string>, MinuteStats> rows;
  // Newest first, as many rows as the minutes asked for can hold (one per queue each).
  std::int64_t minutes = std::max<std::int64_t>(1, clock_->NowMs() / 60000 - since_minute + 1);
  auto limit = static_cast<std::uint32_t>(std::min<std::int64_t>(
      minutes * static_cast<std::int64_t>(activity_->Totals().size() + 8), 1 << 22));
  HERALD_ASSIGN_OR_RETURN(auto stored, records_->Scan(engine::RecordKind::kAdmin, kPrefix, limit,
                                                      engine::ScanOrder::kNewestFirst));
  const std::string from = MinuteKey(since_minute);
  for (const auto& [key, value] : stored) {
    if (key < from) break;
    if (auto stats = Decode(key, value)) rows[{stats->minute, stats->queue}] = *stats;
  }
  // What is still only in memory: minutes not yet written, and the current one.
  for (const auto& [queue, totals] : activity_->Totals()) {
    for (const MinuteActivity& minute : activity_->Minutes(queue, since_minute)) {
      auto key = std::make_pair(minute.minute, queue);
      if (rows.count(key) == 0) rows[key] = StatsOf(queue, minute);
    }
  }
  std::vector<MinuteStats> out;
  out.reserve(rows.size());
  for (auto& [key, stats] : rows) out.push_back(std::move(stats));
  return out;
}

}  // namespace herald::net::http
