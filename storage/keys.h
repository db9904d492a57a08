// Every on-disk format of Herald's store: column families, key layouts, value layouts, and the
// byte-level coding they are built from. Nothing else in the code base spells a key by hand.
//
// Notation: "x" literal bytes; u8 one byte; be32 / be64 big-endian fixed-width unsigned
// integers (so RocksDB's byte order is numeric order); varint LEB128 unsigned (at most 10
// bytes); zz a signed integer zigzag-encoded, then varint; str = varint length, then the bytes.
// Times are milliseconds since the Unix epoch; in keys a negative time is written as 0.
//
// Column families
//   default                      unused (RocksDB requires it)
//   meta                         format version, queue registry, sequence reservation
//   jobs                         job records, keyed by job id (ids are unique across queues)
//   q.<queue>                    one per queue: that queue's indexes and flags
//   kv                           Redis strings and lists of database 0 (KvStore)
//   kv.<n>                       the same for database n, 1 <= n < 16 (SELECT n; n in decimal,
//                                no leading zero): created by the first write to database n,
//                                found again at open, never dropped (FLUSHDB and FLUSHALL
//                                delete its rows). Other "kv.*" names are not databases.
//   prefs, inbox, sent, tickets  RecordTable rows
//
// meta
//   "format"        -> u8 1, be32 format_version     checked at open; this build writes 1
//   "queue|" name   -> u8 1, be64 created_ms         registry row; at open a q.<name> column
//                                                    family without a row is dropped, a row
//                                                    without its column family recreates it
//   "seq|limit"     -> u8 1, be64 limit              sequence numbers below limit may have been
//                                                    handed out; an open continues at limit
//   "rec|" key      -> caller's bytes                RecordTable::kMeta rows
//
// jobs
//   id -> job record:
//     u8 2 (record version)
//     str id  str queue  str payload
//     varint priority  varint attempts_made  varint max_attempts     (each < 2^32)
//     u8 backoff_type (BackoffType)  zz backoff_ms
//     u8 state (JobState)
//     varint seq
//     zz created_ms  zz processed_ms  zz finished_ms  zz due_ms
//     str last_error  str return_value
//     u8 flags        bit 0: custom_id; other bits 0
//     varint n, then n attempts (Job::history, oldest first; this build keeps the last 25):
//       u8 outcome (AttemptOutcome)
//       u8 fields     bit 0: ended_ms != 0; bit 1: next_due_ms != 0; other bits 0
//       zz started_ms
//       zz ended_ms - started_ms        only with bit 0 (else ended_ms is 0)
//       zz backoff_ms
//       zz next_due_ms - ended_ms       only with bit 1 (else next_due_ms is 0)
//       str error (at most 1 KiB)  str worker (at most 128 bytes)
//   and nothing after it. Times of an attempt are differences (two's complement, wrapping),
//   so a real attempt's take a byte or three. Record version 3 is version 2 followed by
//     str name (Job::name, 1 to 1024 bytes)
//   and is written only for a job with a name, so a job without one reads in builds that
//   know no names. Record version 1 (older builds) is the same as 2 up to the flags and ends
//   there: it reads as a job without history.
//
// q.<queue>   Every index value is the job id, except a lease (below). A job is in exactly one
//             index, the one of its state, at the key computed from its record (so a
//             transition knows the key to delete without a lookup).
//   "w|" be32 priority be64 seq          waiting    Take order: priority, then add order;
//                                                   also active (a lease, below)
//   "d|" be64 due_ms be64 seq            delayed    due order
//   "a|" be64 seq                        active, as older builds wrote it (recovery only)
//   "f|" be64 finished_ms be64 seq       failed     finish order
//   "c|" be64 finished_ms be64 seq       completed  finish order (bounded retention)
//   "m|paused"  -> u8 1, u8 0|1          pause flag
//   "m|n|" state-char -> i64 LE           jobs in each state ("w" the waiting, "a" the active:
//                                         leases in the waiting index), summed by the
//                                         column family's merge operator from the +1/-1 each
//                                         change writes in its batch (CountMergeOperator)
//   "m|counted" -> u8 1                  the counters above are kept (an older build's queue
//                                         has none until its first open counts it)
//
//   Active jobs keep their waiting key; Take only overwrites its value with a lease:
//     u8 0, u8 2 (lease version), varint attempts_made, zz processed_ms, str worker,
//     then the id's bytes
//   and leaves the job record as it was when waiting (so a take is one small write). The
//   record's state and attempt count are then those of the lease, and the running attempt
//   (not in the record's history yet) started at processed_ms by worker; the store keeps
//   every active job in memory, so reads see it active with that attempt. A job leaving the
//   active state rewrites its record, with the attempt ended in its history; going back to
//   waiting (a lost lease, a retry due now) writes the plain id again at the same key, so it
//   keeps its place. Ids never start with a 0 byte, so a lease can't be mistaken for an id.
//   Lease version 1 (older builds) has no worker. Open() turns each lease it finds (the job
//   was active at a crash: its attempt ends stalled) and each "a|" entry of an older build
//   back into a waiting job (or a failed one, attempts used).
//
// kv, kv.<n>   Every database has the same layout in its own column family.
//   "k|" key                     -> u8 1, u8 type (KvType), then
//                                     string: the value's bytes
//                                     list:   be64 head, be64 tail, be64 head_node,
//                                             be64 tail_node, be64 next_node_id
//   "l|" be32 len(key) key be64 node_id  -> a list node: u8 1, be32 count, be64 prev_node,
//                                           be64 next_node, then count elements, each
//                                           varint length + bytes
//   A list is a chain of nodes (like Redis's quicklist): each holds up to 128 elements or 8 KiB
//   (an element bigger than that has a node of its own), so a push or pop rewrites one small
//   node instead of writing a row per element. The list's elements are positions [head, tail)
//   (head - 1 for a left push, tail for a right push; a new list starts at 2^63); the head
//   node holds the first ones, following next_node links to the tail node. Node ids come
//   from next_node_id and are never reused while the list exists; node 0 means none.
//   An empty list has no rows.
//   Older builds wrote lists as  list: be64 head, be64 tail  with one row per element at
//   "l|" be32 len(key) key be64 pos; opening the store rewrites such lists into nodes.
//
// prefs, inbox, sent, tickets
//   caller's key -> caller's value (no version byte: the caller owns that format)
//
// On-disk enums (JobState, BackoffType, AttemptOutcome, KvType) have explicit values: never
// renumber.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/job.h"
#include "storage/kv_store.h"

namespace herald::storage::keys {

// ---- Column families ------------------------------------------------------------------------
inline constexpr std::string_view kMetaCf = "meta";
inline constexpr std::string_view kJobsCf = "jobs";
inline constexpr std::string_view kKvCf = "kv";  // database 0
inline constexpr std::string_view kKvCfPrefix = "kv.";
inline constexpr std::string_view kPrefsCf = "prefs";
inline constexpr std::string_view kInboxCf = "inbox";
inline constexpr std::string_view kSentCf = "sent";
inline constexpr std::string_view kTicketsCf = "tickets";
inline constexpr std::string_view kQueueCfPrefix = "q.";

// "q.<queue>".
std::string QueueCfName(std::string_view queue);
// The queue of a "q.<queue>" column family name; nullopt for any other name.
std::optional<std::string_view> QueueOfCfName(std::string_view cf_name);

// The column family of database `db` (0 <= db < kKvDatabases): "kv" for 0, else "kv.<db>".
std::string KvCfName(int db);
// The database of a kv column family name; nullopt for any other name (including "kv.0",
// "kv.07" and numbers from kKvDatabases on).
std::optional<int> KvDatabaseOfCfName(std::string_view cf_name);

// ---- Versions -------------------------------------------------------------------------------
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::uint8_t kValueVersion = 1;  // first byte of meta, flag and kv values
inline constexpr std::uint8_t kJobRecordVersionWithName = 3;
inline constexpr std::uint8_t kJobRecordVersion = 2;                // a job without a name
inline constexpr std::uint8_t kJobRecordVersionWithoutHistory = 1;  // read, never written
inline constexpr std::uint8_t kLeaseVersion = 2;
inline constexpr std::uint8_t kLeaseVersionWithoutWorker = 1;  // read, never written

// ---- meta -----------------------------------------------------------------------------------
inline constexpr std::string_view kFormatKey = "format";
inline constexpr std::string_view kQueueRegistryPrefix = "queue|";
inline constexpr std::string_view kSeqLimitKey = "seq|limit";
inline constexpr std::string_view kMetaRecordPrefix = "rec|";

std::string QueueRegistryKey(std::string_view queue);
std::string MetaRecordKey(std::string_view key);

std::string EncodeFormatVersion(std::uint32_t version);
Result<std::uint32_t> DecodeFormatVersion(std::string_view value);
std::string EncodeSeqLimit(std::uint64_t limit);
Result<std::uint64_t> DecodeSeqLimit(std::string_view value);
std::string EncodeQueueRow(std::int64_t created_ms);
Result<std::int64_t> DecodeQueueRow(std::string_view value);

// ---- q.<queue> ------------------------------------------------------------------------------
// The index a job of `state` sits in.
std::string_view IndexPrefix(JobState state);  // "w|", "d|", "a|", "f|", "c|"
// The first key after every key of the index ("w}" for "w|").
std::string IndexEnd(JobState state);

std::string WaitingKey(std::uint32_t priority, std::uint64_t seq);
std::string DelayedKey(std::int64_t due_ms, std::uint64_t seq);
std::string ActiveKey(std::uint64_t seq);
std::string FailedKey(std::int64_t finished_ms, std::uint64_t seq);
std::string CompletedKey(std::int64_t finished_ms, std::uint64_t seq);
// The smallest possible key of a time-ordered index ("d|", "f|", "c|") at `time_ms`:
// every key of an entry older than time_ms sorts before it.
std::string TimeIndexBound(JobState state, std::int64_t time_ms);
// The key of `job` in the index of job.state (an active job: its waiting key, see leases).
std::string IndexKeyOf(const Job& job);

// A waiting-index value that marks the job active (see leases above).
struct Lease {
  std::string_view id;
  std::uint32_t attempts_made = 0;
  std::int64_t processed_ms = 0;
  std::string_view worker;  // who runs the attempt; "" in a lease of an older build
};
std::string EncodeLease(std::string_view id, std::uint32_t attempts_made, std::int64_t processed_ms,
                        std::string_view worker);
// nullopt when `value` is a plain id. The id and worker view into `value`.
std::optional<Lease> DecodeLease(std::string_view value);
// The time in a "d|", "f|" or "c|" key; nullopt when the key is too short.
std::optional<std::int64_t> TimeOfIndexKey(std::string_view key);

inline constexpr std::string_view kPausedKey = "m|paused";
inline constexpr std::string_view kCountedKey = "m|counted";
// The counter of the jobs in `state` (kActive: the leases, which sit in the waiting index).
std::string CountKey(JobState state);
// A counter's value or merge operand: a signed 64-bit integer, little-endian.
std::string EncodeCount(std::int64_t n);
std::optional<std::int64_t> DecodeCount(std::string_view value);
std::string EncodeFlag(bool value);
Result<bool> DecodeFlag(std::string_view value);

// ---- kv -------------------------------------------------------------------------------------
inline constexpr std::string_view kKvMetaPrefix = "k|";
inline constexpr std::string_view kKvElementPrefix = "l|";
inline constexpr std::uint64_t kListStart = std::uint64_t{1} << 63;

std::string KvMetaKey(std::string_view key);
// "l|" be32 len key: the prefix shared by every element of the list `key`.
std::string KvElementPrefix(std::string_view key);
std::string KvElementKey(std::string_view key, std::uint64_t pos);

// "l|" be32 len key be64 node_id (the same bytes as an element row of the older layout).
std::string KvNodeKey(std::string_view key, std::uint64_t node_id);

struct KvMeta {
  KvType type = KvType::kNone;
  std::string value;       // strings
  std::uint64_t head = 0;  // lists: elements at [head, tail)
  std::uint64_t tail = 0;
  std::uint64_t head_node = 0;  // lists of the node layout
  std::uint64_t tail_node = 0;
  std::uint64_t next_node = 1;
  bool element_rows = false;  // a list of the older one-row-per-element layout
};
std::string EncodeKvString(std::string_view value);
// A list header of the node layout.
std::string EncodeKvList(const KvMeta& meta);
// A list header of the older layout (tests and upgrades only).
std::string EncodeKvElementList(std::uint64_t head, std::uint64_t tail);
Result<KvMeta> DecodeKvMeta(std::string_view value);

// ---- Key arithmetic -------------------------------------------------------------------------
// The smallest key greater than `key`: key + "\0".
std::string Successor(std::string_view key);
// The smallest key greater than every key starting with `prefix`; "" when there is none
// (empty prefix, or only 0xff bytes).
std::string PrefixEnd(std::string_view prefix);

// ---- Byte coding ----------------------------------------------------------------------------
void PutBe32(std::string* out, std::uint32_t v);
void PutBe64(std::string* out, std::uint64_t v);
std::uint32_t LoadBe32(const char* p);
std::uint64_t LoadBe64(const char* p);
void PutVarint(std::string* out, std::uint64_t v);
void PutZigzag(std::string* out, std::int64_t v);
void PutLengthPrefixed(std::string* out, std::string_view bytes);
// A time in a key: negative clamps to 0.
void PutTime(std::string* out, std::int64_t time_ms);

// Reads the codings above from a byte string without ever reading past its end. Each Get
// returns false (and consumes nothing useful) when the input is short or malformed.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool GetU8(std::uint8_t* v);
  bool GetBe32(std::uint32_t* v);
  bool GetBe64(std::uint64_t* v);
  bool GetVarint(std::uint64_t* v);
  bool GetVarint32(std::uint32_t* v);  // false also when the value is >= 2^32
  bool GetZigzag(std::int64_t* v);
  bool GetLengthPrefixed(std::string_view* bytes);
  std::string_view rest() const { return in_; }
  bool empty() const { return in_.empty(); }

 private:
  std::string_view in_;
};

// Hex for cursors shown to users ("" <-> ""); FromHex is nullopt for odd length or non-hex.
std::string ToHex(std::string_view bytes);
std::optional<std::string> FromHex(std::string_view hex);

}  // namespace herald::storage::keys
