#include "appliance/cms/detached_ciphertext.h"

#include <cstdint>
#include <vector>

namespace signet::cms {
namespace {

constexpr uint8_t kSequence = 0x30;
constexpr uint8_t kSet = 0x31;
constexpr uint8_t kInteger = 0x02;
constexpr uint8_t kOid = 0x06;
constexpr uint8_t kContext0 = 0xa0;
// encryptedContent [0] IMPLICIT OCTET STRING, primitive.
constexpr uint8_t kPrimitiveContext0 = 0x80;

// A value with a definite length and a one-octet identifier.
struct Value {
  size_t start;
  size_t content;
  size_t end;
};

class DerWalk {
 public:
  explicit DerWalk(absl::string_view der)
      : data_(reinterpret_cast<const uint8_t*>(der.data())), size_(der.size()) {}

  // The value at `at` if it has `identifier`, a definite length and ends
  // by `limit`.
  std::optional<Value> At(size_t at, uint8_t identifier, size_t limit) const {
    if (at >= limit || limit > size_ || data_[at] != identifier) return std::nullopt;
    size_t pos = at + 1;
    if (pos >= limit) return std::nullopt;
    const uint8_t first = data_[pos++];
    size_t length = first;
    if (first == 0x80) return std::nullopt;  // indefinite
    if ((first & 0x80) != 0) {
      const int octets = first & 0x7f;
      if (octets > 4 || limit - pos < static_cast<size_t>(octets)) return std::nullopt;
      length = 0;
      for (int i = 0; i < octets; ++i) length = (length << 8) | data_[pos++];
    }
    if (length > limit - pos) return std::nullopt;
    return Value{at, pos, pos + length};
  }
  uint8_t IdentifierAt(size_t at) const { return at < size_ ? data_[at] : 0; }

 private:
  const uint8_t* data_;
  size_t size_;
};

void AppendLength(size_t length, std::string* out) {
  if (length < 0x80) {
    out->push_back(static_cast<char>(length));
    return;
  }
  int octets = 0;
  for (size_t rest = length; rest != 0; rest >>= 8) ++octets;
  out->push_back(static_cast<char>(0x80 | octets));
  for (int i = octets - 1; i >= 0; --i)
    out->push_back(static_cast<char>((length >> (8 * i)) & 0xff));
}

}  // namespace

std::optional<DetachedCiphertext> DetachCiphertext(absl::string_view der) {
  const DerWalk walk(der);
  // ContentInfo { contentType, [0] EXPLICIT (Auth)EnvelopedData { version,
  // originatorInfo [0] OPTIONAL, recipientInfos, (auth)EncryptedContentInfo
  // { contentType, contentEncryptionAlgorithm, [0] encryptedContent } ... } }
  // (RFC 5652 §6.1, RFC 5083 §2.1).
  std::vector<Value> around;
  const std::optional<Value> info = walk.At(0, kSequence, der.size());
  if (!info || info->end != der.size()) return std::nullopt;
  around.push_back(*info);
  std::optional<Value> type = walk.At(info->content, kOid, info->end);
  if (!type) return std::nullopt;
  const std::optional<Value> explicit_content = walk.At(type->end, kContext0, info->end);
  if (!explicit_content) return std::nullopt;
  around.push_back(*explicit_content);
  const std::optional<Value> enveloped =
      walk.At(explicit_content->content, kSequence, explicit_content->end);
  if (!enveloped) return std::nullopt;
  around.push_back(*enveloped);
  std::optional<Value> field = walk.At(enveloped->content, kInteger, enveloped->end);
  if (!field) return std::nullopt;
  if (walk.IdentifierAt(field->end) == kContext0) {
    field = walk.At(field->end, kContext0, enveloped->end);
    if (!field) return std::nullopt;
  }
  field = walk.At(field->end, kSet, enveloped->end);
  if (!field) return std::nullopt;
  const std::optional<Value> content_info = walk.At(field->end, kSequence, enveloped->end);
  if (!content_info) return std::nullopt;
  around.push_back(*content_info);
  field = walk.At(content_info->content, kOid, content_info->end);
  if (!field) return std::nullopt;
  field = walk.At(field->end, kSequence, content_info->end);
  if (!field) return std::nullopt;
  const std::optional<Value> ciphertext =
      walk.At(field->end, kPrimitiveContext0, content_info->end);
  if (!ciphertext) return std::nullopt;

  // The new lengths, from the innermost value out: each loses the
  // ciphertext and whatever the headers inside it lost (a length that
  // falls under 128 or 65536 takes fewer octets).
  std::vector<std::string> headers(around.size());
  size_t removed = ciphertext->end - ciphertext->start;
  for (size_t i = around.size(); i-- > 0;) {
    const Value& value = around[i];
    headers[i].push_back(der[value.start]);
    AppendLength(value.end - value.content - removed, &headers[i]);
    removed += (value.content - value.start) - headers[i].size();
  }
  DetachedCiphertext detached;
  detached.offset = ciphertext->content;
  detached.size = ciphertext->end - ciphertext->content;
  detached.structure.reserve(der.size() - removed);
  // Each value's new header, then what lies between its header and the
  // next one (or the ciphertext).
  for (size_t i = 0; i < around.size(); ++i) {
    const Value& value = around[i];
    detached.structure.append(headers[i]);
    const size_t next = i + 1 < around.size() ? around[i + 1].start : ciphertext->start;
    detached.structure.append(der.data() + value.content, next - value.content);
  }
  // The tails of them all, innermost first, run on from the ciphertext to
  // the end.
  detached.structure.append(der.data() + ciphertext->end, der.size() - ciphertext->end);
  return detached;
}

}  // namespace signet::cms
