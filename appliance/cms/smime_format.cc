#include "appliance/cms/smime_format.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/mime.h"

namespace signet::cms {

std::string NewBoundary(absl::string_view content) {
  // Not a secret: it only has to be absent from the content, which is
  // checked, so a non-cryptographic generator is enough.
  absl::BitGen random;
  while (true) {
    std::string boundary =
        absl::StrCat("=_signet_", absl::Hex(absl::Uniform<uint64_t>(random), absl::kZeroPad16),
                     absl::Hex(absl::Uniform<uint64_t>(random), absl::kZeroPad16));
    if (!absl::StrContains(content, boundary)) return boundary;
  }
}

std::string MultipartSignedEntity(absl::string_view signed_entity, absl::string_view signature_der,
                                  DigestAlgorithm digest) {
  const std::string boundary = NewBoundary(signed_entity);
  return absl::StrCat(
      "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"
      "\tmicalg=",
      Micalg(digest), "; boundary=\"", boundary,
      "\"\r\n"
      "\r\n"
      "This is an S/MIME signed message.\r\n"
      "\r\n--",
      boundary, "\r\n", signed_entity, "\r\n--", boundary,
      "\r\n"
      "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n"
      "\r\n",
      Base64Encode(signature_der), "--", boundary, "--\r\n");
}

std::string Pkcs7MimeEntity(absl::string_view der, SmimeType type) {
  const char* smime_type = "signed-data";
  if (type == SmimeType::kEnvelopedData) smime_type = "enveloped-data";
  if (type == SmimeType::kAuthEnvelopedData) smime_type = "authEnveloped-data";
  return absl::StrCat("Content-Type: application/pkcs7-mime; smime-type=", smime_type,
                      ";\r\n\tname=\"smime.p7m\"\r\n"
                      "Content-Transfer-Encoding: base64\r\n"
                      "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n"
                      "\r\n",
                      Base64Encode(der));
}

}  // namespace signet::cms
