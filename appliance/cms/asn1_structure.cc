#include "appliance/cms/asn1_structure.h"

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"

namespace signet::cms {
namespace {

constexpr size_t kIndefinite = SIZE_MAX;

struct OpenValue {
  // Where the value ends, or kIndefinite when its end-of-contents octets end it.
  size_t end;
  // Where the nearest definite-length value around it (or the input) ends.
  size_t bound;
};

absl::Status Malformed(absl::string_view what, size_t offset) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed ASN.1 in the CMS structure: ", what, " at offset ", offset));
}

}  // namespace

absl::Status CheckAsn1Structure(absl::string_view ber, const Limits& limits) {
  const auto* data = reinterpret_cast<const uint8_t*>(ber.data());
  const size_t size = ber.size();
  if (size == 0) return Malformed("no data", 0);
  std::vector<OpenValue> open;
  size_t pos = 0;
  bool top_level_done = false;
  while (pos < size) {
    if (top_level_done) return Malformed("data after the end of the structure", pos);
    const size_t start = pos;
    const size_t limit = open.empty() ? size : open.back().bound;
    if (limit - pos < 2) return Malformed("truncated tag or length", pos);
    const uint8_t identifier = data[pos++];
    const bool constructed = (identifier & 0x20) != 0;
    if ((identifier & 0x1f) == 0x1f) {
      // High tag number: base-128 digits, at most four (tags fit 28 bits).
      int digits = 0;
      do {
        if (pos >= limit || ++digits > 4) return Malformed("bad tag number", start);
      } while ((data[pos++] & 0x80) != 0);
    }
    if (pos >= limit) return Malformed("truncated length", start);
    const uint8_t first = data[pos++];
    size_t length = 0;
    if (first == 0x80) {
      if (!constructed) return Malformed("indefinite length on a primitive value", start);
      length = kIndefinite;
    } else if ((first & 0x80) != 0) {
      const int octets = first & 0x7f;
      if (octets > 4) return Malformed("length too large", start);
      if (limit - pos < static_cast<size_t>(octets)) return Malformed("truncated length", start);
      for (int i = 0; i < octets; ++i) length = (length << 8) | data[pos++];
    } else {
      length = first;
    }
    if (identifier == 0 && length == 0) {
      // End-of-contents: closes the innermost indefinite-length value.
      if (open.empty() || open.back().end != kIndefinite) {
        return Malformed("unexpected end-of-contents", start);
      }
      open.pop_back();
    } else if (length != kIndefinite && length > limit - pos) {
      return Malformed("length beyond the enclosing value", start);
    } else if (constructed) {
      if (open.size() >= static_cast<size_t>(limits.max_asn1_depth)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "ASN.1 nesting deeper than ", limits.max_asn1_depth, " at offset ", start));
      }
      if (length == kIndefinite) {
        open.push_back({kIndefinite, limit});
      } else {
        open.push_back({pos + length, pos + length});
      }
    } else {
      pos += length;
    }
    // Close every definite-length value that ends here.
    while (!open.empty() && open.back().end == pos) open.pop_back();
    if (open.empty()) top_level_done = true;
  }
  if (!open.empty()) return Malformed("truncated structure", size);
  return absl::OkStatus();
}

}  // namespace signet::cms
