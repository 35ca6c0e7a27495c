#include "appliance/cms/smime_format.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/mail_pieces.h"
#include "appliance/cms/mime.h"
#include "common/huge_pages.h"

namespace signet::cms {

std::string RandomBoundary() {
  // Not a secret: it only has to be absent from the content, which is
  // checked, so a non-cryptographic generator is enough.
  absl::BitGen random;
  return absl::StrCat("=_signet_", absl::Hex(absl::Uniform<uint64_t>(random), absl::kZeroPad16),
                      absl::Hex(absl::Uniform<uint64_t>(random), absl::kZeroPad16));
}

std::string BoundaryFor(absl::Span<const absl::string_view> content, std::string candidate) {
  while (JoinedContains(content, candidate)) candidate = RandomBoundary();
  return candidate;
}

std::string NewBoundary(absl::string_view content) {
  return BoundaryFor({content}, RandomBoundary());
}

void AppendMultipartSignedHead(absl::string_view boundary, DigestAlgorithm digest,
                               std::string* out) {
  absl::StrAppend(out,
                  "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"
                  "\tmicalg=",
                  Micalg(digest), "; boundary=\"", boundary,
                  "\"\r\n"
                  "\r\n"
                  "This is an S/MIME signed message.\r\n"
                  "\r\n--",
                  boundary, "\r\n");
}

void AppendMultipartSignedTail(absl::string_view boundary, absl::string_view signature_der,
                               std::string* out) {
  absl::StrAppend(out, "\r\n--", boundary,
                  "\r\n"
                  "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
                  "Content-Transfer-Encoding: base64\r\n"
                  "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n"
                  "\r\n");
  AppendBase64(signature_der, out);
  absl::StrAppend(out, "--", boundary, "--\r\n");
}

std::string MultipartSignedEntity(absl::string_view signed_entity, absl::string_view signature_der,
                                  DigestAlgorithm digest) {
  const std::string boundary = NewBoundary(signed_entity);
  std::string out;
  ReserveLarge(&out, signed_entity.size() + Base64EncodedSize(signature_der.size()) + 512);
  AppendMultipartSignedHead(boundary, digest, &out);
  out.append(signed_entity.data(), signed_entity.size());
  AppendMultipartSignedTail(boundary, signature_der, &out);
  return out;
}

void AppendPkcs7MimeHead(SmimeType type, std::string* out) {
  const char* smime_type = "signed-data";
  if (type == SmimeType::kEnvelopedData) smime_type = "enveloped-data";
  if (type == SmimeType::kAuthEnvelopedData) smime_type = "authEnveloped-data";
  absl::StrAppend(out, "Content-Type: application/pkcs7-mime; smime-type=", smime_type,
                  ";\r\n\tname=\"smime.p7m\"\r\n"
                  "Content-Transfer-Encoding: base64\r\n"
                  "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n"
                  "\r\n");
}

void AppendPkcs7MimeEntity(absl::string_view der, SmimeType type, std::string* out) {
  AppendPkcs7MimeHead(type, out);
  AppendBase64(der, out);
}

std::string Pkcs7MimeEntity(absl::string_view der, SmimeType type) {
  std::string out;
  ReserveLarge(&out, Base64EncodedSize(der.size()) + 256);
  AppendPkcs7MimeEntity(der, type, &out);
  return out;
}

}  // namespace signet::cms
