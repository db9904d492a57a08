// LineReader: collects one protocol line (a header such as "$5" or an inline command) across
// any number of Parse() calls, so that the parsers never re-scan bytes they have already seen.
//
// A line ends at `delimiter`. With `take_next` the byte after the delimiter belongs to the
// line ending too (RESP headers end in "\r\n": the line is found by its '\r' and the byte
// after it is skipped, as Redis does); it is available from next_byte() for callers that
// check it.
//
// Thread safety: confined to the owning parser.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace herald::resp {

class LineReader {
 public:
  enum class Outcome {
    kLine,      // *line holds the line, without its ending
    kNeedMore,  // all input from *pos on was taken; no ending yet
    kTooLong,   // more than max_length bytes came before the delimiter
  };

  // Reads from input[*pos...] and advances *pos past what it took. On kLine, *line points
  // into `input` or into the reader's buffer; it stays valid until the next Read() or Clear().
  Outcome Read(std::string_view input, std::size_t* pos, char delimiter, bool take_next,
               std::size_t max_length, std::string_view* line);

  // Forgets the current line; call after using a kLine result.
  void Clear();

  // The byte taken after the delimiter (take_next mode), for the last kLine result.
  char next_byte() const { return next_byte_; }
  // Bytes held for an unfinished line.
  std::size_t buffered() const { return buffer_.size(); }

 private:
  std::string buffer_;
  bool delimiter_seen_ = false;  // waiting only for the byte after the delimiter
  char next_byte_ = '\0';
};

}  // namespace herald::resp
