#include "appliance/cms/cms_reader.h"

#include <openssl/err.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/asn1_structure.h"
#include "appliance/cms/mime_internal.h"
#include "common/status_macros.h"

namespace signet::cms {

bool IsPkcs7Mime(const ContentType& type) {
  return type.Is("application", "pkcs7-mime") || type.Is("application", "x-pkcs7-mime");
}

bool IsPkcs7Signature(const ContentType& type) {
  return type.Is("application", "pkcs7-signature") || type.Is("application", "x-pkcs7-signature");
}

absl::StatusOr<std::string> CmsBytesOf(const MimeEntity& entity) {
  std::string encoding = "base64";
  if (const HeaderField* field = entity.Find("Content-Transfer-Encoding")) {
    encoding = absl::AsciiStrToLower(field->value);
  }
  if (encoding == "binary") return std::string(entity.body);
  if (encoding != "base64") {
    return absl::InvalidArgumentError(absl::StrCat("a CMS part must be base64 or binary, not ",
                                                   mime_internal::QuoteForError(encoding)));
  }
  absl::StatusOr<std::string> der = Base64Decode(entity.body);
  if (!der.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the CMS part is not valid base64: ", der.status().message()));
  }
  return der;
}

absl::StatusOr<CmsPtr> ParseCms(const CmsContext& context, absl::string_view ber) {
  RETURN_IF_ERROR(CheckAsn1Structure(ber, context.limits));
  CmsPtr empty(CMS_ContentInfo_new_ex(context.libctx, nullptr));
  if (!empty) return absl::ResourceExhaustedError("cannot allocate a CMS structure");
  // d2i reuses the library-context-bound structure and frees it on failure.
  CMS_ContentInfo* cms = empty.release();
  const auto* cursor = reinterpret_cast<const unsigned char*>(ber.data());
  const auto* end = cursor + ber.size();
  if (d2i_CMS_ContentInfo(&cms, &cursor, static_cast<long>(ber.size())) == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the CMS structure does not parse");
  }
  CmsPtr parsed(cms);
  if (cursor != end) {
    return absl::InvalidArgumentError("bytes follow the CMS structure");
  }
  return parsed;
}

}  // namespace signet::cms
