// An EnvelopedData or AuthEnvelopedData in DER taken apart into its
// structure without the ciphertext and where the ciphertext lies, so that
// OpenSSL parses a few KiB instead of copying a large message's ciphertext
// into its own structure, and decrypts it as detached content from where
// it lies (decryptor.cc).
#ifndef SIGNET_APPLIANCE_CMS_DETACHED_CIPHERTEXT_H_
#define SIGNET_APPLIANCE_CMS_DETACHED_CIPHERTEXT_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace signet::cms {

struct DetachedCiphertext {
  // The ContentInfo with the encryptedContent field left out and the
  // lengths around it made shorter by as much: RFC 5652's form for
  // detached content.
  std::string structure;
  // The ciphertext (the encryptedContent's value) in the DER given.
  size_t offset = 0;
  size_t size = 0;
};

// Nullopt unless `der` is exactly one ContentInfo whose content is an
// (Auth)EnvelopedData and the encryptedContent is there, as a primitive
// OCTET STRING, with every length on the way to it definite. Anything else
// (BER with indefinite lengths, as streaming senders write it, a
// constructed OCTET STRING, no content, bytes after the ContentInfo) is
// left to OpenSSL's own parser, which copies the ciphertext. Whether the
// rest of the structure is valid is OpenSSL's to say, on `structure`.
std::optional<DetachedCiphertext> DetachCiphertext(absl::string_view der);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_DETACHED_CIPHERTEXT_H_
