#include "net/resp/request_parser.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "common/redis_int.h"

namespace herald::resp {
namespace {

// Bulks are reserved up to this size from their header alone; beyond it the string grows as
// bytes arrive, so that a header cannot make us allocate memory its sender never sends.
constexpr std::size_t kMaxReserveOnHeader = 64 * 1024;
// Redis reserves argv for at most this many arguments ahead of their arrival.
constexpr std::int64_t kMaxArgsReservedOnHeader = 1024;

// isspace() in the C locale, which is what sdssplitargs uses.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

}  // namespace

bool SplitInlineArgs(std::string_view line, std::vector<std::string>* args) {
  args->clear();
  // sdssplitargs reads a C string: whatever follows a NUL is not seen.
  if (std::size_t nul = line.find('\0'); nul != std::string_view::npos) {
    line = line.substr(0, nul);
  }
  auto at = [line](std::size_t i) -> char { return i < line.size() ? line[i] : '\0'; };

  std::size_t p = 0;
  while (true) {
    while (at(p) != '\0' && IsSpace(at(p))) ++p;
    if (at(p) == '\0') return true;

    bool in_double = false;
    bool in_single = false;
    bool done = false;
    std::string current;
    while (!done) {
      const char c = at(p);
      if (in_double) {
        if (c == '\\' && at(p + 1) == 'x' && IsHexDigit(at(p + 2)) && IsHexDigit(at(p + 3))) {
          current.push_back(static_cast<char>(HexValue(at(p + 2)) * 16 + HexValue(at(p + 3))));
          p += 3;
        } else if (c == '\\' && at(p + 1) != '\0') {
          ++p;
          switch (at(p)) {
            case 'n':
              current.push_back('\n');
              break;
            case 'r':
              current.push_back('\r');
              break;
            case 't':
              current.push_back('\t');
              break;
            case 'b':
              current.push_back('\b');
              break;
            case 'a':
              current.push_back('\a');
              break;
            default:
              current.push_back(at(p));
              break;
          }
        } else if (c == '"') {
          // A closing quote must be followed by a space or nothing at all.
          if (at(p + 1) != '\0' && !IsSpace(at(p + 1))) break;
          done = true;
        } else if (c == '\0') {
          break;  // unterminated quotes
        } else {
          current.push_back(c);
        }
      } else if (in_single) {
        if (c == '\\' && at(p + 1) == '\'') {
          ++p;
          current.push_back('\'');
        } else if (c == '\'') {
          if (at(p + 1) != '\0' && !IsSpace(at(p + 1))) break;
          done = true;
        } else if (c == '\0') {
          break;
        } else {
          current.push_back(c);
        }
      } else {
        switch (c) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            current.push_back(c);
            break;
        }
      }
      if (at(p) != '\0') ++p;
    }
    if (!done) {
      args->clear();
      return false;
    }
    args->push_back(std::move(current));
  }
}

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {}

void RequestParser::Reset() {
  state_ = State::kStart;
  line_.Clear();
  args_.clear();
  remaining_args_ = 0;
  bulk_length_ = 0;
  terminator_left_ = 0;
  buffered_bytes_ = 0;
  error_.clear();
}

ParseResult RequestParser::Fail(std::size_t consumed, std::string error) {
  state_ = State::kFailed;
  error_ = error;
  line_.Clear();
  args_.clear();
  buffered_bytes_ = 0;
  return ParseResult{ParseStatus::kError, consumed, std::move(error)};
}

ParseResult RequestParser::Parse(std::string_view input, std::vector<std::string>* args) {
  if (state_ == State::kFailed) return ParseResult{ParseStatus::kError, 0, error_};

  const ParseResult need_more{ParseStatus::kNeedMore, input.size(), {}};
  std::size_t pos = 0;
  std::string_view line;
  while (true) {
    switch (state_) {
      case State::kStart:
        if (pos == input.size()) return need_more;
        state_ = input[pos] == '*' ? State::kCount : State::kInline;
        break;

      case State::kInline: {
        // Redis looks for '\n' and drops one '\r' before it; the words are split by
        // sdssplitargs, which treats any other '\r' as a separator.
        switch (line_.Read(input, &pos, '\n', false, limits_.max_inline_length, &line)) {
          case LineReader::Outcome::kNeedMore:
            return need_more;
          case LineReader::Outcome::kTooLong:
            return Fail(pos, "too big inline request");
          case LineReader::Outcome::kLine:
            break;
        }
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const bool balanced = SplitInlineArgs(line, &args_);
        line_.Clear();
        if (!balanced) return Fail(pos, "unbalanced quotes in request");
        state_ = State::kStart;
        if (args_.empty()) break;  // an empty line: nothing to run
        args->clear();
        args->swap(args_);
        return ParseResult{ParseStatus::kComplete, pos, {}};
      }

      case State::kCount: {
        // Like Redis: the header ends at '\r'; the byte after it is skipped unchecked.
        switch (line_.Read(input, &pos, '\r', true, limits_.max_inline_length, &line)) {
          case LineReader::Outcome::kNeedMore:
            return need_more;
          case LineReader::Outcome::kTooLong:
            return Fail(pos, "too big mbulk count string");
          case LineReader::Outcome::kLine:
            break;
        }
        std::int64_t count = 0;
        const std::optional<std::int64_t> parsed = ParseRedisInt(line.substr(1));
        const bool valid = parsed.has_value();
        if (valid) count = *parsed;
        line_.Clear();
        if (!valid ||
            (count > 0 && static_cast<std::uint64_t>(count) > limits_.max_multibulk_length)) {
          return Fail(pos, "invalid multibulk length");
        }
        if (count <= 0) {
          state_ = State::kStart;  // "*0" and "*-1" ask for nothing
          break;
        }
        remaining_args_ = count;
        args_.clear();
        args_.reserve(static_cast<std::size_t>(std::min(count, kMaxArgsReservedOnHeader)));
        state_ = State::kBulkHeader;
        break;
      }

      case State::kBulkHeader: {
        switch (line_.Read(input, &pos, '\r', true, limits_.max_inline_length, &line)) {
          case LineReader::Outcome::kNeedMore:
            return need_more;
          case LineReader::Outcome::kTooLong:
            return Fail(pos, "too big bulk count string");
          case LineReader::Outcome::kLine:
            break;
        }
        // An empty line means Redis looked at the '\r' itself.
        const char first = line.empty() ? '\r' : line[0];
        if (first != '$') {
          line_.Clear();
          // Redis formats with %c into a C string, so a NUL ends the message there.
          std::string error = "expected '$', got '";
          if (first != '\0') error += std::string(1, first) + "'";
          return Fail(pos, std::move(error));
        }
        std::int64_t length = 0;
        const std::optional<std::int64_t> parsed = ParseRedisInt(line.substr(1));
        const bool valid = parsed.has_value();
        if (valid) length = *parsed;
        line_.Clear();
        if (!valid || length < 0 || static_cast<std::uint64_t>(length) > limits_.max_bulk_length) {
          return Fail(pos, "invalid bulk length");
        }
        bulk_length_ = static_cast<std::size_t>(length);
        args_.emplace_back().reserve(std::min(bulk_length_, kMaxReserveOnHeader));
        state_ = State::kBulkData;
        break;
      }

      case State::kBulkData: {
        std::string& arg = args_.back();
        const std::size_t take = std::min(bulk_length_ - arg.size(), input.size() - pos);
        arg.append(input.data() + pos, take);
        pos += take;
        buffered_bytes_ += take;
        if (arg.size() < bulk_length_) return need_more;
        terminator_left_ = 2;
        state_ = State::kBulkTerminator;
        break;
      }

      case State::kBulkTerminator: {
        // Redis skips the two bytes after a bulk without looking at them.
        const std::size_t take = std::min(terminator_left_, input.size() - pos);
        pos += take;
        terminator_left_ -= take;
        if (terminator_left_ > 0) return need_more;
        if (--remaining_args_ > 0) {
          state_ = State::kBulkHeader;
          break;
        }
        state_ = State::kStart;
        buffered_bytes_ = 0;
        args->clear();
        args->swap(args_);
        return ParseResult{ParseStatus::kComplete, pos, {}};
      }

      case State::kFailed:
        return ParseResult{ParseStatus::kError, pos, error_};
    }
  }
}

}  // namespace herald::resp
