// ParseResult: what every incremental RESP parser returns from one Parse() call.
//
// The parsers in net/resp depend on nothing else of Herald's, so they carry this small result
// instead of herald::Status.
//
// Thread safety: plain values.
#pragma once

#include <cstddef>
#include <string>

namespace herald::resp {

enum class ParseStatus {
  kComplete,  // one whole message was parsed; `consumed` ends right after it
  kNeedMore,  // every byte given was taken into the parser's state; feed more
  kError,     // the input is not valid RESP; the parser stays failed until Reset()
};

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  // Bytes of the given input that the caller must drop before the next call. Never more than
  // the input's size.
  std::size_t consumed = 0;
  // For kError: the problem in Redis's words, without the "Protocol error: " prefix, e.g.
  // "invalid bulk length".
  std::string error;

  bool complete() const { return status == ParseStatus::kComplete; }
  bool need_more() const { return status == ParseStatus::kNeedMore; }
  bool failed() const { return status == ParseStatus::kError; }
};

}  // namespace herald::resp
