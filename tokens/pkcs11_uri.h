// RFC 7512 "pkcs11:" URIs: parsing and canonical formatting.
//
// A pkcs11: URI in a config file names a token or a key; the same syntax is
// what `openssl` users type (docs/architecture.md, decision D7). Such URIs can carry a PIN
// (the pin-value attribute), so no error from this parser repeats the URI or
// any attribute value: errors name the attribute and its character offset.
#ifndef SIGNET_TOKENS_PKCS11_URI_H_
#define SIGNET_TOKENS_PKCS11_URI_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet {

// Longer URIs are refused before any parsing: a real one is a few hundred
// characters, and the parser sees config text it should bound.
inline constexpr std::size_t kMaxPkcs11UriLength = 4096;

// A parsed URI. An attribute that is absent is std::nullopt; one that is
// present with an empty value (e.g. "serial=") is an empty string, which is a
// different query. Values are percent-decoded.
struct Pkcs11Uri {
  // Path attributes: which library, slot, token and object.
  std::optional<std::string> token;
  std::optional<std::string> manufacturer;
  std::optional<std::string> serial;
  std::optional<std::string> model;
  std::optional<std::string> library_manufacturer;
  std::optional<std::string> library_description;
  std::optional<std::string> object;
  // One of "private", "public", "cert", "secret-key", "data".
  std::optional<std::string> type;
  // CKA_ID: raw bytes, any value.
  std::optional<std::string> id;
  std::optional<unsigned long> slot_id;
  std::optional<std::string> slot_description;
  std::optional<std::string> slot_manufacturer;
  // "major" or "major.minor", decimal.
  std::optional<std::string> library_version;

  // Query attributes: how to reach it.
  std::optional<std::string> module_path;  // an absolute path
  std::optional<std::string> module_name;  // a name, no '/'
  std::optional<std::string> pin_source;   // see ParsePinSource (tokens/pin_source.h)
  // Signet refuses pin-value (PINs stay out of config files), so this is
  // false in every URI ParsePkcs11Uri returns. It exists so that code holding
  // a Pkcs11Uri from elsewhere can say "there was a PIN" without holding it;
  // no field ever holds the value, and FormatPkcs11Uri writes nothing for it.
  bool has_pin_value = false;

  friend bool operator==(const Pkcs11Uri&, const Pkcs11Uri&) = default;
};

// Parses `uri`. The scheme is case-insensitive; attribute names and `type`
// values are matched as the RFC writes them (lower case). Errors
// (InvalidArgument) for: a wrong scheme, more than kMaxPkcs11UriLength
// characters, a character the RFC does not allow unescaped, a bad percent
// escape, a duplicate attribute, a malformed slot-id / library-version /
// type, a NUL byte in a textual value, a relative module-path, and pin-value.
//
// Unrecognised attributes: the RFC lets vendors add attributes of their own
// (any name of letters, digits, '-' and '_'; the older drafts' "x-" prefix is
// no longer required) and says that an unrecognised *path* attribute makes
// the URI match nothing. Ignoring one would widen the match instead, so
// Signet refuses every path attribute it does not know, vendor ones included.
// In the query, attributes starting with "x-" are accepted and ignored; any
// other unknown query attribute is refused, so that a typo such as
// "pin-sorce" or "module-pth" is reported instead of silently dropped.
//
// (absl::string_view like the rest of tokens/: Debian's abseil does not make
// it an alias of std::string_view.)
absl::StatusOr<Pkcs11Uri> ParsePkcs11Uri(absl::string_view uri);

// The canonical text of `uri`: path attributes in the RFC's grammar order
// joined by ';', then '?' and the query attributes joined by '&' (omitted if
// there are none). Characters outside the RFC's unescaped set for the
// component are percent-encoded; `id` is percent-encoded byte by byte.
// ParsePkcs11Uri(FormatPkcs11Uri(u)) == u for every u that ParsePkcs11Uri can
// return. The result may contain a pin-source location but never a PIN.
std::string FormatPkcs11Uri(const Pkcs11Uri& uri);

}  // namespace signet

#endif  // SIGNET_TOKENS_PKCS11_URI_H_
