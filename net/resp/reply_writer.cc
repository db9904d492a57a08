#include "net/resp/reply_writer.h"

#include <array>
#include <charconv>
#include <cmath>

namespace herald::resp {
namespace {

void AppendInteger(std::string* out, std::int64_t value) {
  std::array<char, 24> digits;
  auto result = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  out->append(digits.data(), result.ptr);
}

// Writes `text` with CR and LF turned into spaces, so that a one-line reply cannot be cut
// short or smuggle in a second reply.
void AppendOneLine(std::string* out, std::string_view text) {
  const std::size_t start = out->size();
  out->append(text);
  for (std::size_t i = start; i < out->size(); ++i) {
    char& c = (*out)[i];
    if (c == '\r' || c == '\n') c = ' ';
  }
}

std::string FormatDouble(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // Shortest round-trip form, as Redis 7.2 writes doubles (fpconv_dtoa).
  std::array<char, 32> text;
  auto result = std::to_chars(text.data(), text.data() + text.size(), value);
  return std::string(text.data(), result.ptr);
}

}  // namespace

ReplyWriter::ReplyWriter(std::string* out, int protocol) : out_(out), protocol_(2) {
  set_protocol(protocol);
}

void ReplyWriter::set_protocol(int protocol) { protocol_ = protocol == 3 ? 3 : 2; }

void ReplyWriter::Header(char type, std::int64_t count) {
  out_->push_back(type);
  AppendInteger(out_, count);
  out_->append("\r\n");
}

void ReplyWriter::Line(char type, std::string_view text) {
  out_->push_back(type);
  AppendOneLine(out_, text);
  out_->append("\r\n");
}

void ReplyWriter::SimpleString(std::string_view text) { Line('+', text); }

void ReplyWriter::Ok() { out_->append("+OK\r\n"); }

void ReplyWriter::Error(std::string_view text) {
  if (!text.empty() && text[0] == '-') text.remove_prefix(1);
  Line('-', text);
}

void ReplyWriter::Integer(std::int64_t value) { Header(':', value); }

void ReplyWriter::Bulk(std::string_view bytes) {
  Header('$', static_cast<std::int64_t>(bytes.size()));
  out_->append(bytes);
  out_->append("\r\n");
}

void ReplyWriter::Null() { out_->append(resp3() ? "_\r\n" : "$-1\r\n"); }

void ReplyWriter::NullArray() { out_->append(resp3() ? "_\r\n" : "*-1\r\n"); }

void ReplyWriter::ArrayHeader(std::size_t count) { Header('*', static_cast<std::int64_t>(count)); }

void ReplyWriter::MapHeader(std::size_t pairs) {
  if (resp3()) {
    Header('%', static_cast<std::int64_t>(pairs));
  } else {
    Header('*', static_cast<std::int64_t>(pairs * 2));
  }
}

void ReplyWriter::SetHeader(std::size_t count) {
  Header(resp3() ? '~' : '*', static_cast<std::int64_t>(count));
}

void ReplyWriter::PushHeader(std::size_t count) {
  Header(resp3() ? '>' : '*', static_cast<std::int64_t>(count));
}

void ReplyWriter::Double(double value) {
  const std::string text = FormatDouble(value);
  if (resp3()) {
    Line(',', text);
  } else {
    Bulk(text);
  }
}

void ReplyWriter::Boolean(bool value) {
  if (resp3()) {
    out_->append(value ? "#t\r\n" : "#f\r\n");
  } else {
    out_->append(value ? ":1\r\n" : ":0\r\n");
  }
}

void ReplyWriter::Verbatim(std::string_view format, std::string_view text) {
  if (!resp3()) return Bulk(text);
  if (format.size() != 3) format = "txt";
  Header('=', static_cast<std::int64_t>(text.size() + 4));
  out_->append(format);
  out_->push_back(':');
  out_->append(text);
  out_->append("\r\n");
}

void ReplyWriter::BigNumber(std::string_view digits) {
  if (resp3()) {
    Line('(', digits);
  } else {
    Bulk(digits);
  }
}

}  // namespace herald::resp
