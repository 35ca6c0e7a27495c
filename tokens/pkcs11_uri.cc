#include "tokens/pkcs11_uri.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"

namespace signet {
namespace {

constexpr absl::string_view kScheme = "pkcs11:";

enum class Component { kPath, kQuery };

// What a value must look like beyond the character rules; nullptr if it
// passes, else the reason (which never quotes the value).
using ValueCheck = const char* (*)(absl::string_view decoded);

const char* CheckNoNul(absl::string_view value) {
  return value.find('\0') == absl::string_view::npos ? nullptr
                                                     : "must not contain a NUL byte (%00)";
}

bool AllDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

const char* CheckLibraryVersion(absl::string_view value) {
  const std::size_t dot = value.find('.');
  const bool ok = dot == absl::string_view::npos
                      ? AllDigits(value)
                      : AllDigits(value.substr(0, dot)) && AllDigits(value.substr(dot + 1));
  return ok ? nullptr : "must be a decimal version, as in 1 or 1.23";
}

const char* CheckType(absl::string_view value) {
  for (absl::string_view allowed : {"private", "public", "cert", "secret-key", "data"}) {
    if (value == allowed) return nullptr;
  }
  return "must be one of private, public, cert, secret-key, data";
}

// A relative module path would be resolved against the working directory or
// the loader's search path: whoever controls those would choose the module.
const char* CheckModulePath(absl::string_view value) {
  if (const char* reason = CheckNoNul(value)) return reason;
  return absl::StartsWith(value, "/") ? nullptr : "must be an absolute path";
}

const char* CheckModuleName(absl::string_view value) {
  if (const char* reason = CheckNoNul(value)) return reason;
  if (value.empty()) return "must not be empty";
  return value.find('/') == absl::string_view::npos
             ? nullptr
             : "must be a name without '/' (use module-path)";
}

// The attributes held as strings. The order is the RFC's grammar order,
// which FormatPkcs11Uri follows; slot-id (a number) is handled on its own and
// written last in the path.
struct TextAttribute {
  absl::string_view name;
  Component component;
  std::optional<std::string> Pkcs11Uri::*field;
  ValueCheck check;
  bool binary;  // written fully percent-encoded
};

constexpr TextAttribute kTextAttributes[] = {
    {"token", Component::kPath, &Pkcs11Uri::token, CheckNoNul, false},
    {"manufacturer", Component::kPath, &Pkcs11Uri::manufacturer, CheckNoNul, false},
    {"serial", Component::kPath, &Pkcs11Uri::serial, CheckNoNul, false},
    {"model", Component::kPath, &Pkcs11Uri::model, CheckNoNul, false},
    {"library-manufacturer", Component::kPath, &Pkcs11Uri::library_manufacturer, CheckNoNul, false},
    {"library-version", Component::kPath, &Pkcs11Uri::library_version, CheckLibraryVersion, false},
    {"library-description", Component::kPath, &Pkcs11Uri::library_description, CheckNoNul, false},
    {"object", Component::kPath, &Pkcs11Uri::object, CheckNoNul, false},
    {"type", Component::kPath, &Pkcs11Uri::type, CheckType, false},
    {"id", Component::kPath, &Pkcs11Uri::id, nullptr, true},
    {"slot-description", Component::kPath, &Pkcs11Uri::slot_description, CheckNoNul, false},
    {"slot-manufacturer", Component::kPath, &Pkcs11Uri::slot_manufacturer, CheckNoNul, false},
    {"pin-source", Component::kQuery, &Pkcs11Uri::pin_source, CheckNoNul, false},
    {"module-name", Component::kQuery, &Pkcs11Uri::module_name, CheckModuleName, false},
    {"module-path", Component::kQuery, &Pkcs11Uri::module_path, CheckModulePath, false},
};

constexpr absl::string_view kSlotId = "slot-id";
constexpr absl::string_view kPinValue = "pin-value";

const TextAttribute* FindTextAttribute(absl::string_view name) {
  for (const TextAttribute& attribute : kTextAttributes) {
    if (attribute.name == name) return &attribute;
  }
  return nullptr;
}

bool IsUnreserved(char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// RFC 7512 pk11-pchar / pk11-qchar, less pct-encoded.
bool IsAllowedUnescaped(char c, Component component) {
  if (IsUnreserved(c)) return true;
  if (absl::string_view(":[]@!$'()*+,=").find(c) != absl::string_view::npos) return true;
  if (component == Component::kPath) return c == '&';
  return c == '/' || c == '?' || c == '|';
}

// pk11-v-attr-nm-char, which the standard names satisfy too.
bool IsValidAttributeName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Every error names at most an attribute and an offset into the URI.
absl::Status AttributeError(absl::string_view name, std::size_t offset, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrFormat("pkcs11: URI: attribute \"%s\" at offset %d %s", name, offset, problem));
}

absl::Status PinValueRefused() {
  return absl::InvalidArgumentError("pin-value in a pkcs11: URI is not accepted; use pin-source");
}

// One "name=value" piece of the path or the query, with where it starts.
struct RawAttribute {
  absl::string_view name;
  absl::string_view value;
  std::size_t offset;        // of the name, in the whole URI
  std::size_t value_offset;  // of the value, in the whole URI
};

// Splits `text` (which starts at `offset` in the URI) at `separator`. An empty
// component has no attributes; an empty piece inside one is an error, as is
// a piece without '=' or with a malformed name (neither is echoed: it could
// be a stray PIN).
absl::StatusOr<std::vector<RawAttribute>> SplitAttributes(absl::string_view text,
                                                          std::size_t offset, char separator) {
  std::vector<RawAttribute> attributes;
  if (text.empty()) return attributes;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = std::min(text.find(separator, start), text.size());
    const absl::string_view piece = text.substr(start, end - start);
    const std::size_t equals = piece.find('=');
    if (equals == absl::string_view::npos || !IsValidAttributeName(piece.substr(0, equals))) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "pkcs11: URI: expected name=value at offset %d (names are letters, digits, '-', '_')",
          offset + start));
    }
    attributes.push_back({piece.substr(0, equals), piece.substr(equals + 1), offset + start,
                          offset + start + equals + 1});
    if (end == text.size()) break;
    start = end + 1;
  }
  return attributes;
}

absl::StatusOr<std::string> PercentDecode(const RawAttribute& attribute, Component component) {
  std::string decoded;
  decoded.reserve(attribute.value.size());
  const absl::string_view value = attribute.value;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::size_t offset = attribute.value_offset + i;
    if (value[i] == '%') {
      const int high = i + 1 < value.size() ? HexValue(value[i + 1]) : -1;
      const int low = i + 2 < value.size() ? HexValue(value[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return AttributeError(attribute.name, attribute.offset,
                              absl::StrFormat("has a bad percent escape at offset %d "
                                              "('%%' must be followed by two hex digits)",
                                              offset));
      }
      decoded.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (IsAllowedUnescaped(value[i], component)) {
      decoded.push_back(value[i]);
    } else {
      return AttributeError(
          attribute.name, attribute.offset,
          absl::StrFormat("has a character at offset %d that must be percent-encoded", offset));
    }
  }
  return decoded;
}

// SimpleAtoi alone would also take a sign and surrounding spaces.
std::optional<unsigned long> ParseSlotId(absl::string_view decoded) {
  unsigned long slot_id = 0;
  if (!AllDigits(decoded) || !absl::SimpleAtoi(decoded, &slot_id)) return std::nullopt;
  return slot_id;
}

// Refuses an attribute that Signet does not know, or ignores it (see the
// header for why path and query differ).
absl::Status HandleUnknownAttribute(const RawAttribute& attribute, Component component,
                                    std::vector<absl::string_view>& ignored) {
  if (component == Component::kPath) {
    if (FindTextAttribute(attribute.name) != nullptr) {
      return AttributeError(attribute.name, attribute.offset, "belongs in the query, after '?'");
    }
    return AttributeError(attribute.name, attribute.offset,
                          "is not supported; an unrecognised path attribute matches nothing "
                          "(RFC 7512), so the URI is refused");
  }
  if (attribute.name == kSlotId || FindTextAttribute(attribute.name) != nullptr) {
    return AttributeError(attribute.name, attribute.offset, "belongs in the path, before '?'");
  }
  if (!absl::StartsWithIgnoreCase(attribute.name, "x-")) {
    return AttributeError(attribute.name, attribute.offset,
                          "is not supported (vendor query attributes must start with \"x-\")");
  }
  if (std::find(ignored.begin(), ignored.end(), attribute.name) != ignored.end()) {
    return AttributeError(attribute.name, attribute.offset, "appears more than once");
  }
  // Ignored, but still held to the syntax: a malformed value means the URI
  // is not what its writer thinks it is.
  RETURN_IF_ERROR(PercentDecode(attribute, component));
  ignored.push_back(attribute.name);
  return absl::OkStatus();
}

absl::Status ApplyAttribute(const RawAttribute& attribute, Component component, Pkcs11Uri& uri,
                            std::vector<absl::string_view>& ignored) {
  // Checked before anything looks at the value, which is the PIN. Any case,
  // so that "PIN-VALUE" gets the helpful message too.
  if (absl::EqualsIgnoreCase(attribute.name, kPinValue)) return PinValueRefused();

  const TextAttribute* text = FindTextAttribute(attribute.name);
  const bool is_slot_id = attribute.name == kSlotId;
  const bool known =
      is_slot_id ? component == Component::kPath : text != nullptr && text->component == component;
  if (!known) return HandleUnknownAttribute(attribute, component, ignored);

  ASSIGN_OR_RETURN(std::string decoded, PercentDecode(attribute, component));

  if (is_slot_id) {
    if (uri.slot_id.has_value()) {
      return AttributeError(attribute.name, attribute.offset, "appears more than once");
    }
    const std::optional<unsigned long> slot_id = ParseSlotId(decoded);
    if (!slot_id.has_value()) {
      return AttributeError(attribute.name, attribute.offset,
                            "must be a decimal number that fits a CK_SLOT_ID");
    }
    uri.slot_id = *slot_id;
    return absl::OkStatus();
  }

  std::optional<std::string>& field = uri.*(text->field);
  if (field.has_value()) {
    return AttributeError(attribute.name, attribute.offset, "appears more than once");
  }
  if (text->check != nullptr) {
    if (const char* reason = text->check(decoded)) {
      return AttributeError(attribute.name, attribute.offset, reason);
    }
  }
  field = std::move(decoded);
  return absl::OkStatus();
}

absl::Status ParseComponent(absl::string_view text, std::size_t offset, Component component,
                            Pkcs11Uri& uri, std::vector<absl::string_view>& ignored) {
  ASSIGN_OR_RETURN(std::vector<RawAttribute> attributes,
                   SplitAttributes(text, offset, component == Component::kPath ? ';' : '&'));
  for (const RawAttribute& attribute : attributes) {
    RETURN_IF_ERROR(ApplyAttribute(attribute, component, uri, ignored));
  }
  return absl::OkStatus();
}

std::string PercentEncode(absl::string_view value, Component component, bool encode_everything) {
  std::string encoded;
  encoded.reserve(value.size());
  for (char c : value) {
    if (!encode_everything && IsAllowedUnescaped(c, component)) {
      encoded.push_back(c);
    } else {
      absl::StrAppendFormat(&encoded, "%%%02X", static_cast<unsigned char>(c));
    }
  }
  return encoded;
}

}  // namespace

absl::StatusOr<Pkcs11Uri> ParsePkcs11Uri(absl::string_view uri) {
  if (uri.size() > kMaxPkcs11UriLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("pkcs11: URI is %d characters long; at most %d are accepted", uri.size(),
                        kMaxPkcs11UriLength));
  }
  if (!absl::StartsWithIgnoreCase(uri, kScheme)) {
    return absl::InvalidArgumentError("not a pkcs11: URI (it must start with \"pkcs11:\")");
  }
  const absl::string_view rest = uri.substr(kScheme.size());
  const std::size_t question = rest.find('?');
  const absl::string_view path = rest.substr(0, question);

  Pkcs11Uri result;
  std::vector<absl::string_view> ignored;
  RETURN_IF_ERROR(ParseComponent(path, kScheme.size(), Component::kPath, result, ignored));
  if (question != absl::string_view::npos) {
    const std::size_t query_offset = kScheme.size() + question + 1;
    RETURN_IF_ERROR(ParseComponent(rest.substr(question + 1), query_offset, Component::kQuery,
                                   result, ignored));
  }
  return result;
}

std::string FormatPkcs11Uri(const Pkcs11Uri& uri) {
  std::vector<std::string> path;
  std::vector<std::string> query;
  for (const TextAttribute& attribute : kTextAttributes) {
    const std::optional<std::string>& value = uri.*(attribute.field);
    if (!value.has_value()) continue;
    std::string formatted = absl::StrCat(
        attribute.name, "=", PercentEncode(*value, attribute.component, attribute.binary));
    (attribute.component == Component::kPath ? path : query).push_back(std::move(formatted));
  }
  if (uri.slot_id.has_value()) path.push_back(absl::StrCat(kSlotId, "=", *uri.slot_id));

  std::string text = absl::StrCat(kScheme, absl::StrJoin(path, ";"));
  if (!query.empty()) absl::StrAppend(&text, "?", absl::StrJoin(query, "&"));
  return text;
}

}  // namespace signet
