// An EnvelopedData or AuthEnvelopedData that OpenSSL encoded without its
// ciphertext (CMS_DETACHED), made whole around a ciphertext that lies
// elsewhere (where the plaintext was, in the mail signetd was given), so
// that the DER is never written out as one buffer: EncryptInPlace's result
// is the prefix, the ciphertext and the suffix, in that order.
#ifndef SIGNET_APPLIANCE_CMS_ENVELOPE_SPLICE_H_
#define SIGNET_APPLIANCE_CMS_ENVELOPE_SPLICE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::cms {

struct EnvelopeAround {
  // Up to and including the encryptedContent's tag and length.
  std::string prefix;
  // What follows the ciphertext (an AuthEnvelopedData's mac and the rest).
  std::string suffix;
};

// `detached_der`: a DER ContentInfo holding an EnvelopedData or
// AuthEnvelopedData whose EncryptedContentInfo has no encryptedContent.
// The result, with `ciphertext_size` bytes between prefix and suffix, is
// byte for byte what i2d_CMS_ContentInfo writes with those bytes as the
// encryptedContent ([0] IMPLICIT OCTET STRING, definite length), the
// enclosing lengths grown to match. Internal when the DER is not such a
// structure.
absl::StatusOr<EnvelopeAround> EnvelopeAroundCiphertext(absl::string_view detached_der,
                                                        size_t ciphertext_size);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_ENVELOPE_SPLICE_H_
