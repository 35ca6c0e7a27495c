#include "appliance/cli/pem.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::cli {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

TEST(PemTest, EncodesInLinesOfSixtyFourAndDecodesBack) {
  const std::string der(100, '\x30');
  const std::string pem = PemEncode("CERTIFICATE", der);
  EXPECT_THAT(pem, ::testing::StartsWith("-----BEGIN CERTIFICATE-----\n"));
  EXPECT_THAT(pem, ::testing::EndsWith("\n-----END CERTIFICATE-----\n"));
  // 100 bytes are 136 base64 characters: lines of 64, 64 and 8.
  std::vector<std::string> lines = absl::StrSplit(pem, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[1].size(), 64u);
  EXPECT_EQ(lines[2].size(), 64u);
  EXPECT_EQ(lines[3], "MDAwMA==");
  absl::StatusOr<std::vector<std::string>> blocks = PemBlocks(pem, "CERTIFICATE");
  ASSERT_THAT(blocks, IsOk());
  EXPECT_THAT(*blocks, ::testing::ElementsAre(der));
}

TEST(PemTest, AChainFileGivesItsFirstCertificate) {
  const std::string chain = absl::StrCat("a comment\n", PemEncode("CERTIFICATE", "\x30\x01first"),
                                         PemEncode("CERTIFICATE", "\x30\x02second"));
  absl::StatusOr<std::string> der = CertificateDer(chain, "chain.pem");
  ASSERT_THAT(der, IsOk());
  EXPECT_EQ(*der, "\x30\x01first");
}

TEST(PemTest, DerIsTakenAsItIs) {
  absl::StatusOr<std::string> der = CertificateDer(std::string("\x30\x82\x01\x00rest", 8), "c.der");
  ASSERT_THAT(der, IsOk());
  EXPECT_EQ(der->size(), 8u);
}

TEST(PemTest, WhatIsNotACertificateIsSaidWithTheFileName) {
  EXPECT_THAT(CertificateDer("hello", "mail.eml").status().message(),
              ::testing::HasSubstr("mail.eml is not a certificate"));
  EXPECT_THAT(CertificateDer(PemEncode("PUBLIC KEY", "\x30\x00"), "key.pem").status().message(),
              ::testing::HasSubstr("key.pem holds no PEM CERTIFICATE"));
  EXPECT_THAT(CertificateDer("-----BEGIN CERTIFICATE-----\nMII", "cut.pem"), Not(IsOk()));
  EXPECT_THAT(
      CertificateDer("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "bad.pem"),
      Not(IsOk()));
}

}  // namespace
}  // namespace signet::cli
