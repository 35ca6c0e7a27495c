// Conversions between what a token signs or returns and what standards
// expect: the DigestInfo for RSA PKCS#1 v1.5, DER for ECDSA's raw r||s.
#ifndef SIGNET_TOKENS_SIGNATURE_ENCODING_H_
#define SIGNET_TOKENS_SIGNATURE_ENCODING_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tokens/keys/algorithms.h"

namespace signet {

// DER DigestInfo { algorithm, digest } (RFC 8017 section 9.2), which a token's
// raw CKM_RSA_PKCS mechanism pads and signs.
absl::StatusOr<std::string> EncodeDigestInfo(HashAlgorithm hash, absl::string_view digest);

// PKCS#11 returns ECDSA signatures as r||s, each half the field size; X.509,
// CMS and OpenSSL want DER Ecdsa-Sig-Value { r INTEGER, s INTEGER }.
absl::StatusOr<std::string> EcdsaRawToDer(absl::string_view raw);

}  // namespace signet

#endif  // SIGNET_TOKENS_SIGNATURE_ENCODING_H_
