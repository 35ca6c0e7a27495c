#include "appliance/server/config/token_profiles.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

// The build's multiarch triplet (CMAKE_LIBRARY_ARCHITECTURE, e.g.
// "x86_64-linux-gnu"); empty where the toolchain has none.
#ifndef SIGNET_LIBRARY_ARCHITECTURE
#define SIGNET_LIBRARY_ARCHITECTURE ""
#endif

namespace signet::server {
namespace {

using config::v1::Token;
using config::v1::TokenProfile;

// A card does one operation at a time: more in flight would only queue in
// the module, where deadlines are not seen.
constexpr int kCardMaxInFlight = 1;

constexpr TokenProfileInfo kProfiles[] = {
    {config::v1::OPENSC_PIV, "opensc-pkcs11.so", "opensc-pkcs11", kCardMaxInFlight, true, true},
    {config::v1::OPENSC_PKCS15, "opensc-pkcs11.so", "opensc-pkcs11", kCardMaxInFlight, true, false},
    {config::v1::YKCS11, "libykcs11.so", "ykcs11", kCardMaxInFlight, true, true},
};

bool IsFile(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

}  // namespace

const TokenProfileInfo* FindTokenProfile(int profile) {
  for (const TokenProfileInfo& info : kProfiles) {
    if (info.profile == profile) return &info;
  }
  return nullptr;
}

std::string TokenProfileName(int profile) {
  if (config::v1::TokenProfile_IsValid(profile)) {
    return config::v1::TokenProfile_Name(static_cast<TokenProfile>(profile));
  }
  return absl::StrCat(profile);
}

std::string TokenProfileNames(bool piv_only) {
  std::vector<std::string> names;
  for (const TokenProfileInfo& info : kProfiles) {
    if (!piv_only || info.piv) names.push_back(TokenProfileName(info.profile));
  }
  const std::string last = names.back();
  names.pop_back();
  return absl::StrCat(absl::StrJoin(names, ", "), " or ", last);
}

std::vector<std::string> ModulePathCandidates(const TokenProfileInfo& profile) {
  std::vector<std::string> candidates;
  constexpr absl::string_view kArchitecture = SIGNET_LIBRARY_ARCHITECTURE;
  if (!kArchitecture.empty()) {
    candidates.push_back(absl::StrCat("/usr/lib/", kArchitecture, "/", profile.module_file));
  }
  candidates.push_back(absl::StrCat("/usr/lib64/", profile.module_file));
  candidates.push_back(absl::StrCat("/usr/lib/", profile.module_file));
  return candidates;
}

std::string DefaultModulePath(const TokenProfileInfo& profile,
                              const std::function<bool(const std::string&)>& exists) {
  const std::vector<std::string> candidates = ModulePathCandidates(profile);
  for (const std::string& candidate : candidates) {
    if (exists(candidate)) return candidate;
  }
  return candidates.front();
}

std::string DefaultModulePath(const TokenProfileInfo& profile) {
  return DefaultModulePath(profile, IsFile);
}

std::string EffectiveModulePath(const Token& token) {
  if (!token.module().empty()) return token.module();
  const TokenProfileInfo* profile = FindTokenProfile(token.profile());
  if (profile == nullptr) return "";
  return DefaultModulePath(*profile);
}

bool EffectivePcsc(const Token& token) {
  if (token.pcsc()) return true;
  const TokenProfileInfo* profile = FindTokenProfile(token.profile());
  return profile != nullptr && profile->pcsc;
}

std::optional<std::uint8_t> ParsePivSlot(absl::string_view slot) {
  if (slot.size() != 2 || !absl::ascii_isxdigit(static_cast<unsigned char>(slot[0])) ||
      !absl::ascii_isxdigit(static_cast<unsigned char>(slot[1]))) {
    return std::nullopt;
  }
  std::uint32_t number = 0;
  if (!absl::SimpleHexAtoi(slot, &number)) return std::nullopt;
  if (number == 0x9A || number == 0x9C || number == 0x9D || number == 0x9E ||
      (number >= 0x82 && number <= 0x95)) {
    return static_cast<std::uint8_t>(number);
  }
  return std::nullopt;
}

std::optional<std::string> PivSlotKeyId(TokenProfile profile, std::uint8_t slot) {
  const TokenProfileInfo* info = FindTokenProfile(profile);
  if (info == nullptr || !info->piv) return std::nullopt;
  // Both modules number the key slots in the same order, from 1: 9A, 9C,
  // 9D, 9E, then 82 to 95 (the 20 retired key management slots).
  int ordinal = 0;
  switch (slot) {
    case 0x9A:
      ordinal = 1;
      break;
    case 0x9C:
      ordinal = 2;
      break;
    case 0x9D:
      ordinal = 3;
      break;
    case 0x9E:
      ordinal = 4;
      break;
    default:
      if (slot < 0x82 || slot > 0x95) return std::nullopt;
      ordinal = 5 + (slot - 0x82);
      break;
  }
  // ykcs11 (objects.c, piv_objects) uses the number as the id byte. OpenSC
  // (pkcs15-piv.c, prkeys) writes ids as the strings "01".."09", "10".."24"
  // and parses them as hex, so 87 has the id 10, not 0A.
  const int id = profile == config::v1::OPENSC_PIV ? (ordinal / 10) * 16 + ordinal % 10 : ordinal;
  return std::string(1, static_cast<char>(id));
}

}  // namespace signet::server
