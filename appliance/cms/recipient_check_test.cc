// Recipient certificates judged before encryption: a PKI made here (a root
// CA with CRL files), RSA and EC recipients, and each way a recipient can
// be refused, named by position, subject and address.
#include "appliance/cms/recipient_check.h"

#include <openssl/x509v3.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "appliance/pki/validation_policy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet::cms {
namespace {

using pki::RevocationMode;
using ::signet::matchers::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kKeyCompromise = 1;

class RecipientCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(dir_, fixtures::TempDir::Create("signet-recipients"));
    ASSERT_OK_AND_ASSIGN(ca_, fixtures::TestCa::Create("Recipient CA"));
    ASSERT_OK_AND_ASSIGN(rsa_key_, fixtures::GenerateKey("RSA:2048"));
    ASSERT_OK_AND_ASSIGN(ec_key_, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(rsa_, Issue(rsa_key_.get(), "Customer", "customer@example.org"));
    ASSERT_OK_AND_ASSIGN(ec_, Issue(ec_key_.get(), "EC Customer", "ec@example.org"));
    ASSERT_OK_AND_ASSIGN(TrustStore trust, TrustStore::FromCertificates({ca_->certificate()}));
    trust_ = std::make_unique<TrustStore>(std::move(trust));
  }

  absl::StatusOr<X509Ptr> Issue(EVP_PKEY* key, const std::string& name, const std::string& email,
                                fixtures::IssueOptions options = {.for_encryption = true}) {
    return ca_->Issue(key, name, email, options);
  }

  // A CRL file of the CA revoking `revoked` (none: an empty CRL), and an
  // offline policy reading it.
  pki::ValidationPolicy PolicyWithCrl(RevocationMode mode,
                                      std::vector<fixtures::RevokedCertificate> revoked) {
    absl::StatusOr<X509CrlPtr> crl = ca_->MakeCrl({.revoked = std::move(revoked)});
    EXPECT_THAT(crl, IsOk());
    absl::StatusOr<std::string> pem = fixtures::ToPem(crl->get());
    EXPECT_THAT(pem, IsOk());
    const std::string path = dir_->File("ca.crl");
    std::ofstream(path, std::ios::trunc) << *pem;
    return Policy(mode, {path});
  }

  // Offline: only the files, so a certificate they do not cover is unknown.
  static pki::ValidationPolicy Policy(RevocationMode mode, std::vector<std::string> files = {}) {
    pki::ValidationPolicy policy;
    policy.revocation = mode;
    absl::StatusOr<std::shared_ptr<pki::CrlStore>> crls =
        pki::CrlStore::Create({.files = std::move(files), .fetch = false});
    EXPECT_THAT(crls, IsOk());
    policy.crls = crls.value_or(nullptr);
    return policy;
  }

  absl::Status Check(const std::vector<X509*>& recipients,
                     const pki::ValidationPolicy* policy = nullptr) {
    return CheckRecipients({}, *trust_, recipients, {.validation = policy});
  }

  std::optional<fixtures::TempDir> dir_;
  std::optional<fixtures::TestCa> ca_;
  EvpPkeyPtr rsa_key_;
  EvpPkeyPtr ec_key_;
  X509Ptr rsa_;
  X509Ptr ec_;
  std::unique_ptr<TrustStore> trust_;
};

// The refusal the status carries, checked against what it must say.
RecipientRefusal ExpectRefused(const absl::Status& status, RecipientFailure failure, int index) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  std::optional<RecipientRefusal> refusal = RecipientRefusalOf(status);
  if (!refusal.has_value()) {
    ADD_FAILURE() << "no refusal in " << status;
    return {};
  }
  EXPECT_EQ(RecipientFailureName(refusal->failure), std::string(RecipientFailureName(failure)))
      << status;
  EXPECT_EQ(refusal->index, index);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(absl::StrCat("recipient certificate ", index + 1, " (")));
  return *refusal;
}

TEST_F(RecipientCheckTest, GoodRsaAndEcRecipientsPass) {
  EXPECT_THAT(Check({rsa_.get(), ec_.get()}), IsOk());
  // With revocation checked against a CRL that revokes neither.
  pki::ValidationPolicy policy = PolicyWithCrl(RevocationMode::kRequire, {});
  EXPECT_THAT(Check({rsa_.get(), ec_.get()}, &policy), IsOk());
}

TEST_F(RecipientCheckTest, AnExpiredRecipientIsNamedWithItsPosition) {
  ASSERT_OK_AND_ASSIGN(X509Ptr expired,
                       Issue(rsa_key_.get(), "Former Customer", "former@example.org",
                             {.validity = absl::Hours(24),
                              .not_before_offset = -absl::Hours(48),
                              .for_encryption = true}));
  absl::Status status = Check({rsa_.get(), expired.get()});
  RecipientRefusal refusal = ExpectRefused(status, RecipientFailure::kExpired, 1);
  EXPECT_THAT(refusal.subject, HasSubstr("CN=Former Customer"));
  EXPECT_THAT(refusal.email_addresses, ElementsAre("former@example.org"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("former@example.org"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("has expired"));
}

TEST_F(RecipientCheckTest, ANotYetValidRecipientIsRefused) {
  ASSERT_OK_AND_ASSIGN(X509Ptr future,
                       Issue(ec_key_.get(), "Future", "future@example.org",
                             {.not_before_offset = absl::Hours(48), .for_encryption = true}));
  ExpectRefused(Check({future.get()}), RecipientFailure::kNotYetValid, 0);
}

TEST_F(RecipientCheckTest, ARecipientFromAnotherCaIsUntrusted) {
  ASSERT_OK_AND_ASSIGN(fixtures::TestCa other, fixtures::TestCa::Create("Someone Else's CA"));
  ASSERT_OK_AND_ASSIGN(
      X509Ptr stranger,
      other.Issue(rsa_key_.get(), "Customer", "customer@example.org", {.for_encryption = true}));
  absl::Status status = Check({stranger.get()});
  ExpectRefused(status, RecipientFailure::kUntrusted, 0);
  EXPECT_THAT(std::string(status.message()), HasSubstr("recipient trust anchor"));
}

TEST_F(RecipientCheckTest, ARevokedRecipientIsRefusedWithTheCrlsReason) {
  pki::ValidationPolicy policy = PolicyWithCrl(
      RevocationMode::kPrefer, {{.certificate = ec_.get(), .reason = kKeyCompromise}});
  EXPECT_THAT(Check({rsa_.get()}, &policy), IsOk());
  absl::Status status = Check({rsa_.get(), ec_.get()}, &policy);
  RecipientRefusal refusal = ExpectRefused(status, RecipientFailure::kRevoked, 1);
  EXPECT_EQ(refusal.revocation_reason, "keyCompromise");
  EXPECT_THAT(std::string(status.message()), HasSubstr("is revoked (keyCompromise) since"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("ec@example.org"));
  // Without revocation checking, the same certificate passes: the CRL is
  // what refused it.
  EXPECT_THAT(Check({ec_.get()}), IsOk());
}

TEST_F(RecipientCheckTest, UnknownRevocationRefusesUnderRequireOnly) {
  pki::ValidationPolicy prefer = Policy(RevocationMode::kPrefer);
  EXPECT_THAT(Check({rsa_.get()}, &prefer), IsOk());
  pki::ValidationPolicy require = Policy(RevocationMode::kRequire);
  absl::Status status = Check({rsa_.get()}, &require);
  ExpectRefused(status, RecipientFailure::kRevocationUnknown, 0);
  EXPECT_THAT(std::string(status.message()), HasSubstr("requires it"));
  // The anchor's own mode decides: off for this CA, nothing is required.
  require.anchor_revocation[pki::Sha256Fingerprint(ca_->certificate())] = RevocationMode::kOff;
  EXPECT_THAT(Check({rsa_.get()}, &require), IsOk());
}

TEST_F(RecipientCheckTest, AKeyUsageThatForbidsReceivingIsRefused) {
  // Signing certificates: digitalSignature and nonRepudiation only.
  ASSERT_OK_AND_ASSIGN(X509Ptr rsa_signer,
                       Issue(rsa_key_.get(), "Signer", "signer@example.org", {}));
  absl::Status status = Check({rsa_signer.get()});
  ExpectRefused(status, RecipientFailure::kKeyUsage, 0);
  EXPECT_THAT(std::string(status.message()), HasSubstr("keyEncipherment"));
  ASSERT_OK_AND_ASSIGN(X509Ptr ec_signer, Issue(ec_key_.get(), "Signer", "signer@example.org", {}));
  status = Check({ec_signer.get()});
  ExpectRefused(status, RecipientFailure::kKeyUsage, 0);
  EXPECT_THAT(std::string(status.message()), HasSubstr("keyAgreement"));
}

TEST_F(RecipientCheckTest, AnExtendedKeyUsageWithoutEmailProtectionIsRefused) {
  ASSERT_OK_AND_ASSIGN(X509Ptr tls,
                       Issue(rsa_key_.get(), "mx.example.org", "postmaster@example.org",
                             {.for_encryption = true, .extended_key_usage = "clientAuth"}));
  ASSERT_NE(X509_get_extension_flags(tls.get()) & EXFLAG_XKUSAGE, 0u);
  absl::Status status = Check({tls.get()});
  ExpectRefused(status, RecipientFailure::kExtendedKeyUsage, 0);
  EXPECT_THAT(std::string(status.message()), HasSubstr("emailProtection"));
}

TEST_F(RecipientCheckTest, OnlyARecipientRefusalCarriesOne) {
  EXPECT_FALSE(RecipientRefusalOf(absl::InvalidArgumentError("other")).has_value());
  EXPECT_THAT(Check({}), IsOk());
  EXPECT_THAT(Check({nullptr}), Not(IsOk()));
}

}  // namespace
}  // namespace signet::cms
