#include "appliance/cms/detached_ciphertext.h"

#include <cstdint>
#include <vector>

#include "appliance/cms/der_element.h"

namespace signet::cms {
namespace {

constexpr uint8_t kInteger = 0x02;

// The next element of `in` if it has the one-octet `tag` and a definite
// length within `in`; `in` then starts after it.
std::optional<der::Element> Take(absl::string_view& in, uint8_t tag) {
  if (in.empty() || static_cast<uint8_t>(in[0]) != tag) return std::nullopt;
  return der::Next(in);
}

}  // namespace

std::optional<DetachedCiphertext> DetachCiphertext(absl::string_view der) {
  // ContentInfo { contentType, [0] EXPLICIT (Auth)EnvelopedData { version,
  // originatorInfo [0] OPTIONAL, recipientInfos, (auth)EncryptedContentInfo
  // { contentType, contentEncryptionAlgorithm, [0] encryptedContent } ... } }
  // (RFC 5652 §6.1, RFC 5083 §2.1).
  std::vector<der::Element> around;
  absl::string_view rest = der;
  const std::optional<der::Element> info = Take(rest, der::kSequence);
  if (!info || !rest.empty()) return std::nullopt;
  around.push_back(*info);
  absl::string_view in = info->contents;
  if (!Take(in, der::kOid)) return std::nullopt;
  const std::optional<der::Element> explicit_content = Take(in, der::kContext0);
  if (!explicit_content) return std::nullopt;
  around.push_back(*explicit_content);
  in = explicit_content->contents;
  const std::optional<der::Element> enveloped = Take(in, der::kSequence);
  if (!enveloped) return std::nullopt;
  around.push_back(*enveloped);
  in = enveloped->contents;
  if (!Take(in, kInteger)) return std::nullopt;
  if (!in.empty() && static_cast<uint8_t>(in[0]) == der::kContext0 && !Take(in, der::kContext0)) {
    return std::nullopt;
  }
  if (!Take(in, der::kSet)) return std::nullopt;
  const std::optional<der::Element> content_info = Take(in, der::kSequence);
  if (!content_info) return std::nullopt;
  around.push_back(*content_info);
  in = content_info->contents;
  if (!Take(in, der::kOid) || !Take(in, der::kSequence)) return std::nullopt;
  const std::optional<der::Element> ciphertext = Take(in, der::kContext0Primitive);
  if (!ciphertext) return std::nullopt;

  auto offset = [&](absl::string_view part) {
    return static_cast<size_t>(part.data() - der.data());
  };
  auto end = [&](const der::Element& element) {
    return offset(element.whole) + element.whole.size();
  };
  // The new lengths, from the innermost value out: each loses the
  // ciphertext and whatever the headers inside it lost (a length that
  // falls under 128 or 65536 takes fewer octets).
  std::vector<std::string> headers(around.size());
  size_t removed = ciphertext->whole.size();
  for (size_t i = around.size(); i-- > 0;) {
    const der::Element& value = around[i];
    der::AppendHeader(value.tag, value.contents.size() - removed, &headers[i]);
    removed += (value.whole.size() - value.contents.size()) - headers[i].size();
  }
  DetachedCiphertext detached;
  detached.offset = offset(ciphertext->contents);
  detached.size = ciphertext->contents.size();
  detached.structure.reserve(der.size() - removed);
  // Each value's new header, then what lies between its header and the
  // next one (or the ciphertext).
  for (size_t i = 0; i < around.size(); ++i) {
    detached.structure.append(headers[i]);
    const size_t next =
        i + 1 < around.size() ? offset(around[i + 1].whole) : offset(ciphertext->whole);
    const size_t content = offset(around[i].contents);
    detached.structure.append(der.data() + content, next - content);
  }
  // The tails of them all, innermost first, run on from the ciphertext to
  // the end.
  detached.structure.append(der.data() + end(*ciphertext), der.size() - end(*ciphertext));
  return detached;
}

}  // namespace signet::cms
