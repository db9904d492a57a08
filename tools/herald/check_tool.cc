#include "tools/herald/check_tool.h"

#include <chrono>

#include "storage/store_check.h"
#include "tools/herald/tool_support.h"

namespace herald::tools {
namespace {

std::string Pair(std::uint64_t counted, std::uint64_t stored) {
  if (counted == stored) return std::to_string(counted);
  return std::to_string(counted) + " (counter " +
         (stored == ~std::uint64_t{0} ? std::string("unreadable") : std::to_string(stored)) + ")";
}

}  // namespace

int RunCheck(const CheckFlags& flags, std::FILE* out, std::FILE* err) {
  if (flags.data_dir.empty()) {
    std::fprintf(err, "herald check: --data-dir is required\n");
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  std::fprintf(err, "herald check: reading every index entry and job record of %s...\n",
               flags.data_dir.c_str());
  storage::StoreOptions options;
  options.data_dir = flags.data_dir;
  options.block_cache_mb = 8;
  auto report = storage::CheckStore(options, flags.repair);
  if (!report.ok()) {
    std::fprintf(err, "herald check: %s%s\n", report.status().message().c_str(),
                 report.status().IsIOError() ? " (is a Herald running on it?)" : "");
    return 2;
  }
  std::vector<Row> rows;
  for (const storage::CheckedQueue& queue : report->queues) {
    const storage::QueueCounts& c = queue.counted;
    const storage::QueueCounts& s = queue.stored;
    rows.push_back({queue.name, Pair(c.waiting, s.waiting), Pair(c.active, s.active),
                    Pair(c.delayed, s.delayed), Pair(c.completed, s.completed),
                    Pair(c.failed, s.failed), c.paused ? "yes" : "no"});
  }
  PrintTable(out, {"QUEUE", "WAITING", "ACTIVE", "DELAYED", "COMPLETED", "FAILED", "PAUSED"}, rows);
  for (const std::string& problem : report->listed)
    std::fprintf(out, "problem: %s\n", problem.c_str());
  if (report->problems > report->listed.size()) {
    std::fprintf(out, "... and %llu more\n",
                 static_cast<unsigned long long>(report->problems - report->listed.size()));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(out, "check: %llu job records, %llu problem(s) (%.1f s)\n",
               static_cast<unsigned long long>(report->records),
               static_cast<unsigned long long>(report->problems), seconds);
  if (report->repaired) {
    std::fprintf(out,
                 "repair: %llu entries and counters written or deleted; %llu problem(s) left\n",
                 static_cast<unsigned long long>(report->fixes),
                 static_cast<unsigned long long>(report->left));
    return report->left == 0 ? 0 : 1;
  }
  if (report->problems > 0) std::fprintf(out, "run again with --repair to rebuild the indexes\n");
  return report->problems == 0 ? 0 : 1;
}

}  // namespace herald::tools
