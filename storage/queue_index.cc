#include "storage/queue_index.h"

#include <algorithm>

#include "storage/keys.h"

namespace herald::storage {
namespace {

auto FindPos(std::deque<IndexHead::Entry>& ahead, std::string_view key) {
  return std::lower_bound(ahead.begin(), ahead.end(), key,
                          [](const IndexHead::Entry& e, std::string_view k) { return e.key < k; });
}

}  // namespace

std::string_view IndexHead::ScanStart() const {
  return ahead_.empty() ? std::string_view(lower_) : std::string_view(ahead_.front().key);
}

IndexHead::Entry IndexHead::PopFront() {
  Entry e = std::move(ahead_.front());
  ahead_.pop_front();
  return e;
}

void IndexHead::AppendScanned(std::vector<Entry> entries) {
  if (entries.empty()) return;
  lower_ = keys::Successor(entries.back().key);
  for (auto& e : entries) ahead_.push_back(std::move(e));
  while (ahead_.size() > kMaxAhead) {
    lower_ = std::move(ahead_.back().key);
    ahead_.pop_back();
  }
}

void IndexHead::Insert(std::string key, std::string id) {
  if (key >= lower_) return;
  auto pos = FindPos(ahead_, key);
  if (pos != ahead_.end() && pos->key == key) {
    pos->id = std::move(id);
    return;
  }
  ahead_.insert(pos, Entry{std::move(key), std::move(id)});
  if (ahead_.size() > kMaxAhead) {
    // The forgotten entry is live and below the old lower bound: the new bound is its key.
    lower_ = std::move(ahead_.back().key);
    ahead_.pop_back();
  }
}

void IndexHead::Erase(std::string_view key) {
  if (ahead_.empty() || key >= lower_) return;
  auto pos = FindPos(ahead_, key);
  if (pos != ahead_.end() && pos->key == key) ahead_.erase(pos);
}

void IndexHead::Reset(std::string_view prefix) {
  ahead_.clear();
  lower_ = std::string(prefix);
}

}  // namespace herald::storage
