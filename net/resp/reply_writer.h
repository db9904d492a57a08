// ReplyWriter: appends RESP replies to a caller's buffer, in protocol 2 or 3.
//
// RESP3 types are written as Redis writes them to a RESP2 client: a map becomes an array of
// 2n, a set or push an array, a double or big number or verbatim string a bulk, a boolean the
// integer 1 or 0. Aggregates are written as a header followed by their elements, so the caller
// writes exactly as many elements as the header announces.
//
// Thread safety: confined to the owner of the buffer. The buffer is borrowed and must outlive
// the writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace herald::resp {

class ReplyWriter {
 public:
  // `out` must outlive the writer. `protocol` is 2 or 3 (anything else is taken as 2).
  ReplyWriter(std::string* out, int protocol);

  int protocol() const { return protocol_; }
  void set_protocol(int protocol);
  bool resp3() const { return protocol_ == 3; }
  std::string* buffer() { return out_; }

  // "+text". CR and LF in `text` become spaces, so the reply stays one line.
  void SimpleString(std::string_view text);
  // "+OK".
  void Ok();
  // "-text": `text` is the whole error with its code, e.g. "ERR unknown command 'x'" or
  // "WRONGTYPE Operation against a key holding the wrong kind of value". A leading '-' is not
  // doubled. CR and LF become spaces, as Redis does.
  void Error(std::string_view text);
  // ":n".
  void Integer(std::int64_t value);
  // "$len" and the bytes (binary-safe).
  void Bulk(std::string_view bytes);
  // The null bulk: RESP2 "$-1", RESP3 "_".
  void Null();
  // The null array: RESP2 "*-1", RESP3 "_".
  void NullArray();
  // "*n"; `count` elements follow.
  void ArrayHeader(std::size_t count);
  // RESP3 "%n", RESP2 "*2n"; `pairs` key-value pairs (2 * pairs elements) follow.
  void MapHeader(std::size_t pairs);
  // RESP3 "~n", RESP2 "*n".
  void SetHeader(std::size_t count);
  // RESP3 ">n" (out-of-band data such as pub/sub messages), RESP2 "*n".
  void PushHeader(std::size_t count);
  // RESP3 ",value", RESP2 a bulk of the same text. The text is the shortest that reads back
  // as the same double; infinities are "inf" / "-inf", NaN "nan".
  void Double(double value);
  // RESP3 "#t" / "#f", RESP2 ":1" / ":0".
  void Boolean(bool value);
  // RESP3 "=len" with "fmt:" before the text, RESP2 a bulk of the text alone. `format` is
  // three characters such as "txt" or "mkd"; anything else is written as "txt".
  void Verbatim(std::string_view format, std::string_view text);
  // RESP3 "(digits", RESP2 a bulk of the digits. `digits` is an optional '-' and decimal
  // digits; the caller checks that.
  void BigNumber(std::string_view digits);

 private:
  void Header(char type, std::int64_t count);
  void Line(char type, std::string_view text);

  std::string* out_;
  int protocol_;
};

}  // namespace herald::resp
