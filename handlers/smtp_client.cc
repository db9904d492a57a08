#include "handlers/smtp_client.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "handlers/email_message.h"

namespace herald::handlers {
namespace {

using Clock = std::chrono::steady_clock;

// What the session's trace saw: the command the server is answering and its last reply.
struct SmtpTrace {
  // "the greeting" before any command; otherwise the command's verb ("MAIL FROM", "AUTH");
  // "the end of the message" once the message was sent. Never an argument (AUTH's would be
  // the credentials).
  std::string waiting_for = "the greeting";
  int code = 0;         // the last complete reply
  std::string reply;    // "451 4.7.1 Try again later" (lines joined by a space)
  std::string partial;  // the lines of a multi-line reply seen so far
  std::string pending;  // bytes of a reply line not yet ended by CRLF
  // A refusal was seen: what follows (libcurl's QUIT and its 221) does not replace it.
  bool refused = false;
};

std::string VerbOf(std::string_view line) {
  std::string upper;
  for (char c : line.substr(0, 10)) upper += static_cast<char>(std::toupper(c));
  if (upper.rfind("MAIL FROM", 0) == 0) return "MAIL FROM";
  if (upper.rfind("RCPT TO", 0) == 0) return "RCPT TO";
  const std::size_t end = line.find_first_of(" \r\n");
  std::string verb = upper.substr(0, std::min(end, upper.size()));
  return verb.empty() ? "a command" : verb;
}

void OnReplyLine(SmtpTrace* trace, std::string_view line) {
  if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
      !std::isdigit(static_cast<unsigned char>(line[1])) ||
      !std::isdigit(static_cast<unsigned char>(line[2]))) {
    return;
  }
  const bool more = line.size() > 3 && line[3] == '-';
  const std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view();
  if (!text.empty()) trace->partial += (trace->partial.empty() ? "" : " ") + std::string(text);
  if (more) return;
  trace->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  trace->reply =
      std::string(line.substr(0, 3)) + (trace->partial.empty() ? "" : " ") + trace->partial;
  trace->partial.clear();
  // A refused EHLO is followed by HELO, which may well succeed.
  if (trace->code >= 400 && trace->waiting_for != "EHLO") trace->refused = true;
}

void OnTrace(void* context, curl_infotype type, const char* data, std::size_t size) {
  auto* trace = static_cast<SmtpTrace*>(context);
  if (trace->refused) return;
  switch (type) {
    case CURLINFO_HEADER_OUT: {
      // libcurl says QUIT as it drops a connection that failed: the failure was the command
      // before it.
      std::string verb = VerbOf(std::string_view(data, size));
      if (verb != "QUIT") trace->waiting_for = std::move(verb);
      break;
    }
    case CURLINFO_DATA_OUT:
      trace->waiting_for = "the end of the message";
      break;
    case CURLINFO_HEADER_IN: {
      trace->pending.append(data, size);
      std::size_t eol;
      while ((eol = trace->pending.find('\n')) != std::string::npos) {
        std::string_view line(trace->pending.data(), eol);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        OnReplyLine(trace, line);
        trace->pending.erase(0, eol + 1);
      }
      break;
    }
    default:
      break;
  }
}

struct Upload {
  const std::string* message;
  std::size_t offset = 0;
};

std::size_t ReadUpload(char* buffer, std::size_t size, std::size_t count, void* context) {
  auto* upload = static_cast<Upload*>(context);
  const std::size_t n = std::min(size * count, upload->message->size() - upload->offset);
  std::memcpy(buffer, upload->message->data() + upload->offset, n);
  upload->offset += n;
  return n;
}

bool IsTlsError(CURLcode code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
      return true;
    default:
      return false;
  }
}

}  // namespace

SmtpResult SmtpClient::Send(const SmtpEnvelope& envelope, Clock::time_point deadline,
                            std::stop_token stop) {
  const std::string peer = "smtp " + options_.host + ":" + std::to_string(options_.port);
  auto result = [&](SmtpResult::Kind kind, int code, const std::string& what) {
    return SmtpResult{kind, code, peer + ": " + what};
  };
  auto permanent = [&](const std::string& what) {
    return result(SmtpResult::Kind::kPermanent, 0, what);
  };
  auto transient = [&](int code, const std::string& what) {
    return result(SmtpResult::Kind::kTransient, code, what);
  };
  // Checked before connecting: an address with CR/LF or '>' would inject commands.
  if (envelope.rcpt_to.empty()) return permanent("no recipient");
  for (const std::string& address : envelope.rcpt_to) {
    if (!IsPlausibleAddress(address)) return permanent("invalid recipient '" + address + "'");
  }
  if (!IsPlausibleAddress(envelope.mail_from)) {
    return permanent("invalid sender '" + envelope.mail_from + "'");
  }
  if (options_.helo_name.empty() ||
      options_.helo_name.find_first_of(" /?#\r\n\t") != std::string::npos) {
    return permanent("invalid EHLO name '" + options_.helo_name + "'");
  }

  auto lease = sessions_.Take();
  if (!lease.ok()) return transient(0, lease.status().message());
  CurlTransfer& session = **lease;
  CURL* easy = session.easy();

  const bool ipv6 = options_.host.find(':') != std::string::npos;
  const std::string url = std::string(options_.tls == SmtpTls::kImplicit ? "smtps://" : "smtp://") +
                          (ipv6 ? "[" + options_.host + "]" : options_.host) + ":" +
                          std::to_string(options_.port) + "/" + options_.helo_name;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_USE_SSL,
                   options_.tls == SmtpTls::kStartTls ? static_cast<long>(CURLUSESSL_ALL)
                                                      : static_cast<long>(CURLUSESSL_NONE));
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, options_.insecure ? 0L : 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, options_.insecure ? 0L : 2L);
  if (!options_.username.empty()) {
    curl_easy_setopt(easy, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, options_.password.c_str());
    curl_easy_setopt(easy, CURLOPT_SASL_IR, 1L);
    const char* mechanism = options_.auth == SmtpAuth::kPlain   ? "AUTH=PLAIN"
                            : options_.auth == SmtpAuth::kLogin ? "AUTH=LOGIN"
                                                                : nullptr;
    curl_easy_setopt(easy, CURLOPT_LOGIN_OPTIONS, mechanism);
  }
  const long step_ms = static_cast<long>(std::max<std::int64_t>(1, options_.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, step_ms);
  // Bounds the blocking QUIT when a kept session is closed; replies within a message are
  // bounded by the step timeout of the run.
  curl_easy_setopt(easy, CURLOPT_SERVER_RESPONSE_TIMEOUT, (step_ms + 999) / 1000);
  curl_easy_setopt(easy, CURLOPT_MAXAGE_CONN, static_cast<long>(options_.idle.count()));

  curl_easy_setopt(easy, CURLOPT_MAIL_FROM, ("<" + envelope.mail_from + ">").c_str());
  CurlList recipients;
  for (const std::string& address : envelope.rcpt_to) recipients.Append("<" + address + ">");
  curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, recipients.get());
  // libcurl dot-stuffs the message and ends it with CRLF "." CRLF.
  Upload upload{&envelope.message};
  curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(easy, CURLOPT_READFUNCTION, &ReadUpload);
  curl_easy_setopt(easy, CURLOPT_READDATA, &upload);
  curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE,
                   static_cast<curl_off_t>(envelope.message.size()));

  SmtpTrace trace;
  session.set_trace(&OnTrace, &trace);
  const CurlRun run = session.Run(deadline, options_.timeout, std::move(stop));
  // The options point at this frame's strings: none may outlive it in the kept handle.
  curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, nullptr);
  curl_easy_setopt(easy, CURLOPT_READDATA, nullptr);

  const std::string waiting =
      trace.waiting_for == "the greeting" || trace.waiting_for == "the end of the message"
          ? trace.waiting_for
          : "the reply to " + trace.waiting_for;
  if (run.stopped) return transient(0, "shutting down during " + waiting);
  if (run.step_timeout) {
    return transient(0, "timed out after " + std::to_string(options_.timeout.count()) +
                            " ms waiting for " + waiting);
  }
  if (run.deadline) return transient(0, "timed out at the job's deadline waiting for " + waiting);
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  if (run.code == CURLE_OK) {
    return {SmtpResult::Kind::kSent, static_cast<int>(code),
            trace.reply.empty() ? std::to_string(code) : trace.reply};
  }
  if (trace.code >= 400) {
    const std::string what =
        "answered " + trace.reply + " to " +
        (trace.waiting_for == "the greeting" ? "the connection" : trace.waiting_for);
    if (trace.code >= 500) return result(SmtpResult::Kind::kPermanent, trace.code, what);
    return transient(trace.code, what);
  }
  switch (run.code) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return transient(0, "cannot resolve " + options_.host + ": " + run.error);
    case CURLE_COULDNT_CONNECT:
      return transient(0, "cannot connect: " + run.error);
    case CURLE_OPERATION_TIMEDOUT:
      // libcurl's connect timeout covers the greeting too.
      return transient(0, "timed out waiting for " + waiting + ": " + run.error);
    case CURLE_LOGIN_DENIED:
      // No reply code of 400 or more: the server offers no mechanism we may use.
      return permanent("AUTH impossible: " + run.error);
    default:
      break;
  }
  if (IsTlsError(run.code)) return transient(0, "TLS: " + run.error);
  return transient(0, run.error + " (waiting for " + waiting + ")");
}

}  // namespace herald::handlers
