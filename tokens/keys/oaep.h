// RSA-OAEP decoding for tokens that decrypt raw RSA but lack OAEP with the
// hash a sender chose (SoftHSM 2.6 does OAEP with SHA-1 only), and the
// mapping from a sender's OAEP parameters to a DecryptionScheme.
#ifndef SIGNET_TOKENS_OAEP_H_
#define SIGNET_TOKENS_OAEP_H_

#include <cstddef>
#include <optional>

#include "absl/status/statusor.h"
#include "common/secret.h"
#include "tokens/keys/algorithms.h"

namespace signet {

// The scheme for RSA-OAEP with the digest `digest_nid` and MGF1 over
// `mgf1_digest_nid` (OpenSSL NIDs) and an empty label; nullopt for a pair
// the token layer does not decrypt (another digest, or two different ones).
std::optional<DecryptionScheme> OaepScheme(int digest_nid, int mgf1_digest_nid);

// Removes the RSAES-OAEP padding of `scheme` (its hash, MGF1 with the same
// hash, empty label) from the raw RSA result `encoded` of a key with
// `modulus_bytes`. One error for every malformed input, computed in constant
// time by OpenSSL. INTERNAL for kRsaPkcs1, which is not OAEP.
absl::StatusOr<SecretBytes> RemoveOaepPadding(DecryptionScheme scheme, const SecretBytes& encoded,
                                              std::size_t modulus_bytes);

}  // namespace signet

#endif  // SIGNET_TOKENS_OAEP_H_
