// FakeFcm: Google's OAuth2 token endpoint and the FCM HTTP v1 send endpoint, played by one https
// server on loopback (tests/support/http_server.h) with a certificate of a CA made for the test.
//
// The token endpoint checks each assertion as Google does: an RS256 JWT signed by the service
// account's key (verified with its public half), with the account's iss and kid, the
// firebase.messaging scope, this endpoint as aud, and an hour between iat and exp. A good one
// gets a new access token ("ya29.fake-1", ...), good for an hour; anything else a 400
// invalid_grant naming the problem (also kept in problems()). The send endpoint wants a
// current access token (401 otherwise) and answers per device token what the test scripted,
// by default 200 with a message name.
//
// Thread safety: thread-safe; the server's thread calls in.
#pragma once

#include <boost/json.hpp>

#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tests/support/http_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_certs.h"

namespace herald::testing {

class FakeFcm {
 public:
  static constexpr char kProject[] = "herald-demo";
  static constexpr char kClientEmail[] = "herald@herald-demo.iam.gserviceaccount.com";
  static constexpr char kKeyId[] = "key-1";

  FakeFcm() : server_(HttpServerOptions{certs_.server_cert_pem, certs_.server_key_pem}) {
    server_.SetHandler([this](const RecordedRequest& request) { return Answer(request); });
  }

  std::string token_url() const { return server_.Url("/token"); }
  std::string send_url() const { return server_.Url("/v1/projects/{project}/messages:send"); }
  const std::string& ca_file() const { return ca_file_; }
  const RsaKeyPair& key() const { return key_; }

  // The service-account key file's JSON, token_uri pointing here.
  std::string ServiceAccountJson() const {
    boost::json::object account;
    account["type"] = "service_account";
    account["project_id"] = kProject;
    account["private_key_id"] = kKeyId;
    account["private_key"] = key_.private_pem;
    account["client_email"] = kClientEmail;
    account["token_uri"] = token_url();
    return boost::json::serialize(account);
  }

  // The next sends to `device` get `response` (in order), later ones the default 200.
  void Script(const std::string& device, ScriptedResponse response) {
    std::lock_guard<std::mutex> lock(mu_);
    scripts_[device].push_back(std::move(response));
  }
  // FCM's answer for a dead token.
  static ScriptedResponse Unregistered() {
    return {404,
            {},
            R"({"error":{"code":404,"message":"Requested entity was not found.",)"
            R"("status":"NOT_FOUND","details":[{"@type":)"
            R"("type.googleapis.com/google.firebase.fcm.v1.FcmError",)"
            R"("errorCode":"UNREGISTERED"}]}})"};
  }
  // The next token requests are refused with `response`.
  void RefuseTokenRequests(ScriptedResponse response, int times = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < times; ++i) token_refusals_.push_back(response);
  }
  // Access tokens issued so far stop working (401), as a revoked token does.
  void RevokeAccessTokens() {
    std::lock_guard<std::mutex> lock(mu_);
    valid_tokens_.clear();
  }

  int token_requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return token_requests_;
  }
  // The `message` objects of the sends that were accepted, in order.
  std::vector<boost::json::object> messages() const {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }
  // Device tokens of every send request, accepted or not, in order.
  std::vector<std::string> devices_sent_to() const {
    std::lock_guard<std::mutex> lock(mu_);
    return devices_;
  }
  std::vector<std::string> problems() const {
    std::lock_guard<std::mutex> lock(mu_);
    return problems_;
  }
  std::vector<RecordedRequest> requests() const { return server_.requests(); }
  // The claims of the last good assertion.
  boost::json::object last_claims() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_claims_;
  }

 private:
  static ScriptedResponse Json(unsigned status, const boost::json::object& body) {
    return {status, {}, boost::json::serialize(body)};
  }

  ScriptedResponse InvalidGrant(const std::string& problem) {
    problems_.push_back(problem);
    boost::json::object body;
    body["error"] = "invalid_grant";
    body["error_description"] = problem;
    return Json(400, body);
  }

  static std::string FormValue(const std::string& body, const std::string& name) {
    const std::string key = name + "=";
    std::size_t at = 0;
    while (at < body.size()) {
      const std::size_t end = std::min(body.find('&', at), body.size());
      if (body.compare(at, key.size(), key) == 0) {
        return body.substr(at + key.size(), end - at - key.size());
      }
      at = end + 1;
    }
    return {};
  }

  ScriptedResponse Token(const RecordedRequest& request) {
    ++token_requests_;
    if (!token_refusals_.empty()) {
      ScriptedResponse refusal = token_refusals_.front();
      token_refusals_.pop_front();
      return refusal;
    }
    if (request.headers.count("content-type") == 0 ||
        request.headers.at("content-type") != "application/x-www-form-urlencoded") {
      return InvalidGrant("content type is not a form");
    }
    if (FormValue(request.body, "grant_type") !=
        "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") {
      return InvalidGrant("grant_type is not jwt-bearer");
    }
    const std::string jwt = FormValue(request.body, "assertion");
    const std::size_t dot1 = jwt.find('.');
    const std::size_t dot2 = dot1 == std::string::npos ? dot1 : jwt.find('.', dot1 + 1);
    if (dot2 == std::string::npos) return InvalidGrant("assertion is not a JWT");
    const std::string signing_input = jwt.substr(0, dot2);
    if (!VerifyRs256(key_.public_pem, signing_input, Base64UrlDecode(jwt.substr(dot2 + 1)))) {
      return InvalidGrant("Invalid JWT Signature.");
    }
    boost::system::error_code ec;
    boost::json::value header = boost::json::parse(Base64UrlDecode(jwt.substr(0, dot1)), ec);
    if (ec || !header.is_object()) return InvalidGrant("JWT header is not JSON");
    boost::json::value claims =
        boost::json::parse(Base64UrlDecode(jwt.substr(dot1 + 1, dot2 - dot1 - 1)), ec);
    if (ec || !claims.is_object()) return InvalidGrant("JWT claims are not JSON");
    const boost::json::object& h = header.as_object();
    const boost::json::object& c = claims.as_object();
    auto text = [](const boost::json::object& o, const char* key) -> std::string {
      const boost::json::value* v = o.if_contains(key);
      return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
    };
    auto number = [](const boost::json::object& o, const char* key) -> std::int64_t {
      const boost::json::value* v = o.if_contains(key);
      return v != nullptr && v->is_int64() ? v->as_int64() : -1;
    };
    if (text(h, "alg") != "RS256" || text(h, "typ") != "JWT") return InvalidGrant("not RS256");
    if (text(h, "kid") != kKeyId) return InvalidGrant("wrong kid");
    if (text(c, "iss") != kClientEmail) return InvalidGrant("wrong iss");
    if (text(c, "scope") != "https://www.googleapis.com/auth/firebase.messaging") {
      return InvalidGrant("wrong scope");
    }
    if (text(c, "aud") != token_url()) return InvalidGrant("wrong aud");
    if (number(c, "iat") <= 0 || number(c, "exp") - number(c, "iat") != 3600) {
      return InvalidGrant("iat/exp are not an hour apart");
    }
    last_claims_ = c;
    const std::string token = "ya29.fake-" + std::to_string(++issued_);
    valid_tokens_.insert(token);
    boost::json::object body;
    body["access_token"] = token;
    body["expires_in"] = 3600;
    body["token_type"] = "Bearer";
    return Json(200, body);
  }

  ScriptedResponse Send(const RecordedRequest& request) {
    boost::system::error_code ec;
    boost::json::value body = boost::json::parse(request.body, ec);
    std::string device;
    if (!ec && body.is_object()) {
      if (const auto* message = body.as_object().if_contains("message");
          message != nullptr && message->is_object()) {
        if (const auto* token = message->as_object().if_contains("token");
            token != nullptr && token->is_string()) {
          device = std::string(token->get_string());
        }
      }
    }
    devices_.push_back(device);
    auto auth = request.headers.find("authorization");
    if (auth == request.headers.end() || auth->second.rfind("Bearer ", 0) != 0 ||
        valid_tokens_.count(auth->second.substr(7)) == 0) {
      return {401, {}, R"({"error":{"code":401,"status":"UNAUTHENTICATED"}})"};
    }
    if (device.empty()) {
      return {400, {}, R"({"error":{"code":400,"status":"INVALID_ARGUMENT"}})"};
    }
    auto script = scripts_.find(device);
    if (script != scripts_.end() && !script->second.empty()) {
      ScriptedResponse response = script->second.front();
      script->second.pop_front();
      if (response.status < 300) messages_.push_back(body.as_object()["message"].as_object());
      return response;
    }
    messages_.push_back(body.as_object()["message"].as_object());
    boost::json::object answer;
    answer["name"] =
        std::string("projects/") + kProject + "/messages/" + std::to_string(messages_.size());
    return Json(200, answer);
  }

  ScriptedResponse Answer(const RecordedRequest& request) {
    std::lock_guard<std::mutex> lock(mu_);
    if (request.method == "POST" && request.target == "/token") return Token(request);
    if (request.method == "POST" &&
        request.target == std::string("/v1/projects/") + kProject + "/messages:send") {
      return Send(request);
    }
    problems_.push_back("unexpected " + request.method + " " + request.target);
    return {404, {}, R"({"error":{"code":404,"status":"NOT_FOUND"}})"};
  }

  TempDir dir_;
  const TestCertificates certs_ = MakeTestCertificates();
  const std::string ca_file_ = WriteFile(dir_.Sub("ca.pem"), certs_.ca_pem);
  const RsaKeyPair key_ = MakeRsaKeyPair();

  mutable std::mutex mu_;
  std::map<std::string, std::deque<ScriptedResponse>> scripts_;
  std::deque<ScriptedResponse> token_refusals_;
  std::set<std::string> valid_tokens_;
  int issued_ = 0;
  int token_requests_ = 0;
  std::vector<boost::json::object> messages_;
  std::vector<std::string> devices_;
  std::vector<std::string> problems_;
  boost::json::object last_claims_;

  // Last: it calls in until it is gone.
  HttpServer server_;
};

}  // namespace herald::testing
