// The algorithms an encrypted mail names in clear, checked before any token
// operation: a mail that uses one Signet does not decrypt gets an error
// naming it, not the uniform "could not be decrypted" (which would look like
// tampering or a token fault). The check reads only what any reader of the
// mail sees, and it runs before the key is used, so it is no oracle: its
// answer is the same whatever the ciphertext holds.
#ifndef SIGNET_APPLIANCE_CMS_DECRYPTION_ALGORITHMS_H_
#define SIGNET_APPLIANCE_CMS_DECRYPTION_ALGORITHMS_H_

#include <openssl/cms.h>
#include <openssl/x509.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/cms_context.h"

namespace signet::cms {

// What the messages of CheckDecryptionAlgorithms end with.
inline constexpr char kNotDecryptedBySignet[] = "which Signet does not decrypt";

// `cms` is the parsed EnvelopedData or AuthEnvelopedData `ber`. Checks the
// key transport of the first KeyTransRecipientInfo for `certificate` (the
// one CMS_decrypt uses) and the content-encryption algorithm; UNIMPLEMENTED,
// naming the algorithm, when Signet does not decrypt it. OK otherwise, also
// when a parameter is malformed or the structure is not as expected: the
// decryption then fails with the uniform error.
//
// Key transport: RSA PKCS#1 v1.5, or RSA-OAEP with SHA-1, SHA-256, SHA-384 or
// SHA-512, MGF1 with the same hash and an empty label (tokens/keys/oaep.h).
// Key agreement (ECDH) is not checked here. Content: AES-GCM in
// AuthEnvelopedData; in EnvelopedData a cipher without authentication that
// the context's providers have (AES-CBC, ...).
absl::Status CheckDecryptionAlgorithms(const CmsContext& context, CMS_ContentInfo* cms,
                                       absl::string_view ber, X509* certificate);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_DECRYPTION_ALGORITHMS_H_
