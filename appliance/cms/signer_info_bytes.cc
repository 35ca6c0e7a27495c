#include "appliance/cms/signer_info_bytes.h"

#include <cstddef>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

// One BER element: [begin, end) is all of it, contents its value without
// the end-of-contents octets of an indefinite length.
struct Element {
  uint8_t tag = 0;  // the identifier octet (low tag numbers only here)
  size_t begin = 0;
  size_t end = 0;
  absl::string_view contents;
};

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("the SignedData is not shaped as RFC 5652 says: ", what));
}

// The element at `pos`. Recursive only through indefinite lengths, whose
// depth CheckAsn1Structure bounded.
absl::StatusOr<Element> ElementAt(absl::string_view text, size_t pos) {
  if (pos + 2 > text.size()) return Malformed("an element runs past the end");
  Element element;
  element.begin = pos;
  element.tag = static_cast<uint8_t>(text[pos]);
  if ((element.tag & 0x1f) == 0x1f) return Malformed("an unexpected high tag number");
  size_t at = pos + 1;
  const uint8_t first = static_cast<uint8_t>(text[at++]);
  if (first == 0x80) {
    if ((element.tag & 0x20) == 0) return Malformed("a primitive element of indefinite length");
    const size_t start = at;
    while (true) {
      if (at + 2 > text.size()) return Malformed("no end-of-contents");
      if (text[at] == '\0' && text[at + 1] == '\0') break;
      ASSIGN_OR_RETURN(Element child, ElementAt(text, at));
      at = child.end;
    }
    element.contents = text.substr(start, at - start);
    element.end = at + 2;
    return element;
  }
  size_t length = first;
  if ((first & 0x80) != 0) {
    const size_t octets = first & 0x7f;
    if (octets > sizeof(uint32_t) || at + octets > text.size()) return Malformed("a bad length");
    length = 0;
    for (size_t i = 0; i < octets; ++i) length = (length << 8) | static_cast<uint8_t>(text[at++]);
  }
  if (length > text.size() - at) return Malformed("an element runs past the end");
  element.contents = text.substr(at, length);
  element.end = at + length;
  return element;
}

absl::StatusOr<std::vector<Element>> Children(const Element& parent) {
  std::vector<Element> children;
  for (size_t at = 0; at < parent.contents.size();) {
    ASSIGN_OR_RETURN(Element child, ElementAt(parent.contents, at));
    at = child.end;
    children.push_back(child);
  }
  return children;
}

absl::string_view Whole(absl::string_view parent_contents, const Element& element) {
  return parent_contents.substr(element.begin, element.end - element.begin);
}

}  // namespace

absl::StatusOr<std::vector<SignerInfoBytes>> SignerInfoBytesOf(absl::string_view content_info) {
  ASSIGN_OR_RETURN(Element outer, ElementAt(content_info, 0));
  if (outer.tag != 0x30) return Malformed("the ContentInfo is not a SEQUENCE");
  ASSIGN_OR_RETURN(std::vector<Element> parts, Children(outer));
  if (parts.size() != 2 || parts[1].tag != 0xa0) return Malformed("the ContentInfo has no content");
  ASSIGN_OR_RETURN(std::vector<Element> explicit_content, Children(parts[1]));
  if (explicit_content.size() != 1 || explicit_content[0].tag != 0x30) {
    return Malformed("the SignedData is not a SEQUENCE");
  }
  ASSIGN_OR_RETURN(std::vector<Element> fields, Children(explicit_content[0]));
  // version, digestAlgorithms, encapContentInfo, [0] certificates, [1]
  // crls, signerInfos: the SET OF SignerInfo comes last.
  if (fields.size() < 4 || fields.back().tag != 0x31) {
    return Malformed("the SignedData has no signerInfos");
  }
  const Element& signer_infos = fields.back();
  ASSIGN_OR_RETURN(std::vector<Element> signers, Children(signer_infos));
  std::vector<SignerInfoBytes> result;
  for (const Element& signer : signers) {
    if (signer.tag != 0x30) return Malformed("a SignerInfo is not a SEQUENCE");
    ASSIGN_OR_RETURN(std::vector<Element> items, Children(signer));
    SignerInfoBytes bytes;
    bool signature_found = false;
    for (const Element& item : items) {
      if (item.tag == 0xa0 && !signature_found) {
        bytes.signed_attributes = Whole(signer.contents, item);
      } else if (item.tag == 0x04 && !signature_found) {
        // sid is an IssuerAndSerialNumber or a [0] key identifier, never an
        // OCTET STRING: the first one is the signature.
        bytes.signature = item.contents;
        signature_found = true;
      }
    }
    if (!signature_found) return Malformed("a SignerInfo has no signature");
    result.push_back(bytes);
  }
  return result;
}

}  // namespace signet::cms
