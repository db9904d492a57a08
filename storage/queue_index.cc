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

IndexHead::Entry IndexHead::Claim() {
  Entry e = PopFront();
  e.claim = ++next_claim_;
  claims_[e.key].push_back(ClaimState{e.claim, true});
  return e;
}

bool IndexHead::EndClaim(const Entry& claimed) {
  auto it = claims_.find(claimed.key);
  if (it == claims_.end()) return false;
  std::vector<ClaimState>& of_key = it->second;
  auto mine = std::find_if(of_key.begin(), of_key.end(),
                           [&](const ClaimState& c) { return c.claim == claimed.claim; });
  if (mine == of_key.end()) return false;
  const bool valid = mine->valid;
  of_key.erase(mine);
  if (of_key.empty()) claims_.erase(it);
  return valid;
}

void IndexHead::AppendScanned(std::vector<Entry> entries, bool reached_end,
                              std::string_view scanned_to) {
  if (!entries.empty()) lower_ = keys::Successor(entries.back().key);
  if (!scanned_to.empty() && scanned_to >= lower_) lower_ = keys::Successor(scanned_to);
  for (auto& e : entries) ahead_.push_back(std::move(e));
  complete_ = reached_end;
  Trim();
}

void IndexHead::Insert(std::string key, std::string id, std::shared_ptr<const Job> record) {
  if (key >= lower_) {
    if (!complete_) return;
    // Nothing live at or above lower(): the new key is the last one.
    lower_ = keys::Successor(key);
    ahead_.push_back(Entry{std::move(key), std::move(id), std::move(record)});
    Trim();
    return;
  }
  auto pos = FindPos(ahead_, key);
  if (pos != ahead_.end() && pos->key == key) {
    pos->id = std::move(id);
    pos->record = std::move(record);
    return;
  }
  ahead_.insert(pos, Entry{std::move(key), std::move(id), std::move(record)});
  Trim();
}

void IndexHead::Trim() {
  while (ahead_.size() > kMaxAhead) {
    // The forgotten entry is live and below the old lower bound: the new bound is its key.
    lower_ = std::move(ahead_.back().key);
    ahead_.pop_back();
    complete_ = false;
  }
}

void IndexHead::Erase(const std::string& key) {
  if (!claims_.empty()) {
    auto of_key = claims_.find(key);
    if (of_key != claims_.end()) {
      for (ClaimState& c : of_key->second) c.valid = false;
    }
  }
  if (ahead_.empty() || key >= lower_) return;
  auto pos = FindPos(ahead_, key);
  if (pos != ahead_.end() && pos->key == key) ahead_.erase(pos);
}

void IndexHead::Reset(std::string_view prefix) {
  ahead_.clear();
  complete_ = false;
  claims_.clear();
  lower_ = std::string(prefix);
}

}  // namespace herald::storage
