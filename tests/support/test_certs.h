// Keys and certificates made fresh for a test with OpenSSL: a CA and a server certificate it
// signed (for the TLS peers the handler tests talk to), an RSA key pair (a service account's
// key, to sign and check RS256 JWTs), and the base64url codec JWTs use.
//
// Thread safety: the functions are thread-safe; nothing is shared between calls.
#pragma once

#include <string>
#include <string_view>

namespace herald::testing {

struct TestCertificates {
  std::string ca_pem;           // the CA's self-signed certificate: what a client trusts
  std::string server_cert_pem;  // for 127.0.0.1 and localhost (subjectAltName), signed by the CA
  std::string server_key_pem;   // the server certificate's private key
};

// A new CA (ECDSA P-256, named `ca_name`) and a server certificate it signed, valid from an hour
// ago for a day. Two calls make two unrelated CAs: a client trusting one refuses the other's
// server. Aborts the test binary when OpenSSL fails (it does not, short of memory).
TestCertificates MakeTestCertificates(std::string_view ca_name = "Herald Test CA");

struct RsaKeyPair {
  std::string private_pem;  // PKCS#8 "BEGIN PRIVATE KEY", as in a service-account JSON
  std::string public_pem;   // SubjectPublicKeyInfo "BEGIN PUBLIC KEY"
};

// A new RSA key pair of `bits` bits.
RsaKeyPair MakeRsaKeyPair(int bits = 2048);

// True when `signature` is a valid RSASSA-PKCS1-v1_5 SHA-256 signature (JWS "RS256") of `data`
// under `public_pem`.
bool VerifyRs256(std::string_view public_pem, std::string_view data, std::string_view signature);

// Base64url without padding (RFC 4648 section 5), as in JWTs. Decoding returns "" for text
// that is not base64url.
std::string Base64UrlEncode(std::string_view bytes);
std::string Base64UrlDecode(std::string_view text);

}  // namespace herald::testing
