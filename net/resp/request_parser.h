// RequestParser: an incremental parser of client requests, accepting what Redis accepts.
//
// Two forms, chosen by the first byte of each request:
//   multibulk  "*<n>\r\n" then n times "$<len>\r\n<len bytes>\r\n"   (binary-safe)
//   inline     a line of space-separated words ending in "\n" (or "\r\n"), with Redis's
//              quoting: "..." understands \n \r \t \b \a \\ \" \xHH, '...' understands \'.
// Empty inline lines, "*0\r\n" and negative counts ("*-1\r\n") are skipped, as Redis does.
// Errors carry Redis's wording (networking.c), so that "-ERR Protocol error: <error>" matches
// what redis-server replies; a protocol error is final: the connection should reply and close.
//
// Usage: feed whatever bytes arrived; drop `consumed` bytes; call again with the rest plus
// any new bytes until kNeedMore:
//
//   ParseResult r = parser.Parse(buffer, &args);
//   buffer.erase(0, r.consumed);
//   if (r.complete()) Run(args);
//
// kNeedMore always consumes all of the input: partial lines and bulks are kept inside the
// parser, so each byte is examined once however the input is split (a 512 MiB bulk arriving in
// 1-byte reads costs linear time), and a caller's query-buffer limit should count
// buffered_bytes() too. A bulk longer than the limit is refused when its header is read, before
// any of it is buffered.
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

namespace herald::resp {

struct ParserLimits {
  // Largest bulk argument accepted. Default: 512 MiB (Redis's proto-max-bulk-len).
  std::uint64_t max_bulk_length = 512ULL * 1024 * 1024;
  // Most arguments in one multibulk request. Default: 1024 * 1024.
  std::uint64_t max_multibulk_length = 1024 * 1024;
  // Longest inline request, and longest "*<n>" / "$<len>" header line. Default: 64 KiB
  // (Redis's PROTO_INLINE_MAX_SIZE).
  std::size_t max_inline_length = 64 * 1024;
};

class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits = {});

  // Parses from `input`. On kComplete, *args holds the command's arguments (its old contents
  // are replaced) and `consumed` ends after the command. On kNeedMore, consumed ==
  // input.size(). On kError, `error` is one of Redis's messages ("invalid multibulk length",
  // "invalid bulk length", "expected '$', got 'X'", "too big inline request", "too big mbulk
  // count string", "too big bulk count string", "unbalanced quotes in request"), and every
  // later call returns the same error until Reset().
  ParseResult Parse(std::string_view input, std::vector<std::string>* args);

  // Drops any partial request and a previous error.
  void Reset();

  // Bytes held for the request in progress (finished arguments plus partial line or bulk).
  std::size_t buffered_bytes() const { return buffered_bytes_ + line_.buffered(); }
  const ParserLimits& limits() const { return limits_; }
  // New limits, from the next header or inline line read (a bulk already announced keeps the
  // limit it was accepted under).
  void set_limits(const ParserLimits& limits) { limits_ = limits; }

 private:
  enum class State {
    kStart,           // at the first byte of a request
    kInline,          // reading an inline line
    kCount,           // reading "*<n>"
    kBulkHeader,      // reading "$<len>"
    kBulkData,        // reading the bulk's bytes
    kBulkTerminator,  // skipping the 2 bytes after a bulk
    kFailed,
  };

  ParseResult Fail(std::size_t consumed, std::string error);

  ParserLimits limits_;
  State state_ = State::kStart;
  LineReader line_;
  std::vector<std::string> args_;  // arguments of the request in progress
  std::int64_t remaining_args_ = 0;
  std::size_t bulk_length_ = 0;
  std::size_t terminator_left_ = 0;
  std::size_t buffered_bytes_ = 0;
  std::string error_;
};

// Splits an inline request into words with Redis's rules (sdssplitargs). Returns false for
// unbalanced quotes, or a closing quote followed by something other than a space. A NUL byte
// ends the line, as in Redis. Exposed for tests.
bool SplitInlineArgs(std::string_view line, std::vector<std::string>* args);

}  // namespace herald::resp
