#include "net/resp/line_reader.h"

#include <cstring>

namespace herald::resp {

LineReader::Outcome LineReader::Read(std::string_view input, std::size_t* pos, char delimiter,
                                     bool take_next, std::size_t max_length,
                                     std::string_view* line) {
  if (delimiter_seen_) {
    // The delimiter came at the end of an earlier call; only its companion byte is missing.
    if (*pos == input.size()) return Outcome::kNeedMore;
    next_byte_ = input[*pos];
    ++*pos;
    delimiter_seen_ = false;
    *line = buffer_;
    return Outcome::kLine;
  }

  const char* start = input.data() + *pos;
  const std::size_t available = input.size() - *pos;
  const void* hit = available == 0 ? nullptr : std::memchr(start, delimiter, available);
  if (hit == nullptr) {
    // Checked against what is already known, so the verdict does not depend on how the
    // input was split: these bytes all precede the delimiter.
    if (buffer_.size() + available > max_length) return Outcome::kTooLong;
    buffer_.append(start, available);
    *pos = input.size();
    return Outcome::kNeedMore;
  }

  const std::size_t length = static_cast<std::size_t>(static_cast<const char*>(hit) - start);
  if (buffer_.size() + length > max_length) return Outcome::kTooLong;
  *pos += length + 1;
  // The common case, a whole line in one read, is used in place without copying.
  if (buffer_.empty() && !(take_next && *pos == input.size())) {
    *line = std::string_view(start, length);
  } else {
    buffer_.append(start, length);
    *line = buffer_;
  }
  if (take_next) {
    if (*pos == input.size()) {
      delimiter_seen_ = true;
      return Outcome::kNeedMore;
    }
    next_byte_ = input[*pos];
    ++*pos;
  }
  return Outcome::kLine;
}

void LineReader::Clear() {
  buffer_.clear();
  delimiter_seen_ = false;
  next_byte_ = '\0';
}

}  // namespace herald::resp
