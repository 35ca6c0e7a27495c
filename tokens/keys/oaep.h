// RSA-OAEP decoding for tokens that decrypt raw RSA but lack OAEP with
// SHA-256 (SoftHSM 2.6 among them).
#ifndef SIGNET_TOKENS_OAEP_H_
#define SIGNET_TOKENS_OAEP_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "common/secret.h"

namespace signet {

// Removes RSAES-OAEP padding (SHA-256, MGF1-SHA-256, empty label) from the
// raw RSA result `encoded` of a key with `modulus_bytes`. One error for every
// malformed input, computed in constant time by OpenSSL.
absl::StatusOr<SecretBytes> RemoveOaepSha256Padding(const SecretBytes& encoded,
                                                    std::size_t modulus_bytes);

}  // namespace signet

#endif  // SIGNET_TOKENS_OAEP_H_
