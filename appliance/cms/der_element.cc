#include "appliance/cms/der_element.h"

namespace signet::cms::der {

std::optional<Element> Next(absl::string_view& in) {
  if (in.size() < 2) return std::nullopt;
  const auto tag = static_cast<uint8_t>(in[0]);
  if ((tag & 0x1f) == 0x1f) return std::nullopt;
  const auto first = static_cast<uint8_t>(in[1]);
  size_t header = 2;
  size_t length = first;
  if (first >= 0x80) {
    const size_t octets = first & 0x7f;
    if (octets == 0 || octets > 4 || in.size() < 2 + octets) return std::nullopt;
    length = 0;
    for (size_t i = 0; i < octets; ++i) length = (length << 8) | static_cast<uint8_t>(in[2 + i]);
    header += octets;
  }
  if (in.size() - header < length) return std::nullopt;
  Element element{tag, in.substr(0, header + length), in.substr(header, length)};
  in.remove_prefix(header + length);
  return element;
}

std::optional<std::vector<Element>> Elements(absl::string_view contents) {
  std::vector<Element> elements;
  while (!contents.empty()) {
    std::optional<Element> element = Next(contents);
    if (!element.has_value()) return std::nullopt;
    elements.push_back(*element);
  }
  return elements;
}

size_t HeaderSize(size_t length) {
  size_t size = 2;
  if (length >= 0x80) {
    for (size_t rest = length; rest != 0; rest >>= 8) ++size;
  }
  return size;
}

void AppendHeader(uint8_t tag, size_t length, std::string* out) {
  out->push_back(static_cast<char>(tag));
  if (length < 0x80) {
    out->push_back(static_cast<char>(length));
    return;
  }
  const size_t octets = HeaderSize(length) - 2;
  out->push_back(static_cast<char>(0x80 | octets));
  for (size_t i = octets; i > 0; --i) out->push_back(static_cast<char>(length >> (8 * (i - 1))));
}

}  // namespace signet::cms::der
