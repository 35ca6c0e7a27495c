// The S/MIME wrappers (RFC 8551 §3): multipart/signed around a signed entity
// and its detached signature, and application/pkcs7-mime around a CMS
// structure. Output lines end in CRLF.
#ifndef SIGNET_APPLIANCE_CMS_SMIME_FORMAT_H_
#define SIGNET_APPLIANCE_CMS_SMIME_FORMAT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "appliance/cms/signed_data.h"

namespace signet::cms {

// smime-type values (RFC 8551 §3.2.2).
enum class SmimeType { kSignedData, kEnvelopedData, kAuthEnvelopedData };

// A boundary that does not occur in `content`: "=_signet_" and 32 random hex
// digits (RFC 2046 §5.1.1 allows up to 70 characters).
std::string NewBoundary(absl::string_view content);
// The same without the check, for a caller that checks it itself.
std::string RandomBoundary();
// The boundary for content that is `content` joined: `candidate` when the
// content does not hold it (across the joins too), else a new random one
// that it does not hold.
std::string BoundaryFor(absl::Span<const absl::string_view> content, std::string candidate);

// A multipart/signed entity (Content-Type header, empty line, body) with
// `signed_entity` (canonical, CRLF) as the first part and the DER SignedData
// as an application/pkcs7-signature second part.
std::string MultipartSignedEntity(absl::string_view signed_entity, absl::string_view signature_der,
                                  DigestAlgorithm digest);

// MultipartSignedEntity in pieces, appended to `out`, for a caller that
// writes the signed entity between them itself: the head (Content-Type
// field, preamble, first delimiter line) and the tail (the signature part
// and the closing delimiter).
void AppendMultipartSignedHead(absl::string_view boundary, DigestAlgorithm digest,
                               std::string* out);
void AppendMultipartSignedTail(absl::string_view boundary, absl::string_view signature_der,
                               std::string* out);

// An application/pkcs7-mime entity carrying `der` in base64.
std::string Pkcs7MimeEntity(absl::string_view der, SmimeType type);
// The same, appended to `out`.
void AppendPkcs7MimeEntity(absl::string_view der, SmimeType type, std::string* out);
// Its header fields and the empty line after them, appended to `out`, for a
// caller that writes the base64 itself (MailPieces::AppendBase64Of).
void AppendPkcs7MimeHead(SmimeType type, std::string* out);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_SMIME_FORMAT_H_
