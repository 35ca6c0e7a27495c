// Signature time-stamps (RFC 3161 Appendix A): each SignerInfo gets the
// unsigned attribute id-aa-timeStampToken (1.2.840.113549.1.9.16.2.14),
// a TimeStampToken over the bytes of its signature value, proving that the
// signature existed at the stamp's time. The signed attributes and the
// signature stay byte for byte what they were, so the signature verifies
// as before.
//
// The stamp itself comes from the caller (a TSA client; see
// appliance/timestamp): this engine knows nothing of TSAs or HTTP.
#ifndef SIGNET_APPLIANCE_CMS_SIGNATURE_TIMESTAMP_H_
#define SIGNET_APPLIANCE_CMS_SIGNATURE_TIMESTAMP_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/cms_context.h"

namespace signet::cms {

// Given a SignerInfo's signature value (the OCTET STRING's contents), a
// TimeStampToken (DER ContentInfo) over exactly those bytes.
using StampFunction = std::function<absl::StatusOr<std::string>(absl::string_view signature_value)>;

// The SignedData (DER or BER ContentInfo) with one more id-aa-timeStampToken
// in every SignerInfo, as DER. A stamp's error is returned as it is.
// InvalidArgument when the input is not a SignedData or a stamp is not a
// DER SEQUENCE; FailedPrecondition when encoding it again would change a
// SignerInfo's signed attributes or signature (signed attributes that are
// not DER, which the signature could then not be checked against anyway).
absl::StatusOr<std::string> AddSignatureTimestamps(const CmsContext& context,
                                                   absl::string_view signed_data_der,
                                                   const StampFunction& stamp);

struct SignatureTimestamp {
  // The bytes a stamp of this SignerInfo must be over.
  std::string signature_value;
  // The first id-aa-timeStampToken, exactly as encoded; none when unstamped.
  std::optional<std::string> token_der;
};

// Per SignerInfo, in order. InvalidArgument when it is not a SignedData.
absl::StatusOr<std::vector<SignatureTimestamp>> SignatureTimestamps(
    const CmsContext& context, absl::string_view signed_data_der);

// A signed mail as SignMail makes it (multipart/signed with an
// application/pkcs7-signature part, or application/pkcs7-mime signed-data)
// with its SignedData stamped: only the base64 (or binary) body of the part
// that holds the CMS changes, written in the same line format; every other
// byte of the mail stays. InvalidArgument for a mail that is not signed.
absl::StatusOr<std::string> TimestampSignedMail(const CmsContext& context,
                                                absl::string_view signed_mail,
                                                const StampFunction& stamp);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_SIGNATURE_TIMESTAMP_H_
