// A bounded walk over BER/DER before OpenSSL decodes it: every length must
// fit inside its parent and nesting must stay within limits.max_asn1_depth,
// so a hostile CMS structure is refused with a clear error before OpenSSL's
// recursive decoder sees it.
#ifndef SIGNET_APPLIANCE_CMS_ASN1_STRUCTURE_H_
#define SIGNET_APPLIANCE_CMS_ASN1_STRUCTURE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/limits.h"

namespace signet::cms {

// OK when `ber` is exactly one BER value (definite or indefinite lengths)
// whose constructed values nest at most limits.max_asn1_depth deep.
// InvalidArgument otherwise, saying what is wrong and at which offset. The
// walk is iterative and linear in the input size.
absl::Status CheckAsn1Structure(absl::string_view ber, const Limits& limits);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_ASN1_STRUCTURE_H_
