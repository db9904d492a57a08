#include "handlers/fcm_client.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json.hpp>

#include <algorithm>

namespace herald::handlers {
namespace {

namespace json = boost::json;

constexpr std::string_view kDefaultTokenUri = "https://oauth2.googleapis.com/token";
constexpr std::string_view kDefaultSendUrl =
    "https://fcm.googleapis.com/v1/projects/{project}/messages:send";
// A token is used until this long before it expires, so no request carries a stale one.
constexpr std::int64_t kTokenMarginMs = 60 * 1000;
constexpr std::int64_t kAssertionLifetimeS = 3600;

std::string Base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 63];
  return out;
}

// The string at `key` of `object`; "" when absent or not a string.
std::string StringAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) return {};
  return std::string(value->get_string());
}

// FCM's error answer: {"error":{"code":404,"message":"..","status":"NOT_FOUND",
// "details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError",
// "errorCode":"UNREGISTERED"}]}}. Parts that are missing stay "".
struct FcmError {
  std::string status;
  std::string error_code;
  std::string message;
};

FcmError ParseFcmError(std::string_view body) {
  FcmError error;
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec || !root.is_object()) return error;
  const json::value* inner = root.as_object().if_contains("error");
  if (inner == nullptr || !inner->is_object()) return error;
  const json::object& object = inner->as_object();
  error.status = StringAt(object, "status");
  error.message = StringAt(object, "message");
  if (const json::value* details = object.if_contains("details"); details && details->is_array()) {
    for (const json::value& detail : details->as_array()) {
      if (!detail.is_object()) continue;
      std::string code = StringAt(detail.as_object(), "errorCode");
      if (!code.empty()) error.error_code = std::move(code);
    }
  }
  return error;
}

std::string Shortened(std::string text) {
  constexpr std::size_t kMax = 300;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return text;
}

}  // namespace

struct FcmClient::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

Result<ServiceAccount> ParseServiceAccount(std::string_view text) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) return Status::InvalidArgument("service account JSON is invalid: " + ec.message());
  if (!root.is_object()) return Status::InvalidArgument("service account JSON is not an object");
  const json::object& object = root.as_object();
  const std::string type = StringAt(object, "type");
  if (!type.empty() && type != "service_account") {
    return Status::InvalidArgument("service account type is '" + type + "', not 'service_account'");
  }
  ServiceAccount account;
  account.project_id = StringAt(object, "project_id");
  account.client_email = StringAt(object, "client_email");
  account.private_key_id = StringAt(object, "private_key_id");
  account.private_key = StringAt(object, "private_key");
  account.token_uri = StringAt(object, "token_uri");
  if (account.token_uri.empty()) account.token_uri = std::string(kDefaultTokenUri);
  if (account.client_email.empty()) {
    return Status::InvalidArgument("service account JSON has no client_email");
  }
  if (account.private_key.empty()) {
    return Status::InvalidArgument("service account JSON has no private_key");
  }
  return account;
}

Result<std::unique_ptr<FcmClient>> FcmClient::Create(FcmOptions options) {
  const std::string& pem = options.account.private_key;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  auto key = std::make_unique<Key>();
  key->pkey = bio == nullptr ? nullptr : PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ERR_clear_error();
  if (key->pkey == nullptr || EVP_PKEY_get_base_id(key->pkey) != EVP_PKEY_RSA) {
    return Status::InvalidArgument("service account private_key is not a PEM RSA private key");
  }
  const std::string project =
      options.project_id.empty() ? options.account.project_id : options.project_id;
  if (project.empty()) {
    return Status::InvalidArgument("no FCM project: the service account has no project_id");
  }
  auto client = std::unique_ptr<FcmClient>(new FcmClient(std::move(options), std::move(key)));
  HERALD_RETURN_IF_ERROR(ParseHttpUrl(client->token_url_).status().WithPrefix("FCM token URL"));
  HERALD_RETURN_IF_ERROR(ParseHttpUrl(client->send_url_).status().WithPrefix("FCM send URL"));
  return client;
}

namespace {

HttpPosterOptions PosterOptions(const FcmOptions& options) {
  HttpPosterOptions poster;
  poster.ca_file = options.ca_file;
  poster.insecure = options.insecure;
  return poster;
}

}  // namespace

FcmClient::FcmClient(FcmOptions options, std::unique_ptr<Key> key)
    : options_(std::move(options)),
      project_id_(options_.project_id.empty() ? options_.account.project_id : options_.project_id),
      token_url_(options_.token_url.empty() ? options_.account.token_uri : options_.token_url),
      send_url_(options_.send_url.empty() ? std::string(kDefaultSendUrl) : options_.send_url),
      key_(std::move(key)),
      clock_(options_.clock != nullptr ? options_.clock : &system_clock_),
      poster_(PosterOptions(options_)) {
  const std::string placeholder = "{project}";
  for (std::size_t at = send_url_.find(placeholder); at != std::string::npos;
       at = send_url_.find(placeholder, at + project_id_.size())) {
    send_url_.replace(at, placeholder.size(), project_id_);
  }
}

FcmClient::~FcmClient() = default;

std::string FcmClient::Assertion(std::int64_t now_s) const {
  json::object header;
  header["alg"] = "RS256";
  header["typ"] = "JWT";
  if (!options_.account.private_key_id.empty()) header["kid"] = options_.account.private_key_id;
  json::object claims;
  claims["iss"] = options_.account.client_email;
  claims["scope"] = kFcmScope;
  claims["aud"] = token_url_;
  claims["iat"] = now_s;
  claims["exp"] = now_s + kAssertionLifetimeS;
  const std::string signing_input =
      Base64Url(json::serialize(header)) + "." + Base64Url(json::serialize(claims));
  std::string signature;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_->pkey) == 1 &&
      EVP_DigestSign(ctx, nullptr, &size, data, signing_input.size()) == 1) {
    signature.resize(size);
    if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &size, data,
                       signing_input.size()) == 1) {
      signature.resize(size);
    } else {
      signature.clear();
    }
  }
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  // An unsigned assertion is refused by the token endpoint, which names the problem.
  return signing_input + "." + Base64Url(signature);
}

std::string FcmClient::AccessToken(std::chrono::steady_clock::time_point deadline,
                                   std::stop_token stop, FcmResult* failure) {
  auto cached = [&]() -> std::string {
    MutexLock lock(&mu_);
    if (!token_.empty() && clock_->NowMs() < token_expires_ms_ - kTokenMarginMs) return token_;
    return {};
  };
  if (std::string token = cached(); !token.empty()) return token;
  std::lock_guard<std::mutex> refresh(refresh_mu_);
  // Another sender may have refreshed while this one waited.
  if (std::string token = cached(); !token.empty()) return token;

  const std::int64_t now_ms = clock_->NowMs();
  HttpRequest request;
  request.url = token_url_;
  request.content_type = "application/x-www-form-urlencoded";
  request.body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" +
                 Assertion(now_ms / 1000);
  auto response = poster_.Send(request, deadline, std::move(stop));
  if (!response.ok()) {
    *failure = {FcmResult::Kind::kTransient, 0,
                "fcm token endpoint " + token_url_ + ": " + response.status().message(), -1};
    return {};
  }
  if (!response->ok()) {
    // {"error":"invalid_grant","error_description":"Invalid JWT Signature."}
    std::string reason;
    boost::system::error_code ec;
    json::value root = json::parse(response->body, ec);
    if (!ec && root.is_object()) {
      reason = StringAt(root.as_object(), "error");
      const std::string description = StringAt(root.as_object(), "error_description");
      if (!description.empty()) reason += (reason.empty() ? "" : ": ") + description;
    }
    const bool transient = response->status >= 500 || response->status == 429;
    *failure = {
        transient ? FcmResult::Kind::kTransient : FcmResult::Kind::kPermanent, response->status,
        "fcm token endpoint " + token_url_ + " answered " + std::to_string(response->status) +
            (reason.empty() ? "" : " " + Shortened(reason)),
        response->retry_after_ms};
    return {};
  }
  boost::system::error_code ec;
  json::value root = json::parse(response->body, ec);
  std::string token;
  std::int64_t expires_in = 0;
  if (!ec && root.is_object()) {
    token = StringAt(root.as_object(), "access_token");
    if (const json::value* value = root.as_object().if_contains("expires_in")) {
      if (value->is_int64()) expires_in = value->as_int64();
      if (value->is_uint64()) expires_in = static_cast<std::int64_t>(value->as_uint64());
    }
  }
  if (token.empty() || expires_in <= 0) {
    *failure = {FcmResult::Kind::kTransient, response->status,
                "fcm token endpoint " + token_url_ + " answered without access_token/expires_in",
                -1};
    return {};
  }
  MutexLock lock(&mu_);
  token_ = token;
  token_expires_ms_ = now_ms + expires_in * 1000;
  return token;
}

void FcmClient::DropToken(const std::string& token) {
  MutexLock lock(&mu_);
  if (token_ == token) {
    token_.clear();
    token_expires_ms_ = 0;
  }
}

FcmResult FcmClient::Send(std::string_view device_token, const FcmMessage& message,
                          std::chrono::steady_clock::time_point deadline, std::stop_token stop) {
  FcmResult failure;
  const std::string token = AccessToken(deadline, stop, &failure);
  if (token.empty()) return failure;

  json::object notification;
  notification["title"] = message.title;
  notification["body"] = message.body;
  json::object body;
  body["token"] = device_token;
  body["notification"] = std::move(notification);
  if (!message.data.empty()) {
    json::object data;
    for (const auto& [name, value] : message.data) data[name] = value;
    body["data"] = std::move(data);
  }
  json::object envelope;
  envelope["message"] = std::move(body);

  HttpRequest request;
  request.url = send_url_;
  request.body = json::serialize(envelope);
  request.headers = {{"Authorization", "Bearer " + token}};
  auto response = poster_.Send(request, deadline, std::move(stop));
  if (!response.ok()) {
    return {FcmResult::Kind::kTransient, 0, "fcm " + response.status().message(), -1};
  }
  if (response->ok()) {
    std::string name;
    boost::system::error_code ec;
    json::value root = json::parse(response->body, ec);
    if (!ec && root.is_object()) name = StringAt(root.as_object(), "name");
    return {FcmResult::Kind::kSent, response->status, name.empty() ? "sent" : name, -1};
  }
  const FcmError error = ParseFcmError(response->body);
  std::string detail = "fcm answered " + std::to_string(response->status);
  if (!error.status.empty()) detail += " " + error.status;
  if (!error.error_code.empty()) detail += " (" + error.error_code + ")";
  if (!error.message.empty()) detail += ": " + Shortened(error.message);
  const unsigned status = response->status;
  FcmResult::Kind kind = FcmResult::Kind::kPermanent;
  if (status == 404 || error.error_code == "UNREGISTERED" ||
      error.error_code == "SENDER_ID_MISMATCH") {
    kind = FcmResult::Kind::kUnregistered;
  } else if (status == 401) {
    // The access token was revoked or expired early: the retry fetches another.
    DropToken(token);
    kind = FcmResult::Kind::kTransient;
  } else if (status == 429 || status >= 500) {
    kind = FcmResult::Kind::kTransient;
  }
  return {kind, status, std::move(detail), response->retry_after_ms};
}

}  // namespace herald::handlers
