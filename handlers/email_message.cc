#include "handlers/email_message.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace herald::handlers {
namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

bool IsAscii(std::string_view text) {
  for (unsigned char c : text) {
    if (c >= 0x80) return false;
  }
  return true;
}

// Header values are single lines: CR, LF and other controls become spaces (no injection of
// extra headers through a template or event field).
std::string OneLine(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  return out;
}

// RFC 2047 "B" encoded-words of at most 45 input bytes each (75 chars encoded), split at UTF-8
// character boundaries, folded onto continuation lines.
std::string EncodeHeaderWords(std::string_view text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = std::min(text.size(), start + 45);
    while (end < text.size() && end > start + 1 &&
           (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) {
      --end;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64(text.substr(start, end - start)) + "?=";
    start = end;
  }
  return out;
}

std::string HeaderValue(std::string_view text) {
  std::string line = OneLine(text);
  if (IsAscii(line) && line.size() <= 900) return line;
  return EncodeHeaderWords(line);
}

// Splits `body` into lines whatever its line endings (CRLF, LF or CR).
std::vector<std::string_view> Lines(std::string_view body) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\r' || body[i] == '\n') {
      lines.push_back(body.substr(start, i - start));
      if (body[i] == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < body.size()) lines.push_back(body.substr(start));
  return lines;
}

bool NeedsQuotedPrintable(const std::vector<std::string_view>& lines) {
  for (std::string_view line : lines) {
    if (line.size() > 998) return true;
    for (unsigned char c : line) {
      if (c >= 0x80 || (c < 0x20 && c != '\t') || c == 0x7f) return true;
    }
  }
  return false;
}

// Quoted-printable (RFC 2045 6.7): soft line breaks keep lines within 76 characters.
std::string QuotedPrintable(const std::vector<std::string_view>& lines) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (std::string_view line : lines) {
    std::size_t column = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      const bool last = i + 1 == line.size();
      std::string piece;
      if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last)) {
        piece.push_back(static_cast<char>(c));
      } else {
        piece = {'=', kHex[c >> 4], kHex[c & 15]};
      }
      if (column + piece.size() > 75) {
        out += "=\r\n";
        column = 0;
      }
      out += piece;
      column += piece.size();
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace

std::string Rfc5322Date(std::int64_t ms) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%s, %02d %s %04d %02d:%02d:%02d +0000",
                kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buffer;
}

std::string AddressOf(std::string_view mailbox) {
  const std::size_t open = mailbox.rfind('<');
  const std::size_t close = mailbox.rfind('>');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
    return std::string(mailbox.substr(open + 1, close - open - 1));
  }
  while (!mailbox.empty() && mailbox.front() == ' ') mailbox.remove_prefix(1);
  while (!mailbox.empty() && mailbox.back() == ' ') mailbox.remove_suffix(1);
  return std::string(mailbox);
}

bool IsPlausibleAddress(std::string_view address) {
  if (address.empty() || address.size() > 254) return false;
  const std::size_t at = address.rfind('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == address.size()) return false;
  for (unsigned char c : address) {
    if (c <= 0x20 || c == 0x7f) return false;
    if (std::string_view("<>()[],;:\"\\").find(static_cast<char>(c)) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::string BuildRfc5322(const EmailMessage& message) {
  const std::vector<std::string_view> lines = Lines(message.body);
  const bool qp = NeedsQuotedPrintable(lines);
  std::string out;
  out += "Date: " + Rfc5322Date(message.date_ms) + "\r\n";
  out += "From: " + HeaderValue(message.from) + "\r\n";
  out += "To: " + OneLine(message.to) + "\r\n";
  out += "Subject: " + HeaderValue(message.subject) + "\r\n";
  if (!message.message_id.empty()) {
    out += "Message-ID: <" + OneLine(message.message_id) + ">\r\n";
  }
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += std::string("Content-Transfer-Encoding: ") + (qp ? "quoted-printable" : "7bit") + "\r\n";
  for (const auto& [name, value] : message.extra_headers) {
    out += OneLine(name) + ": " + HeaderValue(value) + "\r\n";
  }
  out += "\r\n";
  if (qp) {
    out += QuotedPrintable(lines);
  } else {
    for (std::string_view line : lines) {
      out.append(line);
      out += "\r\n";
    }
  }
  return out;
}

std::string DotStuff(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 5);
  for (std::string_view line : Lines(message)) {
    if (!line.empty() && line.front() == '.') out.push_back('.');
    out.append(line);
    out += "\r\n";
  }
  out += ".\r\n";
  return out;
}

}  // namespace herald::handlers
