// Public keys as OpenSSL objects, built from the attributes a token exposes,
// and the reverse for key generation templates.
#ifndef SIGNET_TOKENS_PUBLIC_KEY_H_
#define SIGNET_TOKENS_PUBLIC_KEY_H_

#include <openssl/evp.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ossl_ptr.h"

namespace signet {

// From CKA_MODULUS and CKA_PUBLIC_EXPONENT (big-endian unsigned integers).
absl::StatusOr<EvpPkeyPtr> RsaPublicKey(absl::string_view modulus, absl::string_view exponent);

// From CKA_EC_PARAMS (DER namedCurve OID) and CKA_EC_POINT, which the
// standard wraps in a DER OCTET STRING and some tokens return bare.
absl::StatusOr<EvpPkeyPtr> EcPublicKey(absl::string_view ec_params_der, absl::string_view ec_point);

// DER namedCurve OID for CKA_EC_PARAMS, from an OpenSSL curve name
// ("prime256v1", "secp384r1").
absl::StatusOr<std::string> EcParamsForCurve(absl::string_view curve_name);

// The uncompressed point of an EC public key (what ECDH's peer needs).
absl::StatusOr<std::string> EcPublicPoint(const EVP_PKEY* key);

// The size of an EC key's field in bytes (the length of r, s, or an ECDH
// shared secret).
int EcFieldBytes(const EVP_PKEY* key);

// Whether two public keys are the same key.
bool SamePublicKey(const EVP_PKEY* a, const EVP_PKEY* b);

// DER SubjectPublicKeyInfo, for logs-free comparison and tests.
absl::StatusOr<std::string> PublicKeyDer(const EVP_PKEY* key);

}  // namespace signet

#endif  // SIGNET_TOKENS_PUBLIC_KEY_H_
