#include "tokens/keys/algorithms.h"

namespace signet {

std::size_t DigestLength(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha256:
      return 32;
    case HashAlgorithm::kSha384:
      return 48;
    case HashAlgorithm::kSha512:
      return 64;
  }
  return 0;
}

absl::string_view HashName(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha256:
      return "SHA-256";
    case HashAlgorithm::kSha384:
      return "SHA-384";
    case HashAlgorithm::kSha512:
      return "SHA-512";
  }
  return "?";
}

absl::string_view SchemeName(SignatureScheme scheme) {
  switch (scheme) {
    case SignatureScheme::kRsaPkcs1:
      return "RSA PKCS#1 v1.5";
    case SignatureScheme::kRsaPss:
      return "RSA-PSS";
    case SignatureScheme::kEcdsa:
      return "ECDSA";
  }
  return "?";
}

absl::string_view SchemeName(DecryptionScheme scheme) {
  switch (scheme) {
    case DecryptionScheme::kRsaPkcs1:
      return "RSA PKCS#1 v1.5";
    case DecryptionScheme::kRsaOaepSha256:
      return "RSA-OAEP (SHA-256)";
    case DecryptionScheme::kRsaOaepSha1:
      return "RSA-OAEP (SHA-1)";
    case DecryptionScheme::kRsaOaepSha384:
      return "RSA-OAEP (SHA-384)";
    case DecryptionScheme::kRsaOaepSha512:
      return "RSA-OAEP (SHA-512)";
  }
  return "?";
}

absl::string_view KeyTypeName(KeyType type) { return type == KeyType::kRsa ? "RSA" : "EC"; }

}  // namespace signet
