// The chain validation VerifyMail and the recipient check share: the
// outcome of each failure kind, the chain's subjects and which certificate
// failed, and what the anchor's revocation mode makes of an open question.
#include "appliance/pki/chain_validation.h"

#include <openssl/x509v3.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_pki.h"

namespace signet::pki {
namespace {

using ::signet::matchers::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ChainValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(root_, fixtures::TestCa::Create("Chain Root"));
    ASSERT_OK_AND_ASSIGN(key_, fixtures::GenerateKey("EC:P-256"));
    store_.reset(X509_STORE_new());
    ASSERT_TRUE(store_);
    ASSERT_EQ(X509_STORE_add_cert(store_.get(), root_->certificate()), 1);
    UseRevocationLookup(store_.get());
  }

  // An offline policy with no CRL: every question stays open.
  static ValidationPolicy Offline(RevocationMode mode) {
    ValidationPolicy policy;
    policy.revocation = mode;
    absl::StatusOr<std::shared_ptr<CrlStore>> crls = CrlStore::Create({.fetch = false});
    EXPECT_THAT(crls, IsOk());
    policy.crls = crls.value_or(nullptr);
    return policy;
  }

  std::optional<fixtures::TestCa> root_;
  EvpPkeyPtr key_;
  X509StorePtr store_;
};

TEST_F(ChainValidationTest, ATrustedChainNamesItsCertificates) {
  ASSERT_OK_AND_ASSIGN(X509Ptr leaf, root_->Issue(key_.get(), "Leaf", "leaf@example.org"));
  ChainResult result =
      ValidateChain(store_.get(), leaf.get(), nullptr, {.purpose = X509_PURPOSE_SMIME_SIGN});
  EXPECT_FALSE(result.failure.has_value()) << result.detail;
  EXPECT_THAT(result.chain, ElementsAre("CN=Leaf", "CN=Chain Root"));
  EXPECT_TRUE(result.revocation.empty());
}

TEST_F(ChainValidationTest, FailuresAreSortedAndNameTheCertificate) {
  ASSERT_OK_AND_ASSIGN(X509Ptr expired, root_->Issue(key_.get(), "Old", "",
                                                     {.validity = absl::Hours(24),
                                                      .not_before_offset = -absl::Hours(48)}));
  ChainResult result = ValidateChain(store_.get(), expired.get(), nullptr, {});
  EXPECT_EQ(result.failure, ChainFailure::kExpired);
  EXPECT_EQ(result.failed_subject, "CN=Old");

  ASSERT_OK_AND_ASSIGN(fixtures::TestCa other, fixtures::TestCa::Create("Other Root"));
  ASSERT_OK_AND_ASSIGN(X509Ptr stranger, other.Issue(key_.get(), "Stranger"));
  EXPECT_EQ(ValidateChain(store_.get(), stranger.get(), nullptr, {}).failure,
            ChainFailure::kUntrusted);

  // A recipient's certificate (keyAgreement) is not for signing.
  ASSERT_OK_AND_ASSIGN(X509Ptr recipient,
                       root_->Issue(key_.get(), "Recipient", "", {.for_encryption = true}));
  EXPECT_EQ(
      ValidateChain(store_.get(), recipient.get(), nullptr, {.purpose = X509_PURPOSE_SMIME_SIGN})
          .failure,
      ChainFailure::kWrongPurpose);
  // OpenSSL's S/MIME encryption purpose wants keyEncipherment even of an EC
  // key; checked on the CAs only, the EC recipient's chain is trusted.
  EXPECT_EQ(
      ValidateChain(store_.get(), recipient.get(), nullptr, {.purpose = X509_PURPOSE_SMIME_ENCRYPT})
          .failure,
      ChainFailure::kWrongPurpose);
  ChainResult cas_only =
      ValidateChain(store_.get(), recipient.get(), nullptr,
                    {.purpose = X509_PURPOSE_SMIME_ENCRYPT, .purpose_for_cas_only = true});
  EXPECT_FALSE(cas_only.failure.has_value()) << cas_only.detail;
}

TEST_F(ChainValidationTest, AnOpenRevocationQuestionIsWeighedByTheAnchorsMode) {
  ASSERT_OK_AND_ASSIGN(X509Ptr leaf, root_->Issue(key_.get(), "Leaf"));
  ValidationPolicy prefer = Offline(RevocationMode::kPrefer);
  ChainResult result = ValidateChain(store_.get(), leaf.get(), nullptr, {.validation = &prefer});
  EXPECT_FALSE(result.failure.has_value()) << result.detail;
  ASSERT_EQ(result.revocation.size(), 2u);
  EXPECT_EQ(result.revocation[0].state, RevocationState::kUnknown);

  ValidationPolicy require = Offline(RevocationMode::kRequire);
  result = ValidateChain(store_.get(), leaf.get(), nullptr, {.validation = &require});
  EXPECT_EQ(result.failure, ChainFailure::kRevocationUnknown);
  EXPECT_EQ(result.failed_subject, "CN=Leaf");
  EXPECT_THAT(result.detail, HasSubstr("policy requires it"));

  // Off for this anchor: nothing was asked, and nothing is reported.
  require.anchor_revocation[Sha256Fingerprint(root_->certificate())] = RevocationMode::kOff;
  result = ValidateChain(store_.get(), leaf.get(), nullptr, {.validation = &require});
  EXPECT_FALSE(result.failure.has_value()) << result.detail;
  for (const RevocationResult& answer : result.revocation) {
    EXPECT_EQ(answer.state, RevocationState::kNotChecked);
  }
}

}  // namespace
}  // namespace signet::pki
