// Checking a signature a token made against the key's public key before it is
// released. A card swapped under us, or a token whose RSA-CRT computation
// went wrong (such a signature gives away the private key: one faulty
// signature and the public key factor the modulus), must never yield a
// signature; verifying it in software costs a fraction of the signing.
#ifndef SIGNET_TOKENS_SIGNATURE_CHECK_H_
#define SIGNET_TOKENS_SIGNATURE_CHECK_H_

#include <openssl/evp.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tokens/keys/algorithms.h"

namespace signet {

struct SignatureCheck {
  SignatureScheme scheme = SignatureScheme::kRsaPkcs1;
  HashAlgorithm hash = HashAlgorithm::kSha256;
  // RSA-PSS only: the salt length in bytes the token was asked for; the
  // signature must have exactly this salt (MGF1 uses `hash`, as for signing).
  int pss_salt_length = 0;
};

// Whether `signature` is a valid signature of `digest` by `public_key`:
//  - RSA PKCS#1 v1.5: `signature` over the DigestInfo of `digest`;
//  - RSA-PSS: salt length and MGF1 hash as in `check`;
//  - ECDSA: `signature` in DER (Ecdsa-Sig-Value), as the token layer hands
//    it out after EcdsaRawToDer.
// false when it does not verify (whatever OpenSSL complained about);
// an error only when the check could not be made (a key of the wrong type,
// a digest of the wrong length, OpenSSL out of memory). Leaves nothing on
// OpenSSL's error queue. Thread-safe: `public_key` is only read.
// OpenSSL's digest for `hash` (never null for a valid enumerator).
const EVP_MD* HashMd(HashAlgorithm hash);

absl::StatusOr<bool> SignatureVerifies(const EVP_PKEY* public_key, const SignatureCheck& check,
                                       absl::string_view digest, absl::string_view signature);

}  // namespace signet

#endif  // SIGNET_TOKENS_SIGNATURE_CHECK_H_
