#include "net/http/job_filter.h"

#include <cctype>

#include "net/http/api_json.h"
#include "net/http/request_fields.h"

namespace herald::net::http {
namespace {

constexpr std::int64_t kMaxTimeMs = std::int64_t{1} << 53;

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
}

}  // namespace

std::string ErrorPattern(std::string_view error) {
  std::string out;
  std::size_t i = 0;
  while (i < error.size()) {
    char c = error[i];
    // Quoted text ('x', "x") is a value: one placeholder.
    if (c == '\'' || c == '"') {
      std::size_t end = error.find(c, i + 1);
      if (end != std::string_view::npos && end - i <= 256) {
        out += c;
        out += '*';
        out += c;
        i = end + 1;
        continue;
      }
    }
    // A word: an e-mail address, an id with digits, or a plain word kept as it is.
    if (IsWordChar(c) || c == '@') {
      std::size_t end = i;
      bool digit = false, at = false, hex_only = true;
      while (end < error.size() && (IsWordChar(error[end]) || error[end] == '@' ||
                                    error[end] == ':' || error[end] == '/')) {
        char w = error[end];
        digit = digit || std::isdigit(static_cast<unsigned char>(w)) != 0;
        at = at || w == '@';
        hex_only = hex_only && (IsHex(w) || w == '-');
        ++end;
      }
      std::string_view word = error.substr(i, end - i);
      // A trailing ':' or '.' belongs to the sentence, not the word.
      while (!word.empty() && (word.back() == ':' || word.back() == '.')) word.remove_suffix(1);
      std::size_t kept_end = i + word.size();
      if (word.empty()) {  // punctuation alone (". ", ": ")
        out += c;
        ++i;
        continue;
      }
      if (at) {
        out += "<email>";
      } else if (digit && hex_only && word.size() >= 8) {
        out += "<id>";
      } else if (digit) {
        // Numbers, addresses (10.0.0.7:25), ids with digits (bk_12de9ac2, evt_7a76): one '#'.
        bool letters = false;
        for (char w : word) letters = letters || std::isalpha(static_cast<unsigned char>(w)) != 0;
        out += letters ? "<id>" : "#";
      } else {
        out += word;
      }
      i = kept_end;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

std::string ErrorFingerprint(std::string_view error) {
  std::string pattern = ErrorPattern(error);
  std::uint64_t hash = 1469598103934665603ULL;
  for (char c : pattern) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[hash & 0xf];
    hash >>= 4;
  }
  return out;
}

bool JobFilter::empty() const {
  return text.empty() && type.empty() && fingerprint.empty() && since == 0 &&
         until == std::numeric_limits<std::int64_t>::max();
}

bool JobFilter::Matches(const engine::Job& job) const {
  std::int64_t at = job.finished_ms > 0 ? job.finished_ms : job.created_ms;
  if (at < since || at > until) return false;
  if (!type.empty() && EventTypeOf(job.payload) != type) return false;
  if (!text.empty() && job.payload.find(text) == std::string::npos &&
      job.last_error.find(text) == std::string::npos) {
    return false;
  }
  if (!fingerprint.empty() && ErrorFingerprint(job.last_error) != fingerprint) return false;
  return true;
}

Result<JobFilter> FilterFromQuery(const HttpRequest& request) {
  JobFilter filter;
  if (auto text = request.Query("q")) filter.text = std::string(*text);
  if (auto type = request.Query("type")) filter.type = std::string(*type);
  if (auto fingerprint = request.Query("fingerprint"))
    filter.fingerprint = std::string(*fingerprint);
  HERALD_ASSIGN_OR_RETURN(filter.since, IntQuery(request, "since", 0, 0, kMaxTimeMs));
  HERALD_ASSIGN_OR_RETURN(filter.until,
                          IntQuery(request, "until", std::numeric_limits<std::int64_t>::max(), 0,
                                   std::numeric_limits<std::int64_t>::max()));
  return filter;
}

Result<JobFilter> FilterFromJson(const boost::json::object& object) {
  JobFilter filter;
  HERALD_ASSIGN_OR_RETURN(auto text, StringField(object, "q"));
  HERALD_ASSIGN_OR_RETURN(auto type, StringField(object, "type"));
  HERALD_ASSIGN_OR_RETURN(auto fingerprint, StringField(object, "fingerprint"));
  HERALD_ASSIGN_OR_RETURN(auto since, IntField(object, "since", 0, kMaxTimeMs));
  HERALD_ASSIGN_OR_RETURN(auto until, IntField(object, "until", 0, kMaxTimeMs));
  filter.text = text.value_or("");
  filter.type = type.value_or("");
  filter.fingerprint = fingerprint.value_or("");
  filter.since = since.value_or(0);
  if (until) filter.until = *until;
  return filter;
}

}  // namespace herald::net::http
