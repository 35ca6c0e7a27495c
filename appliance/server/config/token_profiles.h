// What a Token.profile means (docs/smartcards.md): the module a kind of USB
// token or smartcard is used through, where the distribution installs it,
// the defaults such a token wants, and, for PIV, which CKA_ID the module
// gives the key in each PIV slot.
//
// Nothing here opens a module or a file, except DefaultModulePath, which
// looks for the module among the places it may be installed.
#ifndef SIGNET_APPLIANCE_SERVER_TOKEN_PROFILES_H_
#define SIGNET_APPLIANCE_SERVER_TOKEN_PROFILES_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "signet/config/v1/config.pb.h"

namespace signet::server {

struct TokenProfileInfo {
  config::v1::TokenProfile profile;
  // The module's file name, and the Debian package that installs it.
  absl::string_view module_file;
  absl::string_view package;
  // Token.max_in_flight when the config says 0.
  int max_in_flight;
  // The module reaches its tokens through pcscd (TokenOptions::pcsc).
  bool pcsc;
  // Keys may name their PIV slot (Key.piv_slot).
  bool piv;
};

// The profile `profile` stands for; nullptr for TOKEN_PROFILE_UNSPECIFIED
// and for numbers the schema does not know (proto3 enums are open).
const TokenProfileInfo* FindTokenProfile(int profile);

// "OPENSC_PIV"; the number for one the schema does not know.
std::string TokenProfileName(int profile);

// "OPENSC_PIV, OPENSC_PKCS15 or YKCS11", for messages; with `piv_only`, the
// profiles whose keys may name a PIV slot ("OPENSC_PIV or YKCS11").
std::string TokenProfileNames(bool piv_only = false);

// Where the profile's module may be installed, most likely first: the
// multiarch directory of this build (Debian's /usr/lib/x86_64-linux-gnu,
// when the build knows it), then /usr/lib64 and /usr/lib.
std::vector<std::string> ModulePathCandidates(const TokenProfileInfo& profile);

// The first candidate for which `exists` is true; the first candidate when
// none is, so that start-up names the path the package would install.
std::string DefaultModulePath(const TokenProfileInfo& profile,
                              const std::function<bool(const std::string&)>& exists);
// The same on the file system (a candidate must be a regular file, or a
// link to one).
std::string DefaultModulePath(const TokenProfileInfo& profile);

// The token's module: Token.module, or its profile's default module path
// when that is empty; empty when it has neither (ValidateConfig refuses it).
std::string EffectiveModulePath(const config::v1::Token& token);

// Whether the token's module reaches it through pcscd: Token.pcsc, or
// implied by its profile.
bool EffectivePcsc(const config::v1::Token& token);

// A PIV key slot as a Key.piv_slot names it, case-insensitive: "9A", "9C",
// "9D", "9E", or a retired key management slot "82" to "95". The slot's
// number (0x9A); nullopt for anything else.
std::optional<std::uint8_t> ParsePivSlot(absl::string_view slot);

// "9A, 9C, 9D, 9E or 82 to 95", for messages.
inline constexpr char kPivSlotNames[] = "9A, 9C, 9D, 9E or 82 to 95";

// The CKA_ID (raw bytes) that the module of `profile` gives the private key
// in PIV slot `slot` (a number ParsePivSlot returned); nullopt when the
// profile has no PIV slots. Both modules give 9A, 9C, 9D, 9E the ids 01 to
// 04; for the retired slots 82 to 95 ykcs11 counts on in hex (05 to 18)
// and OpenSC writes the count as decimal digits (05 to 09, then 10 to 24).
std::optional<std::string> PivSlotKeyId(config::v1::TokenProfile profile, std::uint8_t slot);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_TOKEN_PROFILES_H_
