#include "appliance/server/config/token_profiles.h"

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signet::server {
namespace {

using config::v1::Token;
using config::v1::TokenProfile;
using ::testing::ElementsAre;
using ::testing::Optional;

constexpr char kArchitecture[] = SIGNET_LIBRARY_ARCHITECTURE;

std::string Hex(const std::optional<std::string>& id) {
  return id ? absl::BytesToHexString(*id) : "none";
}

std::string OpenScId(const char* slot) {
  return Hex(PivSlotKeyId(config::v1::OPENSC_PIV, *ParsePivSlot(slot)));
}
std::string Ykcs11Id(const char* slot) {
  return Hex(PivSlotKeyId(config::v1::YKCS11, *ParsePivSlot(slot)));
}

TEST(TokenProfilesTest, WhatEachProfileMeans) {
  EXPECT_EQ(FindTokenProfile(config::v1::TOKEN_PROFILE_UNSPECIFIED), nullptr);
  EXPECT_EQ(FindTokenProfile(7), nullptr);

  const TokenProfileInfo* piv = FindTokenProfile(config::v1::OPENSC_PIV);
  ASSERT_NE(piv, nullptr);
  EXPECT_EQ(piv->module_file, "opensc-pkcs11.so");
  EXPECT_EQ(piv->package, "opensc-pkcs11");
  EXPECT_EQ(piv->max_in_flight, 1);
  EXPECT_TRUE(piv->pcsc);
  EXPECT_TRUE(piv->piv);

  const TokenProfileInfo* pkcs15 = FindTokenProfile(config::v1::OPENSC_PKCS15);
  ASSERT_NE(pkcs15, nullptr);
  EXPECT_EQ(pkcs15->module_file, "opensc-pkcs11.so");
  EXPECT_EQ(pkcs15->max_in_flight, 1);
  EXPECT_TRUE(pkcs15->pcsc);
  EXPECT_FALSE(pkcs15->piv);

  const TokenProfileInfo* ykcs11 = FindTokenProfile(config::v1::YKCS11);
  ASSERT_NE(ykcs11, nullptr);
  EXPECT_EQ(ykcs11->module_file, "libykcs11.so");
  EXPECT_EQ(ykcs11->package, "ykcs11");
  EXPECT_EQ(ykcs11->max_in_flight, 1);
  EXPECT_TRUE(ykcs11->pcsc);
  EXPECT_TRUE(ykcs11->piv);
}

TEST(TokenProfilesTest, Names) {
  EXPECT_EQ(TokenProfileName(config::v1::YKCS11), "YKCS11");
  EXPECT_EQ(TokenProfileName(7), "7");
  EXPECT_EQ(TokenProfileNames(), "OPENSC_PIV, OPENSC_PKCS15 or YKCS11");
  EXPECT_EQ(TokenProfileNames(/*piv_only=*/true), "OPENSC_PIV or YKCS11");
}

TEST(TokenProfilesTest, ModuleCandidatesStartWithTheMultiarchDirectory) {
  const TokenProfileInfo& ykcs11 = *FindTokenProfile(config::v1::YKCS11);
  std::vector<std::string> expected;
  if (std::string(kArchitecture).empty()) {
    expected = {"/usr/lib64/libykcs11.so", "/usr/lib/libykcs11.so"};
  } else {
    // Debian bookworm: ykcs11 2.2.0 installs /usr/lib/<triplet>/libykcs11.so.
    expected = {absl::StrCat("/usr/lib/", kArchitecture, "/libykcs11.so"),
                "/usr/lib64/libykcs11.so", "/usr/lib/libykcs11.so"};
  }
  EXPECT_EQ(ModulePathCandidates(ykcs11), expected);
}

TEST(TokenProfilesTest, DefaultModulePathIsTheFirstCandidateThatExists) {
  const TokenProfileInfo& opensc = *FindTokenProfile(config::v1::OPENSC_PKCS15);
  const std::vector<std::string> candidates = ModulePathCandidates(opensc);
  // None installed: the most likely place, for start-up to name.
  EXPECT_EQ(DefaultModulePath(opensc, [](const std::string&) { return false; }),
            candidates.front());
  EXPECT_EQ(
      DefaultModulePath(
          opensc, [](const std::string& path) { return path == "/usr/lib/opensc-pkcs11.so"; }),
      "/usr/lib/opensc-pkcs11.so");
  EXPECT_EQ(
      DefaultModulePath(
          opensc, [](const std::string& path) { return path == "/usr/lib64/opensc-pkcs11.so"; }),
      "/usr/lib64/opensc-pkcs11.so");
}

// scripts/bootstrap installs OpenSC (its opensc-pkcs11.so); the profile
// must find it where Debian puts it.
TEST(TokenProfilesTest, FindsTheInstalledOpenScModule) {
  const std::string path = DefaultModulePath(*FindTokenProfile(config::v1::OPENSC_PIV));
  EXPECT_TRUE(std::filesystem::is_regular_file(path)) << path;
  EXPECT_TRUE(absl::EndsWith(path, "/opensc-pkcs11.so")) << path;
  if (!std::string(kArchitecture).empty()) {
    EXPECT_EQ(path, absl::StrCat("/usr/lib/", kArchitecture, "/opensc-pkcs11.so"));
  }
}

TEST(TokenProfilesTest, EffectiveModulePath) {
  Token token;
  EXPECT_EQ(EffectiveModulePath(token), "");
  token.set_profile(config::v1::OPENSC_PIV);
  EXPECT_EQ(EffectiveModulePath(token),
            DefaultModulePath(*FindTokenProfile(config::v1::OPENSC_PIV)));
  token.set_module("/opt/opensc/lib/opensc-pkcs11.so");
  EXPECT_EQ(EffectiveModulePath(token), "/opt/opensc/lib/opensc-pkcs11.so");
  token.set_profile(static_cast<TokenProfile>(7));
  token.clear_module();
  EXPECT_EQ(EffectiveModulePath(token), "");
}

TEST(TokenProfilesTest, EffectivePcsc) {
  Token token;
  token.set_module("/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_FALSE(EffectivePcsc(token));
  token.set_pcsc(true);
  EXPECT_TRUE(EffectivePcsc(token));
  token.set_pcsc(false);
  for (TokenProfile profile :
       {config::v1::OPENSC_PIV, config::v1::OPENSC_PKCS15, config::v1::YKCS11}) {
    token.set_profile(profile);
    EXPECT_TRUE(EffectivePcsc(token)) << TokenProfileName(profile);
  }
  token.set_profile(static_cast<TokenProfile>(7));
  EXPECT_FALSE(EffectivePcsc(token));
}

TEST(TokenProfilesTest, PivSlotNames) {
  EXPECT_THAT(ParsePivSlot("9A"), Optional(0x9A));
  EXPECT_THAT(ParsePivSlot("9a"), Optional(0x9A));
  EXPECT_THAT(ParsePivSlot("9c"), Optional(0x9C));
  EXPECT_THAT(ParsePivSlot("9D"), Optional(0x9D));
  EXPECT_THAT(ParsePivSlot("9e"), Optional(0x9E));
  EXPECT_THAT(ParsePivSlot("82"), Optional(0x82));
  EXPECT_THAT(ParsePivSlot("8a"), Optional(0x8A));
  EXPECT_THAT(ParsePivSlot("95"), Optional(0x95));
  // 9B is the management key, F9 the attestation key, 80 and 81 the PIN and
  // PUK: none holds a key for mail.
  for (const char* bad : {"", "9", "9B", "9F", "F9", "f9", "80", "81", "96", "00", "9AA", "0x9A",
                          " 9A", "9A ", "+9", "-9", "A9", "zz"}) {
    EXPECT_EQ(ParsePivSlot(bad), std::nullopt) << '"' << bad << '"';
  }
}

// Both modules: 9A, 9C, 9D, 9E are 01 to 04.
TEST(TokenProfilesTest, MainPivSlotsHaveTheSameIdInBothModules) {
  for (auto profile : {config::v1::OPENSC_PIV, config::v1::YKCS11}) {
    std::vector<std::string> ids;
    for (const char* slot : {"9A", "9C", "9D", "9E"}) {
      ids.push_back(Hex(PivSlotKeyId(profile, *ParsePivSlot(slot))));
    }
    EXPECT_THAT(ids, ElementsAre("01", "02", "03", "04")) << TokenProfileName(profile);
  }
}

// OpenSC 0.23 (pkcs15-piv.c): the retired slots' ids are the strings "05"
// to "24", read as hex. ykcs11 2.2 (objects.c): the bytes 5 to 24.
TEST(TokenProfilesTest, RetiredPivSlotsDifferBetweenModules) {
  EXPECT_EQ(OpenScId("82"), "05");
  EXPECT_EQ(OpenScId("86"), "09");
  EXPECT_EQ(OpenScId("87"), "10");
  EXPECT_EQ(OpenScId("8F"), "18");
  EXPECT_EQ(OpenScId("90"), "19");
  EXPECT_EQ(OpenScId("95"), "24");

  EXPECT_EQ(Ykcs11Id("82"), "05");
  EXPECT_EQ(Ykcs11Id("86"), "09");
  EXPECT_EQ(Ykcs11Id("87"), "0a");
  EXPECT_EQ(Ykcs11Id("8F"), "12");
  EXPECT_EQ(Ykcs11Id("90"), "13");
  EXPECT_EQ(Ykcs11Id("95"), "18");
}

TEST(TokenProfilesTest, EverySlotHasItsOwnId) {
  for (auto profile : {config::v1::OPENSC_PIV, config::v1::YKCS11}) {
    std::set<std::string> ids;
    int slots = 0;
    for (int number = 0; number < 256; ++number) {
      const std::string name = absl::BytesToHexString(std::string(1, static_cast<char>(number)));
      const std::optional<std::uint8_t> slot = ParsePivSlot(name);
      if (!slot) continue;
      ++slots;
      std::optional<std::string> id = PivSlotKeyId(profile, *slot);
      ASSERT_TRUE(id.has_value()) << name;
      EXPECT_EQ(id->size(), 1u);
      ids.insert(*id);
    }
    EXPECT_EQ(slots, 24);
    EXPECT_EQ(ids.size(), 24u) << TokenProfileName(profile);
  }
}

TEST(TokenProfilesTest, NoPivIdsWithoutAPivProfile) {
  EXPECT_EQ(PivSlotKeyId(config::v1::OPENSC_PKCS15, 0x9A), std::nullopt);
  EXPECT_EQ(PivSlotKeyId(config::v1::TOKEN_PROFILE_UNSPECIFIED, 0x9A), std::nullopt);
  EXPECT_EQ(PivSlotKeyId(static_cast<TokenProfile>(7), 0x9A), std::nullopt);
  // Not a slot.
  EXPECT_EQ(PivSlotKeyId(config::v1::OPENSC_PIV, 0x9B), std::nullopt);
  EXPECT_EQ(PivSlotKeyId(config::v1::YKCS11, 0x81), std::nullopt);
}

}  // namespace
}  // namespace signet::server
