#include "storage/keys.h"

#include <algorithm>

namespace herald::storage::keys {

std::string QueueCfName(std::string_view queue) {
  std::string out(kQueueCfPrefix);
  out.append(queue);
  return out;
}

std::optional<std::string_view> QueueOfCfName(std::string_view cf_name) {
  if (cf_name.size() <= kQueueCfPrefix.size() || !cf_name.starts_with(kQueueCfPrefix)) {
    return std::nullopt;
  }
  return cf_name.substr(kQueueCfPrefix.size());
}

std::string KvCfName(int db) {
  if (db == 0) return std::string(kKvCf);
  std::string out(kKvCfPrefix);
  out.append(std::to_string(db));
  return out;
}

std::optional<int> KvDatabaseOfCfName(std::string_view cf_name) {
  if (cf_name == kKvCf) return 0;
  if (!cf_name.starts_with(kKvCfPrefix)) return std::nullopt;
  std::string_view digits = cf_name.substr(kKvCfPrefix.size());
  // One or two digits, no leading zero: the names KvCfName writes.
  if (digits.empty() || digits.size() > 2 || digits[0] < '1' || digits[0] > '9') {
    return std::nullopt;
  }
  int db = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    db = db * 10 + (c - '0');
  }
  if (db >= kKvDatabases) return std::nullopt;
  return db;
}

// ---- meta -------------------------------------------------------------------------------------

std::string QueueRegistryKey(std::string_view queue) {
  std::string out(kQueueRegistryPrefix);
  out.append(queue);
  return out;
}

std::string MetaRecordKey(std::string_view key) {
  std::string out(kMetaRecordPrefix);
  out.append(key);
  return out;
}

namespace {

// "u8 1, be32 x" / "u8 1, be64 x" values; `what` names the value in Corruption messages.
Result<std::uint64_t> DecodeVersioned64(std::string_view value, std::string_view what) {
  Reader r(value);
  std::uint8_t version = 0;
  std::uint64_t v = 0;
  if (!r.GetU8(&version)) return Status::Corruption(std::string(what) + ": empty value");
  if (version != kValueVersion) {
    return Status::Corruption(std::string(what) + ": unknown version " + std::to_string(version));
  }
  if (!r.GetBe64(&v) || !r.empty()) {
    return Status::Corruption(std::string(what) + ": bad length " + std::to_string(value.size()));
  }
  return v;
}

}  // namespace

std::string EncodeFormatVersion(std::uint32_t version) {
  std::string out(1, static_cast<char>(kValueVersion));
  PutBe32(&out, version);
  return out;
}

Result<std::uint32_t> DecodeFormatVersion(std::string_view value) {
  Reader r(value);
  std::uint8_t version = 0;
  std::uint32_t format = 0;
  if (!r.GetU8(&version) || version != kValueVersion || !r.GetBe32(&format) || !r.empty()) {
    return Status::Corruption("format version row is malformed");
  }
  return format;
}

std::string EncodeSeqLimit(std::uint64_t limit) {
  std::string out(1, static_cast<char>(kValueVersion));
  PutBe64(&out, limit);
  return out;
}

Result<std::uint64_t> DecodeSeqLimit(std::string_view value) {
  return DecodeVersioned64(value, "sequence limit row");
}

std::string EncodeQueueRow(std::int64_t created_ms) {
  std::string out(1, static_cast<char>(kValueVersion));
  PutBe64(&out, static_cast<std::uint64_t>(created_ms));
  return out;
}

Result<std::int64_t> DecodeQueueRow(std::string_view value) {
  auto v = DecodeVersioned64(value, "queue registry row");
  if (!v.ok()) return v.status();
  return static_cast<std::int64_t>(*v);
}

// ---- q.<queue> --------------------------------------------------------------------------------

std::string_view IndexPrefix(JobState state) {
  switch (state) {
    case JobState::kWaiting:
      return "w|";
    case JobState::kDelayed:
      return "d|";
    case JobState::kActive:
      return "a|";
    case JobState::kFailed:
      return "f|";
    case JobState::kCompleted:
      return "c|";
  }
  return "?|";
}

std::string IndexEnd(JobState state) { return PrefixEnd(IndexPrefix(state)); }

std::string WaitingKey(std::uint32_t priority, std::uint64_t seq) {
  std::string out("w|");
  PutBe32(&out, priority);
  PutBe64(&out, seq);
  return out;
}

std::string DelayedKey(std::int64_t due_ms, std::uint64_t seq) {
  std::string out("d|");
  PutTime(&out, due_ms);
  PutBe64(&out, seq);
  return out;
}

std::string ActiveKey(std::uint64_t seq) {
  std::string out("a|");
  PutBe64(&out, seq);
  return out;
}

std::string FailedKey(std::int64_t finished_ms, std::uint64_t seq) {
  std::string out("f|");
  PutTime(&out, finished_ms);
  PutBe64(&out, seq);
  return out;
}

std::string CompletedKey(std::int64_t finished_ms, std::uint64_t seq) {
  std::string out("c|");
  PutTime(&out, finished_ms);
  PutBe64(&out, seq);
  return out;
}

std::string EncodeLease(std::string_view id, std::uint32_t attempts_made, std::int64_t processed_ms,
                        std::string_view worker) {
  std::string out;
  out.reserve(id.size() + worker.size() + 20);
  out.push_back('\0');
  out.push_back(static_cast<char>(kLeaseVersion));
  PutVarint(&out, attempts_made);
  PutZigzag(&out, processed_ms);
  PutLengthPrefixed(&out, worker);
  out.append(id);
  return out;
}

std::optional<Lease> DecodeLease(std::string_view value) {
  if (value.size() < 2 || value[0] != '\0') return std::nullopt;
  Reader in(value.substr(1));
  std::uint8_t version = 0;
  Lease lease;
  if (!in.GetU8(&version) || (version != kLeaseVersion && version != kLeaseVersionWithoutWorker) ||
      !in.GetVarint32(&lease.attempts_made) || !in.GetZigzag(&lease.processed_ms)) {
    return std::nullopt;
  }
  if (version == kLeaseVersion && !in.GetLengthPrefixed(&lease.worker)) return std::nullopt;
  lease.id = in.rest();
  if (lease.id.empty()) return std::nullopt;
  return lease;
}

std::string TimeIndexBound(JobState state, std::int64_t time_ms) {
  std::string out(IndexPrefix(state));
  PutTime(&out, time_ms);
  return out;
}

std::string IndexKeyOf(const Job& job) {
  switch (job.state) {
    case JobState::kWaiting:
      return WaitingKey(job.priority, job.seq);
    case JobState::kDelayed:
      return DelayedKey(job.due_ms, job.seq);
    case JobState::kActive:
      return WaitingKey(job.priority, job.seq);
    case JobState::kFailed:
      return FailedKey(job.finished_ms, job.seq);
    case JobState::kCompleted:
      return CompletedKey(job.finished_ms, job.seq);
  }
  return {};
}

std::optional<std::int64_t> TimeOfIndexKey(std::string_view key) {
  if (key.size() < 2 + 8) return std::nullopt;
  return static_cast<std::int64_t>(LoadBe64(key.data() + 2));
}

std::string EncodeFlag(bool value) {
  std::string out(1, static_cast<char>(kValueVersion));
  out.push_back(value ? 1 : 0);
  return out;
}

Result<bool> DecodeFlag(std::string_view value) {
  if (value.size() != 2 || static_cast<std::uint8_t>(value[0]) != kValueVersion ||
      static_cast<std::uint8_t>(value[1]) > 1) {
    return Status::Corruption("flag value is malformed");
  }
  return value[1] == 1;
}

// ---- kv ---------------------------------------------------------------------------------------

std::string KvMetaKey(std::string_view key) {
  std::string out(kKvMetaPrefix);
  out.append(key);
  return out;
}

std::string KvElementPrefix(std::string_view key) {
  std::string out(kKvElementPrefix);
  PutBe32(&out, static_cast<std::uint32_t>(key.size()));
  out.append(key);
  return out;
}

std::string KvElementKey(std::string_view key, std::uint64_t pos) {
  std::string out = KvElementPrefix(key);
  PutBe64(&out, pos);
  return out;
}

std::string EncodeKvString(std::string_view value) {
  std::string out;
  out.reserve(2 + value.size());
  out.push_back(static_cast<char>(kValueVersion));
  out.push_back(static_cast<char>(KvType::kString));
  out.append(value);
  return out;
}

std::string KvNodeKey(std::string_view key, std::uint64_t node_id) {
  return KvElementKey(key, node_id);
}

std::string EncodeKvElementList(std::uint64_t head, std::uint64_t tail) {
  std::string out;
  out.push_back(static_cast<char>(kValueVersion));
  out.push_back(static_cast<char>(KvType::kList));
  PutBe64(&out, head);
  PutBe64(&out, tail);
  return out;
}

std::string EncodeKvList(const KvMeta& meta) {
  std::string out = EncodeKvElementList(meta.head, meta.tail);
  PutBe64(&out, meta.head_node);
  PutBe64(&out, meta.tail_node);
  PutBe64(&out, meta.next_node);
  return out;
}

Result<KvMeta> DecodeKvMeta(std::string_view value) {
  Reader r(value);
  std::uint8_t version = 0;
  std::uint8_t type = 0;
  if (!r.GetU8(&version)) return Status::Corruption("kv value is empty");
  if (version != kValueVersion) {
    return Status::Corruption("kv value has unknown version " + std::to_string(version));
  }
  if (!r.GetU8(&type)) return Status::Corruption("kv value truncated at type");
  KvMeta meta;
  if (type == static_cast<std::uint8_t>(KvType::kString)) {
    meta.type = KvType::kString;
    meta.value = std::string(r.rest());
    return meta;
  }
  if (type == static_cast<std::uint8_t>(KvType::kList)) {
    meta.type = KvType::kList;
    if (!r.GetBe64(&meta.head) || !r.GetBe64(&meta.tail) || meta.tail < meta.head) {
      return Status::Corruption("kv list header is malformed");
    }
    if (r.empty()) {
      meta.element_rows = true;
      return meta;
    }
    if (!r.GetBe64(&meta.head_node) || !r.GetBe64(&meta.tail_node) || !r.GetBe64(&meta.next_node) ||
        !r.empty() || meta.head_node == 0 || meta.tail_node == 0 ||
        meta.next_node <= std::max(meta.head_node, meta.tail_node)) {
      return Status::Corruption("kv list header is malformed");
    }
    return meta;
  }
  return Status::Corruption("kv value has unknown type " + std::to_string(type));
}

// ---- Key arithmetic ---------------------------------------------------------------------------

std::string Successor(std::string_view key) {
  std::string out(key);
  out.push_back('\0');
  return out;
}

std::string PrefixEnd(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    auto last = static_cast<unsigned char>(out.back());
    if (last != 0xff) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

// ---- Byte coding ------------------------------------------------------------------------------

void PutBe32(std::string* out, std::uint32_t v) {
  char buf[4];
  for (int i = 3; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(buf, sizeof buf);
}

void PutBe64(std::string* out, std::uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(buf, sizeof buf);
}

std::uint32_t LoadBe32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::uint64_t LoadBe64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void PutVarint(std::string* out, std::uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, static_cast<std::size_t>(n));
}

void PutZigzag(std::string* out, std::int64_t v) {
  auto u = static_cast<std::uint64_t>(v);
  PutVarint(out, (u << 1) ^ (v < 0 ? ~std::uint64_t{0} : 0));
}

void PutLengthPrefixed(std::string* out, std::string_view bytes) {
  PutVarint(out, bytes.size());
  out->append(bytes);
}

void PutTime(std::string* out, std::int64_t time_ms) {
  PutBe64(out, static_cast<std::uint64_t>(std::max<std::int64_t>(time_ms, 0)));
}

bool Reader::GetU8(std::uint8_t* v) {
  if (in_.empty()) return false;
  *v = static_cast<std::uint8_t>(in_[0]);
  in_.remove_prefix(1);
  return true;
}

bool Reader::GetBe32(std::uint32_t* v) {
  if (in_.size() < 4) return false;
  *v = LoadBe32(in_.data());
  in_.remove_prefix(4);
  return true;
}

bool Reader::GetBe64(std::uint64_t* v) {
  if (in_.size() < 8) return false;
  *v = LoadBe64(in_.data());
  in_.remove_prefix(8);
  return true;
}

bool Reader::GetVarint(std::uint64_t* v) {
  std::uint64_t result = 0;
  for (std::size_t i = 0; i < 10 && i < in_.size(); ++i) {
    auto byte = static_cast<std::uint64_t>(static_cast<unsigned char>(in_[i]));
    // The tenth byte may only carry the top bit of a 64-bit value.
    if (i == 9 && byte > 1) return false;
    result |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      *v = result;
      in_.remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

bool Reader::GetVarint32(std::uint32_t* v) {
  std::uint64_t wide = 0;
  if (!GetVarint(&wide) || wide > 0xffffffffULL) return false;
  *v = static_cast<std::uint32_t>(wide);
  return true;
}

bool Reader::GetZigzag(std::int64_t* v) {
  std::uint64_t u = 0;
  if (!GetVarint(&u)) return false;
  *v = static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

bool Reader::GetLengthPrefixed(std::string_view* bytes) {
  std::uint64_t len = 0;
  std::string_view saved = in_;
  if (!GetVarint(&len) || len > in_.size()) {
    in_ = saved;
    return false;
  }
  *bytes = in_.substr(0, static_cast<std::size_t>(len));
  in_.remove_prefix(static_cast<std::size_t>(len));
  return true;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]);
    int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

std::string CountKey(JobState state) {
  switch (state) {
    case JobState::kWaiting:
      return "m|n|w";
    case JobState::kActive:
      return "m|n|a";
    case JobState::kDelayed:
      return "m|n|d";
    case JobState::kCompleted:
      return "m|n|c";
    case JobState::kFailed:
      return "m|n|f";
  }
  return "m|n|w";
}

std::string EncodeCount(std::int64_t n) {
  std::string out(8, '\0');
  const auto u = static_cast<std::uint64_t>(n);
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(u >> (8 * i));
  return out;
}

std::optional<std::int64_t> DecodeCount(std::string_view value) {
  if (value.size() != 8) return std::nullopt;
  std::uint64_t u = 0;
  for (int i = 7; i >= 0; --i) {
    u = (u << 8) | static_cast<unsigned char>(value[static_cast<std::size_t>(i)]);
  }
  return static_cast<std::int64_t>(u);
}

}  // namespace herald::storage::keys
