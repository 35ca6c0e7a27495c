#include "appliance/directory/harvest_policy.h"

#include <openssl/x509.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/test_pki.h"

namespace signet::directory {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

class HarvestPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create();
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::make_unique<fixtures::TestCa>(*std::move(ca));
  }

  // One RSA key for the suite: generating it is most of the suite's time.
  static void SetUpTestSuite() {
    absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey("RSA:2048");
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *std::move(key);
  }
  static void TearDownTestSuite() { key_.reset(); }

  // A trusted signer whose From: matched, with a dual-use certificate.
  cms::SignerReport Signer(fixtures::IssueOptions options = {
                               .key_usage = "critical,digitalSignature,keyEncipherment"}) {
    absl::StatusOr<X509Ptr> certificate =
        ca_->Issue(key_.get(), "Customer", "customer@example.org", options);
    EXPECT_TRUE(certificate.ok()) << certificate.status();
    cms::SignerReport report;
    report.chain_status = cms::ChainStatus::kTrusted;
    report.from_matches_signer = true;
    if (certificate.ok()) {
      unsigned char* der = nullptr;
      const int length = i2d_X509(certificate->get(), &der);
      report.certificate_der.assign(reinterpret_cast<const char*>(der), length);
      OPENSSL_free(der);
    }
    return report;
  }

  std::unique_ptr<fixtures::TestCa> ca_;
  static EvpPkeyPtr key_;
};

EvpPkeyPtr HarvestPolicyTest::key_;

TEST_F(HarvestPolicyTest, ATrustedSenderWithACertificateThatCanReceiveIsHarvested) {
  EXPECT_EQ(HarvestRefusal(Signer(), {}), std::nullopt);
}

TEST_F(HarvestPolicyTest, UntrustedOnlyWhenAskedFor) {
  cms::SignerReport signer = Signer();
  signer.chain_status = cms::ChainStatus::kUntrusted;
  EXPECT_THAT(HarvestRefusal(signer, {}), Optional(HasSubstr("not trusted")));
  EXPECT_EQ(HarvestRefusal(signer, {.harvest_untrusted = true}), std::nullopt);
}

TEST_F(HarvestPolicyTest, AForwardedSignedMailHarvestsNothing) {
  cms::SignerReport signer = Signer();
  signer.from_matches_signer = false;
  EXPECT_THAT(HarvestRefusal(signer, {}), Optional(HasSubstr("From:")));
}

TEST_F(HarvestPolicyTest, Sha1SignedCertificatesNever) {
  EXPECT_THAT(HarvestRefusal(Signer({.key_usage = "critical,digitalSignature,keyEncipherment",
                                     .signature_digest = "SHA1"}),
                             {.harvest_untrusted = true}),
              Optional(HasSubstr("SHA-1")));
}

TEST_F(HarvestPolicyTest, ASigningOnlyCertificateIsNotKept) {
  EXPECT_THAT(HarvestRefusal(Signer({}), {}), Optional(HasSubstr("cannot receive")));
}

TEST_F(HarvestPolicyTest, GarbageIsNotKept) {
  cms::SignerReport signer = Signer();
  signer.certificate_der = "garbage";
  EXPECT_THAT(HarvestRefusal(signer, {}), Optional(HasSubstr("does not parse")));
}

}  // namespace
}  // namespace signet::directory
