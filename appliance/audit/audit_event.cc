#include "appliance/audit/audit_event.h"

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "appliance/audit/chain.h"
#include "common/status_macros.h"

namespace signet::audit {
namespace {

// Length of the valid UTF-8 prefix of `text` (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF). Protobuf strings must be UTF-8,
// and the JSON printer refuses anything else.
size_t ValidUtf8Prefix(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t lead = static_cast<uint8_t>(text[i]);
    size_t length;
    uint32_t min;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      min = 0x10000;
    } else {
      return i;
    }
    uint32_t code = lead & (0x7F >> length);
    if (text.size() - i < length) return i;
    for (size_t k = 1; k < length; ++k) {
      const uint8_t next = static_cast<uint8_t>(text[i + k]);
      if ((next & 0xC0) != 0x80) return i;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
    i += length;
  }
  return i;
}

absl::Status CheckName(absl::string_view what, absl::string_view name) {
  if (name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit record: the ", what, " is longer than ", kMaxNameBytes, " bytes"));
  }
  if (ValidUtf8Prefix(name) != name.size()) {
    return absl::InvalidArgumentError(absl::StrCat("audit record: the ", what, " is not UTF-8"));
  }
  return absl::OkStatus();
}

// The message cut to kMaxReasonBytes at a character boundary; an invalid
// byte ends it (a reason is for people, not a place to carry bytes).
std::string ShortReason(absl::string_view message) {
  absl::string_view reason = message.substr(0, ValidUtf8Prefix(message));
  if (reason.size() <= kMaxReasonBytes) return std::string(reason);
  size_t cut = ValidUtf8Prefix(reason.substr(0, kMaxReasonBytes));
  return absl::StrCat(reason.substr(0, cut), "...");
}

}  // namespace

absl::StatusOr<v1::Record> MakeRecord(const AuditEvent& event) {
  for (auto [what, name] : {std::pair<absl::string_view, absl::string_view>{"caller", event.caller},
                            {"operation", event.operation},
                            {"key", event.key},
                            {"time-stamp serial", event.timestamp_serial_hex},
                            {"time-stamp TSA", event.timestamp_tsa}}) {
    RETURN_IF_ERROR(CheckName(what, name));
  }
  if (!event.input_sha256.empty() && event.input_sha256.size() != kHashSize) {
    return absl::InvalidArgumentError(absl::StrCat("audit record: the input digest has ",
                                                   event.input_sha256.size(), " bytes, not the ",
                                                   kHashSize, " of SHA-256"));
  }
  v1::Record record;
  record.set_caller(event.caller);
  record.set_operation(event.operation);
  record.set_key(event.key);
  record.set_input_sha256(event.input_sha256);
  record.set_result(absl::StatusCodeToString(event.result.code()));
  record.set_recipient_validation_skipped(event.recipient_validation_skipped);
  // Cut and kept UTF-8 as reasons are: a TSA's name and a failure come
  // from the network.
  record.set_timestamp_serial_hex(ShortReason(event.timestamp_serial_hex));
  record.set_timestamp_tsa(ShortReason(event.timestamp_tsa));
  record.set_timestamp_problem(ShortReason(event.timestamp_problem));
  if (!event.result.ok()) record.set_reason(ShortReason(event.result.message()));
  return record;
}

}  // namespace signet::audit
