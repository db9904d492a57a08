// EmailMessage and its RFC 5322 form: the text/plain UTF-8 message the email handler sends
// over SMTP or writes to the outbox as a .eml file, plus the SMTP DATA encoding (dot-stuffing).
//
// Headers: Date, From, To, Subject (RFC 2047 encoded-words when not ASCII), Message-ID,
// MIME-Version, Content-Type: text/plain; charset=utf-8, Content-Transfer-Encoding (7bit when
// the body is short-lined ASCII, quoted-printable otherwise), then any extra headers. Lines end
// in CRLF.
//
// Thread safety: plain value and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace herald::handlers {

struct EmailMessage {
  std::string from;        // header form: "Herald <noreply@herald.local>" or a bare address
  std::string to;          // a bare address
  std::string subject;     // UTF-8; line breaks become spaces
  std::string body;        // UTF-8; any line ending becomes CRLF
  std::string message_id;  // without angle brackets: "evt-1.email@herald.local"
  std::int64_t date_ms = 0;
  std::vector<std::pair<std::string, std::string>> extra_headers;  // e.g. X-Herald-Event-Id
};

// The RFC 5322 text of `message`, CRLF line endings, ending in CRLF.
std::string BuildRfc5322(const EmailMessage& message);

// `message` prepared for SMTP DATA: line endings made CRLF, a '.' doubled at the start of every
// line, a final CRLF added when missing, and the terminating ".\r\n".
std::string DotStuff(std::string_view message);

// The address inside "Name <addr>", or the whole text trimmed when it has no angle brackets.
std::string AddressOf(std::string_view mailbox);

// True for a plausible single address: local@domain, no spaces, controls, or <>()[],;:"\.
// (not a full RFC 5321 parser: enough to refuse header or command injection).
bool IsPlausibleAddress(std::string_view address);

// "Tue, 05 Mar 2024 10:00:00 +0000" for `ms` since the epoch (UTC).
std::string Rfc5322Date(std::int64_t ms);

}  // namespace herald::handlers
