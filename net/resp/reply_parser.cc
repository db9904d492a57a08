#include "net/resp/reply_parser.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace herald::resp {
namespace {

// Strings are reserved up to this size from their header alone; beyond it they grow as bytes
// arrive, so a header cannot make us allocate memory its sender never sends.
constexpr std::uint64_t kMaxReserveOnHeader = 64 * 1024;
constexpr std::uint64_t kMaxElementsReservedOnHeader = 1024;

bool ParseInteger(std::string_view text, std::int64_t* value) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ParseDouble(std::string_view text, double* value) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

bool IsBigNumber(std::string_view text) {
  if (!text.empty() && text[0] == '-') text.remove_prefix(1);
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Printable(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string(1, c);
  static constexpr char kHex[] = "0123456789abcdef";
  const auto byte = static_cast<unsigned char>(c);
  return std::string("\\x") + kHex[byte >> 4] + kHex[byte & 0xf];
}

}  // namespace

ReplyParser::ReplyParser(ReplyParserLimits limits) : limits_(limits) {}

void ReplyParser::Reset() {
  state_ = State::kHeader;
  line_.Clear();
  stack_.clear();
  value_ = Reply();
  bulk_length_ = 0;
  terminator_seen_ = 0;
  buffered_bytes_ = 0;
  error_.clear();
}

ParseResult ReplyParser::Fail(std::size_t consumed, std::string error) {
  state_ = State::kFailed;
  error_ = error;
  line_.Clear();
  stack_.clear();
  value_ = Reply();
  buffered_bytes_ = 0;
  return ParseResult{ParseStatus::kError, consumed, std::move(error)};
}

bool ReplyParser::StartBulk(ReplyType type, std::string_view length_text, bool* value_ready) {
  if (length_text == "?") {
    error_ = "streamed strings are not supported";
    return false;
  }
  std::int64_t length = 0;
  if (!ParseInteger(length_text, &length) || length < -1 ||
      (length == -1 && type != ReplyType::kBulk)) {
    error_ = "invalid bulk length";
    return false;
  }
  if (length == -1) {
    value_ = Reply::Null();
    *value_ready = true;
    return true;
  }
  if (static_cast<std::uint64_t>(length) > limits_.max_bulk_length) {
    error_ = "bulk length " + std::to_string(length) + " is over the limit of " +
             std::to_string(limits_.max_bulk_length);
    return false;
  }
  value_ = Reply();
  value_.type = type;
  bulk_length_ = static_cast<std::uint64_t>(length);
  value_.str.reserve(static_cast<std::size_t>(std::min(bulk_length_, kMaxReserveOnHeader)));
  state_ = State::kBulkData;
  return true;
}

bool ReplyParser::StartAggregate(char type, std::string_view count_text, bool* value_ready) {
  if (count_text == "?") {
    error_ = "streamed aggregates are not supported";
    return false;
  }
  std::int64_t count = 0;
  if (!ParseInteger(count_text, &count) || count < -1) {
    error_ = "invalid aggregate length";
    return false;
  }
  if (count == -1) {  // RESP2's null array
    value_ = Reply::Null();
    *value_ready = true;
    return true;
  }
  if (static_cast<std::uint64_t>(count) > limits_.max_aggregate_length) {
    error_ = "aggregate length " + std::to_string(count) + " is over the limit of " +
             std::to_string(limits_.max_aggregate_length);
    return false;
  }
  if (stack_.size() >= limits_.max_depth) {
    error_ = "replies nested deeper than " + std::to_string(limits_.max_depth);
    return false;
  }
  Frame frame;
  frame.attribute = type == '|';
  const bool paired = type == '%' || type == '|';
  switch (type) {
    case '~':
      frame.value.type = ReplyType::kSet;
      break;
    case '>':
      frame.value.type = ReplyType::kPush;
      break;
    case '%':
    case '|':
      frame.value.type = ReplyType::kMap;
      break;
    default:
      frame.value.type = ReplyType::kArray;
      break;
  }
  frame.remaining = static_cast<std::uint64_t>(count) * (paired ? 2 : 1);
  if (frame.remaining == 0) {
    if (frame.attribute) return true;  // nothing to drop; the decorated value follows
    value_ = std::move(frame.value);
    *value_ready = true;
    return true;
  }
  frame.value.elements.reserve(
      static_cast<std::size_t>(std::min(frame.remaining, kMaxElementsReservedOnHeader)));
  stack_.push_back(std::move(frame));
  return true;
}

bool ReplyParser::OnHeader(std::string_view line, bool* value_ready) {
  if (line.empty()) {
    error_ = "empty reply line";
    return false;
  }
  const char type = line[0];
  const std::string_view rest = line.substr(1);
  switch (type) {
    case '+':
      value_ = Reply::SimpleString(std::string(rest));
      *value_ready = true;
      return true;
    case '-':
      value_ = Reply::Error(std::string(rest));
      *value_ready = true;
      return true;
    case ':': {
      std::int64_t value = 0;
      if (!ParseInteger(rest, &value)) {
        error_ = "invalid integer";
        return false;
      }
      value_ = Reply::Integer(value);
      *value_ready = true;
      return true;
    }
    case '$':
      return StartBulk(ReplyType::kBulk, rest, value_ready);
    case '!':
      return StartBulk(ReplyType::kError, rest, value_ready);
    case '=':
      return StartBulk(ReplyType::kVerbatim, rest, value_ready);
    case '*':
    case '~':
    case '>':
    case '%':
    case '|':
      return StartAggregate(type, rest, value_ready);
    case '_':
      if (!rest.empty()) {
        error_ = "invalid null";
        return false;
      }
      value_ = Reply::Null();
      *value_ready = true;
      return true;
    case ',': {
      double value = 0;
      if (!ParseDouble(rest, &value)) {
        error_ = "invalid double";
        return false;
      }
      value_ = Reply::Double(value, std::string(rest));
      *value_ready = true;
      return true;
    }
    case '#':
      if (rest != "t" && rest != "f") {
        error_ = "invalid boolean";
        return false;
      }
      value_ = Reply::Boolean(rest == "t");
      *value_ready = true;
      return true;
    case '(':
      if (!IsBigNumber(rest)) {
        error_ = "invalid big number";
        return false;
      }
      value_ = Reply::BigNumber(std::string(rest));
      *value_ready = true;
      return true;
    default:
      error_ = "unknown reply type '" + Printable(type) + "'";
      return false;
  }
}

bool ReplyParser::Deliver() {
  while (!stack_.empty()) {
    Frame& top = stack_.back();
    top.value.elements.push_back(std::move(value_));
    value_ = Reply();
    if (--top.remaining > 0) return false;

    Frame done = std::move(top);
    stack_.pop_back();
    if (done.value.type == ReplyType::kMap) {
      std::vector<Reply>& flat = done.value.elements;
      done.value.pairs.reserve(flat.size() / 2);
      for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
        done.value.pairs.push_back(ReplyEntry{std::move(flat[i]), std::move(flat[i + 1])});
      }
      flat.clear();
    }
    // An attribute decorates the value that follows it; that value takes its place.
    if (done.attribute) return false;
    value_ = std::move(done.value);
  }
  return true;
}

ParseResult ReplyParser::Parse(std::string_view input, Reply* reply) {
  if (state_ == State::kFailed) return ParseResult{ParseStatus::kError, 0, error_};

  const ParseResult need_more{ParseStatus::kNeedMore, input.size(), {}};
  std::size_t pos = 0;
  std::string_view line;
  while (true) {
    bool value_ready = false;
    switch (state_) {
      case State::kHeader: {
        switch (line_.Read(input, &pos, '\r', true, limits_.max_line_length, &line)) {
          case LineReader::Outcome::kNeedMore:
            return need_more;
          case LineReader::Outcome::kTooLong:
            return Fail(pos, "reply line longer than " + std::to_string(limits_.max_line_length));
          case LineReader::Outcome::kLine:
            break;
        }
        if (line_.next_byte() != '\n') return Fail(pos, "expected '\\n' after '\\r'");
        const bool valid = OnHeader(line, &value_ready);
        line_.Clear();
        if (!valid) return Fail(pos, error_);
        break;
      }

      case State::kBulkData: {
        const std::size_t want = static_cast<std::size_t>(bulk_length_) - value_.str.size();
        const std::size_t take = std::min(want, input.size() - pos);
        value_.str.append(input.data() + pos, take);
        pos += take;
        buffered_bytes_ += take;
        if (value_.str.size() < bulk_length_) return need_more;
        terminator_seen_ = 0;
        state_ = State::kBulkTerminator;
        break;
      }

      case State::kBulkTerminator: {
        for (; terminator_seen_ < 2 && pos < input.size(); ++terminator_seen_, ++pos) {
          if (input[pos] != (terminator_seen_ == 0 ? '\r' : '\n')) {
            return Fail(pos, "expected \"\\r\\n\" after a bulk of " + std::to_string(bulk_length_) +
                                 " bytes");
          }
        }
        if (terminator_seen_ < 2) return need_more;
        state_ = State::kHeader;
        if (value_.type == ReplyType::kVerbatim) {
          if (value_.str.size() < 4 || value_.str[3] != ':') {
            return Fail(pos, "invalid verbatim string");
          }
          value_.format = value_.str.substr(0, 3);
          value_.str.erase(0, 4);
        }
        value_ready = true;
        break;
      }

      case State::kFailed:
        return ParseResult{ParseStatus::kError, pos, error_};
    }
    if (value_ready && Deliver()) {
      *reply = std::move(value_);
      value_ = Reply();
      buffered_bytes_ = 0;
      return ParseResult{ParseStatus::kComplete, pos, {}};
    }
  }
}

}  // namespace herald::resp
