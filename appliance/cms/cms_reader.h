// From an application/pkcs7-mime (or pkcs7-signature) entity to a parsed CMS
// structure, with the size and nesting limits checked before OpenSSL's
// decoder runs.
#ifndef SIGNET_APPLIANCE_CMS_CMS_READER_H_
#define SIGNET_APPLIANCE_CMS_CMS_READER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/cms_context.h"
#include "appliance/cms/mime.h"
#include "common/ossl_ptr.h"

namespace signet::cms {

// application/pkcs7-mime or its pre-RFC 5751 name application/x-pkcs7-mime.
bool IsPkcs7Mime(const ContentType& type);
// application/pkcs7-signature or application/x-pkcs7-signature.
bool IsPkcs7Signature(const ContentType& type);

// The entity's body as DER: base64-decoded unless its
// Content-Transfer-Encoding is binary. InvalidArgument for another transfer
// encoding or bad base64.
absl::StatusOr<std::string> CmsBytesOf(const MimeEntity& entity);

// CmsBytesOf written at `out`, which has room for CmsBytesBound(entity)
// bytes and may be entity.body.data() itself (decoded where it lies, in a
// mail the caller owns: the body is overwritten, on an error too); returns
// how many bytes it wrote.
absl::StatusOr<size_t> CmsBytesInto(const MimeEntity& entity, char* out);
size_t CmsBytesBound(const MimeEntity& entity);

// Checks `ber` with CheckAsn1Structure, then decodes it as a ContentInfo in
// the context's library context. InvalidArgument when it does not parse or
// leaves bytes over.
absl::StatusOr<CmsPtr> ParseCms(const CmsContext& context, absl::string_view ber);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_CMS_READER_H_
