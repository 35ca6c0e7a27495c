#include "appliance/cms/cms_reader.h"

#include <openssl/err.h>

#include <algorithm>
#include <cstring>

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

namespace {

// Whether the body is binary (true) or base64 (false).
absl::StatusOr<bool> IsBinary(const MimeEntity& entity) {
  std::string encoding = "base64";
  if (const HeaderField* field = entity.Find("Content-Transfer-Encoding")) {
    encoding = absl::AsciiStrToLower(field->value);
  }
  if (encoding == "binary") return true;
  if (encoding != "base64") {
    return absl::InvalidArgumentError(absl::StrCat("a CMS part must be base64 or binary, not ",
                                                   mime_internal::QuoteForError(encoding)));
  }
  return false;
}

absl::Status NotBase64(const absl::Status& status) {
  return absl::InvalidArgumentError(
      absl::StrCat("the CMS part is not valid base64: ", status.message()));
}

}  // namespace

absl::StatusOr<std::string> CmsBytesOf(const MimeEntity& entity) {
  ASSIGN_OR_RETURN(const bool binary, IsBinary(entity));
  if (binary) return std::string(entity.body);
  absl::StatusOr<std::string> der = Base64Decode(entity.body);
  if (!der.ok()) return NotBase64(der.status());
  return der;
}

size_t CmsBytesBound(const MimeEntity& entity) {
  return std::max(entity.body.size(), Base64DecodedBound(entity.body.size()));
}

absl::StatusOr<size_t> CmsBytesInto(const MimeEntity& entity, char* out) {
  ASSIGN_OR_RETURN(const bool binary, IsBinary(entity));
  if (binary) {
    if (out != entity.body.data()) std::memmove(out, entity.body.data(), entity.body.size());
    return entity.body.size();
  }
  absl::StatusOr<size_t> size = Base64DecodeInto(entity.body, out);
  if (!size.ok()) return NotBase64(size.status());
  return size;
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
