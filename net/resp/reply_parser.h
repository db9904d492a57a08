// ReplyParser: an incremental parser of server replies (RESP2 and RESP3) into Reply trees.
//
// Understands simple strings, errors, integers, bulks, null bulks and arrays ("$-1", "*-1"),
// arrays, and RESP3's null, double, boolean, blob error, verbatim string, big number, map,
// set, push and attribute types. Attributes ("|") are read and dropped: the reply they
// decorate is returned alone. Streamed RESP3 strings and aggregates ("$?", "*?") are refused.
// Stricter than the request parser: every line and bulk must end in "\r\n".
//
// Usage is the same as RequestParser: feed the bytes that arrived, drop `consumed`, repeat
// until kNeedMore. kNeedMore always consumes all input (partial replies live in the parser,
// so each byte is examined once).
//
// Thread safety: confined to one connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/resp/line_reader.h"
#include "net/resp/parse_result.h"
#include "net/resp/reply.h"

namespace herald::resp {

struct ReplyParserLimits {
  // Largest bulk, verbatim string or blob error. Default: 512 MiB.
  std::uint64_t max_bulk_length = 512ULL * 1024 * 1024;
  // Most elements in one array, set or push, or pairs in one map. Default: 2^32 - 1 (hiredis).
  std::uint64_t max_aggregate_length = (1ULL << 32) - 1;
  // Longest line: simple string, error, number or header. Default: 16 MiB.
  std::size_t max_line_length = 16 * 1024 * 1024;
  // Deepest nesting of aggregates. Default: 128.
  std::size_t max_depth = 128;
};

class ReplyParser {
 public:
  explicit ReplyParser(ReplyParserLimits limits = {});

  // Parses from `input`. On kComplete, *reply holds one whole reply and `consumed` ends after
  // it. On kNeedMore, consumed == input.size(). On kError, `error` says what was wrong (e.g.
  // "invalid bulk length", "unknown reply type 'x'") and every later call fails the same way
  // until Reset().
  ParseResult Parse(std::string_view input, Reply* reply);

  // Drops any partial reply and a previous error.
  void Reset();

  // Bytes held for the reply in progress.
  std::size_t buffered_bytes() const { return buffered_bytes_ + line_.buffered(); }

 private:
  enum class State { kHeader, kBulkData, kBulkTerminator, kFailed };

  struct Frame {
    Reply value;
    std::uint64_t remaining = 0;  // elements still to read (2 per map pair)
    bool attribute = false;       // dropped when complete
  };

  // Handles one header line; false on a protocol error (already recorded in error_).
  bool OnHeader(std::string_view line, bool* value_ready);
  bool StartBulk(ReplyType type, std::string_view length_text, bool* value_ready);
  bool StartAggregate(char type, std::string_view count_text, bool* value_ready);
  // Adds the finished value_ to its parent; true when a whole top-level reply is ready.
  bool Deliver();
  ParseResult Fail(std::size_t consumed, std::string error);

  ReplyParserLimits limits_;
  State state_ = State::kHeader;
  LineReader line_;
  std::vector<Frame> stack_;
  Reply value_;  // the scalar being built, or a finished value being delivered
  std::uint64_t bulk_length_ = 0;
  std::size_t terminator_seen_ = 0;
  std::size_t buffered_bytes_ = 0;
  std::string error_;
};

}  // namespace herald::resp
