#include "storage/kv_store.h"

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>
#include <unordered_map>

#include "storage/kv_store_impl.h"
#include "storage/rocks_status.h"
#include "storage/scoped_snapshot.h"

namespace herald::storage {
namespace {

constexpr std::string_view kWrongType = "Operation against a key holding the wrong kind of value";
constexpr std::string_view kNotInteger = "value is not an integer or out of range";
constexpr std::string_view kOverflow = "increment or decrement would overflow";

// Lists this long or shorter are deleted element by element; longer ones with one range
// tombstone (cheaper to write, and reads skip a range tombstone at once).
constexpr std::uint64_t kPointDeleteMax = 64;

// Redis's string2ll: an optional '-', then digits without leading zeros ("0" alone is fine),
// at most 20 characters, within int64.
bool ParseRedisInt(std::string_view s, std::int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s == "0") {
    *out = 0;
    return true;
  }
  std::size_t p = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    p = 1;
    if (p == s.size()) return false;
  }
  if (s[p] < '1' || s[p] > '9') return false;
  std::uint64_t v = 0;
  for (; p < s.size(); ++p) {
    if (s[p] < '0' || s[p] > '9') return false;
    auto d = static_cast<std::uint64_t>(s[p] - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (negative) {
    if (v > kMax + 1) return false;
    *out = v == kMax + 1 ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(v);
  } else {
    if (v > kMax) return false;
    *out = static_cast<std::int64_t>(v);
  }
  return true;
}

// Redis LRANGE index normalisation; false when the range is empty.
bool NormaliseRange(std::int64_t len, std::int64_t* start, std::int64_t* stop) {
  if (*start < 0) *start += len;
  if (*stop < 0) *stop += len;
  if (*start < 0) *start = 0;
  if (*start > *stop || *start >= len) return false;
  if (*stop >= len) *stop = len - 1;
  return true;
}

// Redis's KEYS and SCAN skip matching for a lone "*" (so it also lists the empty key, which
// stringmatchlen would not match).
bool Matches(std::string_view pattern, std::string_view key) {
  return pattern == "*" || GlobMatch(pattern, key);
}

// The bytes before the first glob special character: every match starts with them.
std::string_view LiteralPrefix(std::string_view pattern) {
  std::size_t n = pattern.find_first_of("*?[\\");
  return n == std::string_view::npos ? pattern : pattern.substr(0, n);
}

// Redis's stringmatchlen (util.c), case-sensitive, with its guard against patterns that
// would take exponential time ("skip longer matches") and its nesting limit.
bool MatchImpl(const char* pattern, std::size_t pattern_len, const char* str, std::size_t str_len,
               bool* skip_longer_matches, int nesting) {
  if (nesting > 1000) return false;
  while (pattern_len > 0 && str_len > 0) {
    switch (pattern[0]) {
      case '*':
        while (pattern_len > 1 && pattern[1] == '*') {
          ++pattern;
          --pattern_len;
        }
        if (pattern_len == 1) return true;
        while (str_len > 0) {
          if (MatchImpl(pattern + 1, pattern_len - 1, str, str_len, skip_longer_matches,
                        nesting + 1)) {
            return true;
          }
          if (*skip_longer_matches) return false;
          ++str;
          --str_len;
        }
        // No match for the rest of the pattern from anywhere in the rest of the string: no
        // earlier '*' can help by matching more, so stop the whole search.
        *skip_longer_matches = true;
        return false;
      case '?':
        ++str;
        --str_len;
        break;
      case '[': {
        ++pattern;
        --pattern_len;
        bool negate = pattern_len > 0 && pattern[0] == '^';
        if (negate) {
          ++pattern;
          --pattern_len;
        }
        bool match = false;
        while (true) {
          if (pattern_len == 0) {
            // Unterminated class: Redis steps back so the outer loop's advance ends the pattern.
            --pattern;
            ++pattern_len;
            break;
          }
          if (pattern[0] == '\\' && pattern_len >= 2) {
            ++pattern;
            --pattern_len;
            if (pattern[0] == str[0]) match = true;
          } else if (pattern[0] == ']') {
            break;
          } else if (pattern_len >= 3 && pattern[1] == '-') {
            int start = pattern[0];
            int end = pattern[2];
            int c = str[0];
            if (start > end) std::swap(start, end);
            pattern += 2;
            pattern_len -= 2;
            if (c >= start && c <= end) match = true;
          } else if (pattern[0] == str[0]) {
            match = true;
          }
          ++pattern;
          --pattern_len;
        }
        if (negate) match = !match;
        if (!match) return false;
        ++str;
        --str_len;
        break;
      }
      case '\\':
        if (pattern_len >= 2) {
          ++pattern;
          --pattern_len;
        }
        [[fallthrough]];
      default:
        if (pattern[0] != str[0]) return false;
        ++str;
        --str_len;
        break;
    }
    ++pattern;
    --pattern_len;
    if (str_len == 0) {
      while (pattern_len > 0 && pattern[0] == '*') {
        ++pattern;
        --pattern_len;
      }
      break;
    }
  }
  return pattern_len == 0 && str_len == 0;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  bool skip_longer_matches = false;
  return MatchImpl(pattern.data(), pattern.size(), text.data(), text.size(), &skip_longer_matches,
                   0);
}

// ---- KvStoreImpl ------------------------------------------------------------------------------

Result<std::unique_ptr<KvStoreImpl>> KvStoreImpl::Open(rocksdb::DB* db,
                                                       rocksdb::ColumnFamilyHandle* cf,
                                                       rocksdb::WriteOptions write_options) {
  std::unique_ptr<KvStoreImpl> kv(new KvStoreImpl(db, cf, write_options));
  std::string end = keys::PrefixEnd(keys::kKvMetaPrefix);
  rocksdb::Slice lower(keys::kKvMetaPrefix.data(), keys::kKvMetaPrefix.size());
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
  std::uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "count kv keys"));
  MutexLock lock(&kv->write_mu_);
  kv->key_count_ = n;
  return kv;
}

Result<keys::KvMeta> KvStoreImpl::ReadMeta(std::string_view key,
                                           const rocksdb::Snapshot* snapshot) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(ro, cf_, keys::KvMetaKey(key), &value);
  if (s.IsNotFound()) return keys::KvMeta{};
  HERALD_RETURN_IF_ERROR(FromRocks(s, "read kv key"));
  auto meta = keys::DecodeKvMeta(std::string_view(value.data(), value.size()));
  if (!meta.ok()) return meta.status().WithPrefix("key '" + std::string(key) + "'");
  return meta;
}

void KvStoreImpl::DeleteElements(rocksdb::WriteBatch* batch, std::string_view key,
                                 const keys::KvMeta& meta) const {
  if (meta.type != KvType::kList || meta.tail == meta.head) return;
  if (meta.tail - meta.head <= kPointDeleteMax) {
    for (std::uint64_t pos = meta.head; pos < meta.tail; ++pos) {
      batch->Delete(cf_, keys::KvElementKey(key, pos));
    }
  } else {
    batch->DeleteRange(cf_, keys::KvElementKey(key, meta.head), keys::KvElementKey(key, meta.tail));
  }
}

Status KvStoreImpl::Write(rocksdb::WriteBatch* batch, std::string_view what) {
  return FromRocks(db_->Write(write_options_, batch), what);
}

Result<std::vector<std::string>> KvStoreImpl::ReadElements(
    std::string_view key, std::uint64_t from, std::uint64_t to, bool reverse,
    const rocksdb::Snapshot* snapshot) const {
  std::vector<std::string> out;
  if (to <= from) return out;
  std::string lower_key = keys::KvElementKey(key, from);
  std::string upper_key = keys::KvElementKey(key, to);
  rocksdb::Slice lower(lower_key);
  rocksdb::Slice upper(upper_key);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  ro.iterate_lower_bound = &lower;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(to - from, 1 << 16)));
  if (reverse) {
    for (it->SeekToLast(); it->Valid(); it->Prev()) out.emplace_back(it->value().ToString());
  } else {
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace_back(it->value().ToString());
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "read list"));
  if (out.size() != to - from) {
    return Status::Corruption("list '" + std::string(key) + "' is missing elements");
  }
  return out;
}

Result<std::optional<std::string>> KvStoreImpl::Get(std::string_view key) {
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(key, nullptr));
  if (meta.type == KvType::kNone) return std::optional<std::string>();
  if (meta.type != KvType::kString) return Status::WrongType(std::string(kWrongType));
  return std::optional<std::string>(std::move(meta.value));
}

Status KvStoreImpl::Set(std::string_view key, std::string_view value) {
  MutexLock lock(&write_mu_);
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(key, nullptr));
  rocksdb::WriteBatch batch;
  DeleteElements(&batch, key, meta);
  batch.Put(cf_, keys::KvMetaKey(key), keys::EncodeKvString(value));
  HERALD_RETURN_IF_ERROR(Write(&batch, "set"));
  if (meta.type == KvType::kNone) ++key_count_;
  return Status::Ok();
}

Result<std::int64_t> KvStoreImpl::IncrBy(std::string_view key, std::int64_t delta) {
  MutexLock lock(&write_mu_);
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(key, nullptr));
  if (meta.type == KvType::kList) return Status::WrongType(std::string(kWrongType));
  std::int64_t current = 0;
  if (meta.type == KvType::kString && !ParseRedisInt(meta.value, &current)) {
    return Status::InvalidArgument(std::string(kNotInteger));
  }
  if ((delta < 0 && current < 0 && delta < std::numeric_limits<std::int64_t>::min() - current) ||
      (delta > 0 && current > 0 && delta > std::numeric_limits<std::int64_t>::max() - current)) {
    return Status::InvalidArgument(std::string(kOverflow));
  }
  std::int64_t next = current + delta;
  rocksdb::WriteBatch batch;
  batch.Put(cf_, keys::KvMetaKey(key), keys::EncodeKvString(std::to_string(next)));
  HERALD_RETURN_IF_ERROR(Write(&batch, "incrby"));
  if (meta.type == KvType::kNone) ++key_count_;
  return next;
}

Status KvStoreImpl::MSet(const std::vector<std::pair<std::string, std::string>>& pairs) {
  MutexLock lock(&write_mu_);
  rocksdb::WriteBatch batch;
  std::set<std::string_view> seen;
  std::uint64_t added = 0;
  for (const auto& [key, value] : pairs) {
    if (seen.insert(key).second) {
      HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(key, nullptr));
      DeleteElements(&batch, key, meta);
      if (meta.type == KvType::kNone) ++added;
    }
    batch.Put(cf_, keys::KvMetaKey(key), keys::EncodeKvString(value));
  }
  HERALD_RETURN_IF_ERROR(Write(&batch, "mset"));
  key_count_ += added;
  return Status::Ok();
}

Result<std::int64_t> KvStoreImpl::Del(const std::vector<std::string>& keys) {
  MutexLock lock(&write_mu_);
  rocksdb::WriteBatch batch;
  std::set<std::string_view> seen;
  std::int64_t removed = 0;
  for (const auto& key : keys) {
    if (!seen.insert(key).second) continue;
    HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(key, nullptr));
    if (meta.type == KvType::kNone) continue;
    DeleteElements(&batch, key, meta);
    batch.Delete(cf_, keys::KvMetaKey(key));
    ++removed;
  }
  if (removed == 0) return std::int64_t{0};
  HERALD_RETURN_IF_ERROR(Write(&batch, "del"));
  key_count_ -= static_cast<std::uint64_t>(removed);
  return removed;
}

Result<std::int64_t> KvStoreImpl::Exists(const std::vector<std::string>& keys) {
  std::int64_t n = 0;
  for (const auto& key : keys) {  // Redis counts a key named twice twice
    HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(key, nullptr));
    if (meta.type != KvType::kNone) ++n;
  }
  return n;
}

Result<KvType> KvStoreImpl::Type(std::string_view key) {
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(key, nullptr));
  return meta.type;
}

Result<std::vector<std::string>> KvStoreImpl::Keys(std::string_view pattern) {
  std::string start = keys::KvMetaKey(LiteralPrefix(pattern));
  std::string end = keys::PrefixEnd(start);
  rocksdb::Slice lower(start);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  std::vector<std::string> out;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    std::string_view name(k.data() + keys::kKvMetaPrefix.size(),
                          k.size() - keys::kKvMetaPrefix.size());
    if (Matches(pattern, name)) out.emplace_back(name);
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "keys"));
  return out;
}

std::string KvStoreImpl::NewScanCursor(std::string resume_key) {
  MutexLock lock(&cursor_mu_);
  std::uint64_t id = next_cursor_++;
  cursors_.emplace(id, std::move(resume_key));
  while (cursors_.size() > kMaxCursors) cursors_.erase(cursors_.begin());
  return std::to_string(id);
}

Result<std::pair<std::string, std::vector<std::string>>> KvStoreImpl::Scan(std::string_view cursor,
                                                                           std::string_view pattern,
                                                                           std::uint32_t count) {
  std::string start;
  if (cursor == "0") {
    start = std::string(keys::kKvMetaPrefix);
  } else {
    std::uint64_t id = 0;
    auto [ptr, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), id);
    MutexLock lock(&cursor_mu_);
    auto found = cursors_.end();
    if (ec == std::errc() && ptr == cursor.data() + cursor.size()) found = cursors_.find(id);
    if (found == cursors_.end()) return Status::InvalidArgument("invalid cursor");
    start = found->second;
  }
  if (count == 0) count = 10;
  std::string end = keys::PrefixEnd(keys::kKvMetaPrefix);
  rocksdb::Slice lower(start);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  std::vector<std::string> out;
  std::uint32_t examined = 0;
  for (it->SeekToFirst(); it->Valid() && examined < count; it->Next(), ++examined) {
    rocksdb::Slice k = it->key();
    std::string_view name(k.data() + keys::kKvMetaPrefix.size(),
                          k.size() - keys::kKvMetaPrefix.size());
    if (Matches(pattern, name)) out.emplace_back(name);
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "scan"));
  std::string next = "0";
  if (it->Valid()) next = NewScanCursor(it->key().ToString());
  return std::make_pair(std::move(next), std::move(out));
}

Result<std::uint64_t> KvStoreImpl::Count() {
  MutexLock lock(&write_mu_);
  return key_count_;
}

Result<std::int64_t> KvStoreImpl::Push(std::string_view key, const std::vector<std::string>& values,
                                       bool left) {
  MutexLock lock(&write_mu_);
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(key, nullptr));
  if (meta.type == KvType::kString) return Status::WrongType(std::string(kWrongType));
  bool created = meta.type == KvType::kNone;
  if (created) meta.head = meta.tail = keys::kListStart;
  if (values.empty()) return static_cast<std::int64_t>(meta.tail - meta.head);
  rocksdb::WriteBatch batch;
  for (const auto& v : values) {
    std::uint64_t pos = left ? --meta.head : meta.tail++;
    batch.Put(cf_, keys::KvElementKey(key, pos), v);
  }
  batch.Put(cf_, keys::KvMetaKey(key), keys::EncodeKvList(meta.head, meta.tail));
  HERALD_RETURN_IF_ERROR(Write(&batch, left ? "lpush" : "rpush"));
  if (created) ++key_count_;
  return static_cast<std::int64_t>(meta.tail - meta.head);
}

Result<std::vector<std::string>> KvStoreImpl::Pop(std::string_view key, std::uint32_t count,
                                                  bool left) {
  MutexLock lock(&write_mu_);
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(key, nullptr));
  if (meta.type == KvType::kNone) return std::vector<std::string>();
  if (meta.type != KvType::kList) return Status::WrongType(std::string(kWrongType));
  std::uint64_t n = std::min<std::uint64_t>(count, meta.tail - meta.head);
  if (n == 0) return std::vector<std::string>();
  std::uint64_t from = left ? meta.head : meta.tail - n;
  std::uint64_t to = left ? meta.head + n : meta.tail;
  HERALD_ASSIGN_OR_RETURN(std::vector<std::string> values,
                          ReadElements(key, from, to, /*reverse=*/!left, nullptr));
  rocksdb::WriteBatch batch;
  if (n <= kPointDeleteMax) {
    for (std::uint64_t pos = from; pos < to; ++pos) batch.Delete(cf_, keys::KvElementKey(key, pos));
  } else {
    batch.DeleteRange(cf_, keys::KvElementKey(key, from), keys::KvElementKey(key, to));
  }
  if (left) {
    meta.head += n;
  } else {
    meta.tail -= n;
  }
  bool emptied = meta.head == meta.tail;
  if (emptied) {
    batch.Delete(cf_, keys::KvMetaKey(key));
  } else {
    batch.Put(cf_, keys::KvMetaKey(key), keys::EncodeKvList(meta.head, meta.tail));
  }
  HERALD_RETURN_IF_ERROR(Write(&batch, left ? "lpop" : "rpop"));
  if (emptied) --key_count_;
  return values;
}

Result<std::int64_t> KvStoreImpl::Len(std::string_view key) {
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(key, nullptr));
  if (meta.type == KvType::kNone) return std::int64_t{0};
  if (meta.type != KvType::kList) return Status::WrongType(std::string(kWrongType));
  return static_cast<std::int64_t>(meta.tail - meta.head);
}

namespace {

// Releases a snapshot when it goes out of scope.

}  // namespace

Result<std::vector<std::string>> KvStoreImpl::Range(std::string_view key, std::int64_t start,
                                                    std::int64_t stop) {
  ScopedSnapshot snapshot(db_);
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(key, snapshot.get()));
  if (meta.type == KvType::kNone) return std::vector<std::string>();
  if (meta.type != KvType::kList) return Status::WrongType(std::string(kWrongType));
  auto len = static_cast<std::int64_t>(meta.tail - meta.head);
  if (!NormaliseRange(len, &start, &stop)) return std::vector<std::string>();
  return ReadElements(key, meta.head + static_cast<std::uint64_t>(start),
                      meta.head + static_cast<std::uint64_t>(stop) + 1, /*reverse=*/false,
                      snapshot.get());
}

Result<std::optional<std::string>> KvStoreImpl::Index(std::string_view key, std::int64_t index) {
  ScopedSnapshot snapshot(db_);
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(key, snapshot.get()));
  if (meta.type == KvType::kNone) return std::optional<std::string>();
  if (meta.type != KvType::kList) return Status::WrongType(std::string(kWrongType));
  auto len = static_cast<std::int64_t>(meta.tail - meta.head);
  if (index < 0) index += len;
  if (index < 0 || index >= len) return std::optional<std::string>();
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.get();
  std::string value;
  rocksdb::Status s = db_->Get(
      ro, cf_, keys::KvElementKey(key, meta.head + static_cast<std::uint64_t>(index)), &value);
  if (s.IsNotFound()) {
    return Status::Corruption("list '" + std::string(key) + "' is missing an element");
  }
  HERALD_RETURN_IF_ERROR(FromRocks(s, "lindex"));
  return std::optional<std::string>(std::move(value));
}

}  // namespace herald::storage
