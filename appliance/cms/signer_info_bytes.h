// The exact bytes of each SignerInfo's signed attributes and signature in
// an encoded SignedData, found by walking its BER: what must not change
// when a SignedData is decoded and encoded again (OpenSSL re-encodes
// everything it writes, and a signature covers bytes, not values).
#ifndef SIGNET_APPLIANCE_CMS_SIGNER_INFO_BYTES_H_
#define SIGNET_APPLIANCE_CMS_SIGNER_INFO_BYTES_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::cms {

struct SignerInfoBytes {
  // The whole [0] IMPLICIT signedAttrs element (tag, length, contents);
  // empty when the SignerInfo has none.
  absl::string_view signed_attributes;
  // The signature OCTET STRING's contents.
  absl::string_view signature;
};

// Per SignerInfo, in order, views into `content_info`: a ContentInfo with
// SignedData, already checked by CheckAsn1Structure (so nesting is bounded
// and every length fits). InvalidArgument when it is not shaped like one.
absl::StatusOr<std::vector<SignerInfoBytes>> SignerInfoBytesOf(absl::string_view content_info);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_SIGNER_INFO_BYTES_H_
