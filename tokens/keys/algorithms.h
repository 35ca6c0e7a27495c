// The algorithms the token layer offers, independent of PKCS#11 names.
#ifndef SIGNET_TOKENS_ALGORITHMS_H_
#define SIGNET_TOKENS_ALGORITHMS_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace signet {

enum class KeyType { kRsa, kEc };

enum class HashAlgorithm { kSha256, kSha384, kSha512 };

enum class SignatureScheme {
  kRsaPkcs1,  // RSASSA-PKCS1-v1_5 over a DigestInfo
  kRsaPss,    // RSASSA-PSS, MGF1 with the same hash
  kEcdsa,     // ECDSA, DER-encoded Ecdsa-Sig-Value
};

// RSAES-OAEP always with MGF1 over the same hash and an empty label: what
// OpenSSL's CMS, pkijs and WebCrypto senders make.
enum class DecryptionScheme {
  kRsaPkcs1,       // RSAES-PKCS1-v1_5
  kRsaOaepSha256,  // RSAES-OAEP, SHA-256 and MGF1-SHA-256, empty label
  kRsaOaepSha1,    // RSAES-OAEP, SHA-1 and MGF1-SHA-1 (OpenSSL's CMS default)
  kRsaOaepSha384,  // RSAES-OAEP, SHA-384 and MGF1-SHA-384, empty label
  kRsaOaepSha512,  // RSAES-OAEP, SHA-512 and MGF1-SHA-512 (pkijs' default)
};

std::size_t DigestLength(HashAlgorithm hash);
absl::string_view HashName(HashAlgorithm hash);  // "SHA-256"
absl::string_view SchemeName(SignatureScheme scheme);
absl::string_view SchemeName(DecryptionScheme scheme);
absl::string_view KeyTypeName(KeyType type);

}  // namespace signet

#endif  // SIGNET_TOKENS_ALGORITHMS_H_
