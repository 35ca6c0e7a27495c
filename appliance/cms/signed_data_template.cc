#include "appliance/cms/signed_data_template.h"

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/cms/der_element.h"

namespace signet::cms {
namespace {

using der::AppendHeader;
using der::Element;
using der::Elements;
using der::HeaderSize;
using der::kContext0;
using der::kOctetString;
using der::kOid;
using der::kSequence;
using der::kSet;
using der::Next;

constexpr uint8_t kUtcTime = 0x17;
constexpr uint8_t kGeneralizedTime = 0x18;

// id-messageDigest and id-signingTime (RFC 5652 §11.2, §11.3), whole.
constexpr absl::string_view kMessageDigestOid("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x04", 11);
constexpr absl::string_view kSigningTimeOid("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x05", 11);

// Elements [begin, end), whole, one after the other.
std::string Join(const std::vector<Element>& elements, size_t begin, size_t end) {
  std::string joined;
  for (size_t i = begin; i < end; ++i) absl::StrAppend(&joined, elements[i].whole);
  return joined;
}

absl::Status NotATemplate(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("not a SignedData template: ", why));
}

}  // namespace

TimeForm TimeFormOf(absl::Time when) {
  const int64_t year = absl::ToCivilYear(when, absl::UTCTimeZone()).year();
  return year >= 1950 && year <= 2049 ? TimeForm::kUtcTime : TimeForm::kGeneralizedTime;
}

std::string SigningTimeOctets(absl::Time when) {
  return absl::FormatTime(
      TimeFormOf(when) == TimeForm::kUtcTime ? "%y%m%d%H%M%SZ" : "%Y%m%d%H%M%SZ",
      absl::FromUnixSeconds(absl::ToUnixSeconds(when)), absl::UTCTimeZone());
}

absl::StatusOr<SignedDataTemplate> SignedDataTemplate::Parse(absl::string_view content_info,
                                                             size_t digest_length) {
  absl::string_view rest = content_info;
  std::optional<Element> outer = Next(rest);
  if (!outer.has_value() || outer->tag != kSequence || !rest.empty()) {
    return NotATemplate("no ContentInfo");
  }
  std::optional<std::vector<Element>> info = Elements(outer->contents);
  if (!info.has_value() || info->size() != 2 || (*info)[0].tag != kOid ||
      (*info)[1].tag != kContext0) {
    return NotATemplate("no content in the ContentInfo");
  }
  std::optional<std::vector<Element>> content = Elements((*info)[1].contents);
  if (!content.has_value() || content->size() != 1 || (*content)[0].tag != kSequence) {
    return NotATemplate("no SignedData");
  }
  std::optional<std::vector<Element>> signed_data = Elements((*content)[0].contents);
  if (!signed_data.has_value() || signed_data->size() < 4 || signed_data->back().tag != kSet) {
    return NotATemplate("no signerInfos");
  }
  std::optional<std::vector<Element>> signer_infos = Elements(signed_data->back().contents);
  if (!signer_infos.has_value() || signer_infos->size() != 1 ||
      (*signer_infos)[0].tag != kSequence) {
    return NotATemplate("not one SignerInfo");
  }
  // version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm,
  // signature (empty), and nothing after it.
  std::optional<std::vector<Element>> signer = Elements((*signer_infos)[0].contents);
  if (!signer.has_value() || signer->size() != 6 || (*signer)[3].tag != kContext0 ||
      (*signer)[4].tag != kSequence || (*signer)[5].tag != kOctetString ||
      !(*signer)[5].contents.empty()) {
    return NotATemplate("the SignerInfo is not signed attributes and an empty signature");
  }

  SignedDataTemplate result;
  result.content_type_ = std::string((*info)[0].whole);
  result.signed_data_head_ = Join(*signed_data, 0, signed_data->size() - 1);
  result.signer_info_head_ = Join(*signer, 0, 3);
  result.signature_algorithm_ = std::string((*signer)[4].whole);
  const Element& attributes = (*signer)[3];
  result.signed_attributes_ = std::string(attributes.whole);
  result.signed_attributes_[0] = static_cast<char>(kSet);

  std::optional<std::vector<Element>> each = Elements(attributes.contents);
  if (!each.has_value()) return NotATemplate("unreadable signed attributes");
  bool have_digest = false;
  bool have_time = false;
  for (const Element& attribute : *each) {
    absl::string_view fields = attribute.contents;
    std::optional<Element> type = Next(fields);
    std::optional<Element> values = Next(fields);
    if (attribute.tag != kSequence || !type.has_value() || !values.has_value() ||
        values->tag != kSet || !fields.empty()) {
      return NotATemplate("an attribute is not a type and a set of values");
    }
    if (type->whole != kMessageDigestOid && type->whole != kSigningTimeOid) continue;
    std::optional<std::vector<Element>> value = Elements(values->contents);
    if (!value.has_value() || value->size() != 1) {
      return NotATemplate("messageDigest or signingTime without exactly one value");
    }
    const Element& only = (*value)[0];
    const size_t offset = static_cast<size_t>(only.contents.data() - attributes.whole.data());
    if (type->whole == kMessageDigestOid) {
      if (only.tag != kOctetString || only.contents.size() != digest_length || have_digest) {
        return NotATemplate("messageDigest is not one digest of the expected length");
      }
      result.digest_offset_ = offset;
      result.digest_length_ = digest_length;
      have_digest = true;
    } else {
      if (have_time || !((only.tag == kUtcTime && only.contents.size() == 13) ||
                         (only.tag == kGeneralizedTime && only.contents.size() == 15))) {
        return NotATemplate("signingTime is not one time to the second");
      }
      result.time_offset_ = offset;
      result.time_length_ = only.contents.size();
      result.time_form_ = only.tag == kUtcTime ? TimeForm::kUtcTime : TimeForm::kGeneralizedTime;
      have_time = true;
    }
  }
  if (!have_digest || !have_time) return NotATemplate("no messageDigest or no signingTime");
  return result;
}

absl::StatusOr<std::string> SignedDataTemplate::SignedAttributes(
    absl::string_view digest, absl::string_view time_octets) const {
  if (digest.size() != digest_length_ || time_octets.size() != time_length_) {
    return absl::InvalidArgumentError(
        absl::StrCat("a template for ", digest_length_, "-byte digests and ", time_length_,
                     "-character times was given ", digest.size(), " and ", time_octets.size()));
  }
  std::string attributes = signed_attributes_;
  attributes.replace(digest_offset_, digest_length_, digest.data(), digest.size());
  attributes.replace(time_offset_, time_length_, time_octets.data(), time_octets.size());
  return attributes;
}

std::string SignedDataTemplate::Complete(absl::string_view signed_attributes,
                                         absl::string_view signature) const {
  const size_t signature_size = HeaderSize(signature.size()) + signature.size();
  const size_t signer_info = signer_info_head_.size() + signed_attributes.size() +
                             signature_algorithm_.size() + signature_size;
  const size_t signer_infos = HeaderSize(signer_info) + signer_info;
  const size_t signed_data = signed_data_head_.size() + HeaderSize(signer_infos) + signer_infos;
  const size_t explicit_content = HeaderSize(signed_data) + signed_data;
  const size_t content_info =
      content_type_.size() + HeaderSize(explicit_content) + explicit_content;

  std::string out;
  out.reserve(HeaderSize(content_info) + content_info);
  AppendHeader(kSequence, content_info, &out);
  out.append(content_type_);
  AppendHeader(kContext0, explicit_content, &out);
  AppendHeader(kSequence, signed_data, &out);
  out.append(signed_data_head_);
  AppendHeader(kSet, signer_infos, &out);
  AppendHeader(kSequence, signer_info, &out);
  out.append(signer_info_head_);
  // [0] IMPLICIT in the SignerInfo, SET OF where signed (RFC 5652 §5.4).
  const size_t attributes_begin = out.size();
  out.append(signed_attributes.data(), signed_attributes.size());
  if (!signed_attributes.empty()) out[attributes_begin] = static_cast<char>(kContext0);
  out.append(signature_algorithm_);
  AppendHeader(kOctetString, signature.size(), &out);
  out.append(signature.data(), signature.size());
  return out;
}

absl::StatusOr<std::shared_ptr<const SignedDataTemplate>> SignerTemplateCache::Get(
    const Id& id, const std::function<absl::StatusOr<SignedDataTemplate>()>& make) {
  {
    std::lock_guard lock(mutex_);
    for (const auto& [held, made] : entries_) {
      if (held == id) return made;
    }
  }
  absl::StatusOr<SignedDataTemplate> made = make();
  if (!made.ok()) return made.status();
  auto shared = std::make_shared<const SignedDataTemplate>(*std::move(made));
  std::lock_guard lock(mutex_);
  if (entries_.size() >= kMaxEntries) entries_.clear();
  entries_.emplace_back(id, shared);
  return shared;
}

}  // namespace signet::cms
