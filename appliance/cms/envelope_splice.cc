#include "appliance/cms/envelope_splice.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/cms/der_element.h"

namespace signet::cms {
namespace {

absl::Status NotAnEnvelope(absl::string_view why) {
  return absl::InternalError(absl::StrCat("OpenSSL's EnvelopedData is not as expected: ", why));
}

}  // namespace

absl::StatusOr<EnvelopeAround> EnvelopeAroundCiphertext(absl::string_view detached_der,
                                                        size_t ciphertext_size) {
  using der::Element;
  absl::string_view rest = detached_der;
  std::optional<Element> outer = der::Next(rest);
  if (!outer.has_value() || outer->tag != der::kSequence || !rest.empty()) {
    return NotAnEnvelope("no ContentInfo");
  }
  std::optional<std::vector<Element>> info = der::Elements(outer->contents);
  if (!info.has_value() || info->size() != 2 || (*info)[0].tag != der::kOid ||
      (*info)[1].tag != der::kContext0) {
    return NotAnEnvelope("no content in the ContentInfo");
  }
  std::optional<std::vector<Element>> content = der::Elements((*info)[1].contents);
  if (!content.has_value() || content->size() != 1 || (*content)[0].tag != der::kSequence) {
    return NotAnEnvelope("no structure in the ContentInfo");
  }
  // version, originatorInfo [0] (optional), recipientInfos (the SET), then
  // the EncryptedContentInfo; after it, attributes and an
  // AuthEnvelopedData's mac.
  const absl::string_view envelope = (*content)[0].contents;
  std::optional<std::vector<Element>> fields = der::Elements(envelope);
  if (!fields.has_value()) return NotAnEnvelope("unreadable fields");
  size_t at = 0;
  while (at < fields->size() && (*fields)[at].tag != der::kSet) ++at;
  ++at;
  if (at >= fields->size() || (*fields)[at].tag != der::kSequence) {
    return NotAnEnvelope("no EncryptedContentInfo after the recipientInfos");
  }
  const Element& encrypted_info = (*fields)[at];
  // contentType and contentEncryptionAlgorithm, and no encryptedContent.
  std::optional<std::vector<Element>> info_fields = der::Elements(encrypted_info.contents);
  if (!info_fields.has_value() || info_fields->size() != 2 || (*info_fields)[0].tag != der::kOid ||
      (*info_fields)[1].tag != der::kSequence) {
    return NotAnEnvelope("the EncryptedContentInfo is not a type and an algorithm alone");
  }
  const absl::string_view before =
      envelope.substr(0, static_cast<size_t>(encrypted_info.whole.data() - envelope.data()));
  const absl::string_view after = envelope.substr(before.size() + encrypted_info.whole.size());

  const size_t info_size =
      encrypted_info.contents.size() + der::HeaderSize(ciphertext_size) + ciphertext_size;
  const size_t envelope_size =
      before.size() + der::HeaderSize(info_size) + info_size + after.size();
  const size_t explicit_size = der::HeaderSize(envelope_size) + envelope_size;
  const size_t content_info_size =
      (*info)[0].whole.size() + der::HeaderSize(explicit_size) + explicit_size;

  EnvelopeAround around;
  std::string& prefix = around.prefix;
  der::AppendHeader(der::kSequence, content_info_size, &prefix);
  absl::StrAppend(&prefix, (*info)[0].whole);
  der::AppendHeader(der::kContext0, explicit_size, &prefix);
  der::AppendHeader(der::kSequence, envelope_size, &prefix);
  absl::StrAppend(&prefix, before);
  der::AppendHeader(der::kSequence, info_size, &prefix);
  absl::StrAppend(&prefix, encrypted_info.contents);
  der::AppendHeader(der::kContext0Primitive, ciphertext_size, &prefix);
  around.suffix = std::string(after);
  return around;
}

}  // namespace signet::cms
