// The few DER steps that Signet's own CMS encoders take over structures
// OpenSSL wrote (a SignedData template completed, an EnvelopedData given its
// ciphertext): read one element, list a constructed value's elements, and
// write an element's tag and length.
#ifndef SIGNET_APPLIANCE_CMS_DER_ELEMENT_H_
#define SIGNET_APPLIANCE_CMS_DER_ELEMENT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace signet::cms::der {

inline constexpr uint8_t kSequence = 0x30;
inline constexpr uint8_t kSet = 0x31;
inline constexpr uint8_t kOctetString = 0x04;
inline constexpr uint8_t kOid = 0x06;
inline constexpr uint8_t kContext0 = 0xa0;
// [0] IMPLICIT of a primitive type (an OCTET STRING).
inline constexpr uint8_t kContext0Primitive = 0x80;

struct Element {
  uint8_t tag = 0;
  // Tag, length and contents.
  absl::string_view whole;
  absl::string_view contents;
};

// The DER element at the start of `in`, which then starts after it. Only
// single-byte tags and definite lengths: what OpenSSL writes for the
// structures Signet edits.
std::optional<Element> Next(absl::string_view& in);

// Every element of `contents`, or nullopt if it is not a series of them.
std::optional<std::vector<Element>> Elements(absl::string_view contents);

// The size of a tag and a length of `length`.
size_t HeaderSize(size_t length);

// Appends a single-byte tag and the definite length `length`.
void AppendHeader(uint8_t tag, size_t length, std::string* out);

}  // namespace signet::cms::der

#endif  // SIGNET_APPLIANCE_CMS_DER_ELEMENT_H_
