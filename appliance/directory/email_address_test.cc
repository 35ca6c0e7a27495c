#include "appliance/directory/email_address.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_pki.h"

namespace signet::directory {
namespace {

using ::signet::matchers::IsOkAndHolds;
using ::signet::matchers::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(NormalizeAddressTest, LowerCasesAPlainAddress) {
  EXPECT_THAT(NormalizeAddress("Statements@Bank.EXAMPLE"), IsOkAndHolds("statements@bank.example"));
  EXPECT_THAT(NormalizeAddress("o'brien+tag@mail.bank-1.example"),
              IsOkAndHolds("o'brien+tag@mail.bank-1.example"));
}

TEST(NormalizeAddressTest, RefusesWhatIsNoMailbox) {
  for (const char* bad :
       {"", "no-at-sign", "two@@bank.example", "a@b@bank.example", "@bank.example", "alice@",
        "alice@localhost", ".alice@bank.example", "al..ice@bank.example", "alice.@bank.example",
        "al ice@bank.example", "\"alice\"@bank.example", "alice@bank..example",
        "alice@-bank.example", "alice@bank_x.example", "alice@[127.0.0.1]",
        "al\xc3\xa9@bank.example", "alice\n@bank.example"}) {
    EXPECT_THAT(NormalizeAddress(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(NormalizeAddressTest, RefusesOverlongPartsAndQuotesOnlyABoundedPrefix) {
  const std::string long_local = std::string(65, 'a') + "@bank.example";
  EXPECT_THAT(NormalizeAddress(long_local),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer than 64")));
  const std::string huge = std::string(64, 'a') + "@" + std::string(250, 'b') + ".example";
  absl::StatusOr<std::string> result = NormalizeAddress(huge);
  ASSERT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("254 bytes")));
  EXPECT_LT(result.status().message().size(), 160u);
}

TEST(NormalizeAddressTest, ControlBytesAreNotEchoed) {
  absl::StatusOr<std::string> result = NormalizeAddress("bad\r\nInjected: yes");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()), ::testing::Not(HasSubstr("\n")));
}

class CertificateAddressesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create();
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::make_unique<fixtures::TestCa>(*std::move(ca));
    absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey("EC:P-256");
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *std::move(key);
  }

  X509Ptr Issue(fixtures::IssueOptions options) {
    absl::StatusOr<X509Ptr> certificate =
        ca_->Issue(key_.get(), "Someone", /*email=*/{}, std::move(options));
    EXPECT_TRUE(certificate.ok()) << certificate.status();
    return certificate.ok() ? *std::move(certificate) : nullptr;
  }

  std::unique_ptr<fixtures::TestCa> ca_;
  EvpPkeyPtr key_;
};

TEST_F(CertificateAddressesTest, SubjectAltNamesThenSubjectEmailNormalizedAndDeduplicated) {
  X509Ptr certificate = Issue({.subject_alt_name = "email:Alice@Bank.example,DNS:bank.example,"
                                                   "email:alice@bank.example,email:not an address,"
                                                   "email:a.smith@bank.example",
                               .subject_email_address = "legacy@bank.example"});
  ASSERT_NE(certificate, nullptr);
  EXPECT_THAT(CertificateAddresses(certificate.get()),
              IsOkAndHolds(ElementsAre("alice@bank.example", "a.smith@bank.example",
                                       "legacy@bank.example")));
}

TEST_F(CertificateAddressesTest, NoAddressIsAnEmptyList) {
  X509Ptr certificate = Issue({.subject_alt_name = "DNS:bank.example"});
  ASSERT_NE(certificate, nullptr);
  EXPECT_THAT(CertificateAddresses(certificate.get()), IsOkAndHolds(::testing::IsEmpty()));
}

TEST_F(CertificateAddressesTest, AThousandAddressesAreRefused) {
  std::string names;
  for (int i = 0; i < 1000; ++i)
    absl::StrAppend(&names, i ? "," : "", "email:u", i, "@bank.example");
  X509Ptr certificate = Issue({.subject_alt_name = names});
  ASSERT_NE(certificate, nullptr);
  EXPECT_THAT(CertificateAddresses(certificate.get()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than 100")));
}

}  // namespace
}  // namespace signet::directory
