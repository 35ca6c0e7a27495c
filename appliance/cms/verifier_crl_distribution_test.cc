// VerifyMail with CRLs that are not one CA's single full CRL: indirect CRLs,
// signed by a CRL issuer the certificate's cRLDistributionPoints names
// (cRLIssuer) and listing certificates of other CAs (certificateIssuer
// entries, RFC 5280 sections 5.2.5 and 5.3.3), and CRLs partitioned by
// reason (onlySomeReasons), where a certificate is answered only when CRLs
// for all reasons were found. Each case is decided the same way by
// `openssl verify -crl_check_all -extended_crl` with the same CRLs and
// certificates.
#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "appliance/cms/mail_signer.h"
#include "appliance/cms/verifier.h"
#include "appliance/pki/validation_policy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/http_server.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_mail.h"
#include "tests/fixtures/test_pki.h"

namespace signet::cms {
namespace {

using pki::RevocationMode;
using pki::RevocationState;
using ::signet::matchers::IsOk;
using ::signet::matchers::IsOkAndHolds;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kKeyCompromise = 1;
constexpr int kSuperseded = 4;
constexpr char kCrlIssuerName[] = "Signet Indirect CRL Issuer";
// The two halves of the reasons (RFC 5280 section 4.2.1.13), as OpenSSL
// names them.
constexpr char kCompromiseReasons[] = "keyCompromise,CACompromise,AACompromise";
constexpr char kOtherReasons[] =
    "unused,affiliationChanged,superseded,cessationOfOperation,certificateHold,"
    "privilegeWithdrawn";

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// Root → intermediate → signer, and a CRL issuer certified by the root
// that signs CRLs only. The root's CRL (empty) answers for the intermediate
// and the CRL issuer; the signer's distribution points are each test's.
class CrlDistributionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, fixtures::HttpServer::Start());
    ASSERT_OK_AND_ASSIGN(dir_, fixtures::TempDir::Create("signet-crl-distribution"));
    ASSERT_OK_AND_ASSIGN(root_, fixtures::TestCa::Create("Signet Distribution Root"));
    const fixtures::IssueOptions under_root = {
        .ca = true, .crl_distribution_points = {server_->Url("/root.crl")}};
    ASSERT_OK_AND_ASSIGN(EvpPkeyPtr intermediate_key, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(
        X509Ptr intermediate,
        root_->Issue(intermediate_key.get(), "Signet Distribution Intermediate", "", under_root));
    intermediate_ = fixtures::TestCa::Adopt(std::move(intermediate), std::move(intermediate_key));
    ASSERT_OK_AND_ASSIGN(EvpPkeyPtr crl_issuer_key, fixtures::GenerateKey("EC:P-256"));
    fixtures::IssueOptions crl_signer = under_root;
    crl_signer.ca = false;
    crl_signer.crl_signer = true;
    ASSERT_OK_AND_ASSIGN(X509Ptr crl_issuer,
                         root_->Issue(crl_issuer_key.get(), kCrlIssuerName, "", crl_signer));
    crl_issuer_ = fixtures::TestCa::Adopt(std::move(crl_issuer), std::move(crl_issuer_key));
    ASSERT_OK_AND_ASSIGN(TrustStore trust, TrustStore::FromCertificates({root_->certificate()}));
    trust_ = std::make_unique<TrustStore>(std::move(trust));
    ASSERT_OK_AND_ASSIGN(signer_key_, fixtures::GenerateKey("EC:P-256"));
    ServeCrl("/root.crl", *root_, {});
  }

  // The signer with these distribution points, and a mail it signed that
  // carries the intermediate and, when carry_crl_issuer, the CRL issuer.
  void IssueSigner(std::vector<fixtures::DistributionPoint> points, bool carry_crl_issuer = true) {
    ASSERT_OK_AND_ASSIGN(
        signer_, intermediate_->Issue(signer_key_.get(), "Statements", "statements@bank.example",
                                      {.distribution_points = std::move(points)}));
    std::vector<X509*> chain = {intermediate_->certificate()};
    if (carry_crl_issuer) chain.push_back(crl_issuer_->certificate());
    ASSERT_OK_AND_ASSIGN(mail_, SignMail({}, fixtures::TestMail{}.Text(),
                                         {.key = signer_key_.get(),
                                          .certificate = signer_.get(),
                                          .chain = std::move(chain)},
                                         {}));
  }

  void ServeCrl(const std::string& path, const fixtures::TestCa& ca,
                const fixtures::CrlOptions& options) {
    ASSERT_OK_AND_ASSIGN(X509CrlPtr crl, ca.MakeCrl(options));
    ASSERT_OK_AND_ASSIGN(std::string der, fixtures::ToDer(crl.get()));
    server_->Serve(path, der, "application/pkix-crl");
    const std::string file = absl::StrCat(dir_->path(), path);
    WriteFile(file, der);
    if (std::find(crl_files_.begin(), crl_files_.end(), file) == crl_files_.end()) {
      crl_files_.push_back(file);
    }
  }

  pki::ValidationPolicy Policy(RevocationMode mode) {
    pki::ValidationPolicy policy;
    policy.revocation = mode;
    absl::StatusOr<std::shared_ptr<pki::CrlStore>> crls = pki::CrlStore::Create({});
    EXPECT_THAT(crls, IsOk());
    policy.crls = crls.value_or(nullptr);
    return policy;
  }

  absl::StatusOr<VerifiedMail> Verify(const pki::ValidationPolicy& policy,
                                      bool require_trusted_chain = true) {
    return VerifyMail({}, mail_, *trust_,
                      {.require_trusted_chain = require_trusted_chain, .validation = &policy});
  }

  // The signer's revocation result, from a verification that reports an
  // untrusted chain rather than refusing it.
  absl::StatusOr<pki::RevocationResult> SignerRevocation(const pki::ValidationPolicy& policy) {
    ASSIGN_OR_RETURN(VerifiedMail reported, Verify(policy, /*require_trusted_chain=*/false));
    if (reported.signers.empty() || reported.signers[0].revocation.empty()) {
      return absl::NotFoundError("no revocation result for the signer");
    }
    return reported.signers[0].revocation[0];
  }

  // What `openssl verify -crl_check_all -extended_crl` says of the signer
  // with every CRL served so far and the certificates the mail carries:
  // true when it accepts.
  absl::StatusOr<bool> OpensslAccepts(bool with_crl_issuer = true) {
    const std::string root = dir_->path() + "/root.pem";
    const std::string untrusted = dir_->path() + "/untrusted.pem";
    const std::string signer = dir_->path() + "/signer.pem";
    RETURN_IF_ERROR(fixtures::WritePem(root, root_->certificate()));
    RETURN_IF_ERROR(fixtures::WritePem(signer, signer_.get()));
    ASSIGN_OR_RETURN(std::string intermediate, fixtures::ToPem(intermediate_->certificate()));
    ASSIGN_OR_RETURN(std::string crl_issuer, fixtures::ToPem(crl_issuer_->certificate()));
    WriteFile(untrusted, with_crl_issuer ? intermediate + crl_issuer : intermediate);
    std::vector<std::string> argv = {"openssl",    "verify",    "-crl_check_all", "-extended_crl",
                                     "-purpose",   "smimesign", "-CAfile",        root,
                                     "-untrusted", untrusted};
    for (const std::string& file : crl_files_) {
      argv.push_back("-CRLfile");
      argv.push_back(file);
    }
    argv.push_back(signer);
    ASSIGN_OR_RETURN(fixtures::CommandResult result, fixtures::RunCommand(argv));
    return result.exit_code == 0;
  }

  // The signer's distribution point for an indirect CRL at `path`.
  fixtures::DistributionPoint Indirect(const std::string& path) {
    return {.urls = {server_->Url(path)}, .crl_issuer = kCrlIssuerName};
  }

  std::unique_ptr<fixtures::HttpServer> server_;
  std::optional<fixtures::TempDir> dir_;
  std::optional<fixtures::TestCa> root_;
  std::optional<fixtures::TestCa> intermediate_;
  std::optional<fixtures::TestCa> crl_issuer_;
  EvpPkeyPtr signer_key_;
  X509Ptr signer_;
  std::unique_ptr<TrustStore> trust_;
  std::string mail_;
  std::vector<std::string> crl_files_;
};

void ExpectFailure(const absl::StatusOr<VerifiedMail>& result, VerifyFailure failure) {
  ASSERT_THAT(result, Not(IsOk()));
  EXPECT_EQ(VerifyFailureOf(result.status()), failure) << result.status();
}

TEST_F(CrlDistributionTest, AnIndirectCrlListingTheSignerRevokesIt) {
  IssueSigner({Indirect("/indirect.crl")});
  ServeCrl("/indirect.crl", *crl_issuer_,
           {.revoked = {{.certificate = signer_.get(),
                         .reason = kKeyCompromise,
                         .certificate_issuer = true}},
            .indirect = true});
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  ExpectFailure(Verify(policy), VerifyFailure::kRevoked);
  ASSERT_OK_AND_ASSIGN(pki::RevocationResult signer, SignerRevocation(policy));
  EXPECT_EQ(signer.state, RevocationState::kRevoked);
  EXPECT_EQ(signer.reason, "keyCompromise");
  EXPECT_THAT(OpensslAccepts(), IsOkAndHolds(false));
}

TEST_F(CrlDistributionTest, AnIndirectCrlNotListingTheSignerAnswersGood) {
  IssueSigner({Indirect("/indirect.crl")});
  ServeCrl("/indirect.crl", *crl_issuer_, {.indirect = true});
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  EXPECT_THAT(OpensslAccepts(), IsOkAndHolds(true));
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(policy));
  const pki::RevocationResult& signer = verified.signers[0].revocation[0];
  EXPECT_EQ(signer.state, RevocationState::kGood);
  EXPECT_THAT(signer.source, HasSubstr("/indirect.crl"));
}

// An entry without certificateIssuer speaks for a certificate of the CRL
// issuer itself, not for one of the intermediate with the same serial.
TEST_F(CrlDistributionTest, AnIndirectEntryWithoutCertificateIssuerIsNotTheSigners) {
  IssueSigner({Indirect("/indirect.crl")});
  ServeCrl(
      "/indirect.crl", *crl_issuer_,
      {.revoked = {{.certificate = signer_.get(), .reason = kKeyCompromise}}, .indirect = true});
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(policy));
  EXPECT_EQ(verified.signers[0].revocation[0].state, RevocationState::kGood);
  EXPECT_THAT(OpensslAccepts(), IsOkAndHolds(true));
}

// A CRL from the named CRL issuer without indirectCRL in its issuing
// distribution point is no answer for another CA's certificate.
TEST_F(CrlDistributionTest, ACrlIssuersCrlThatIsNotIndirectIsNoAnswer) {
  IssueSigner({Indirect("/indirect.crl")});
  ServeCrl("/indirect.crl", *crl_issuer_,
           {.revoked = {{.certificate = signer_.get(), .certificate_issuer = true}}});
  pki::ValidationPolicy require = Policy(RevocationMode::kRequire);
  ExpectFailure(Verify(require), VerifyFailure::kRevocationUnknown);
  EXPECT_THAT(OpensslAccepts(), IsOkAndHolds(false));
}

// Without the CRL issuer's certificate its CRL cannot be checked: the
// question stays open, whatever the CRL lists.
TEST_F(CrlDistributionTest, AnIndirectCrlWhoseIssuerIsUnknownIsNoAnswer) {
  IssueSigner({Indirect("/indirect.crl")}, /*carry_crl_issuer=*/false);
  ServeCrl(
      "/indirect.crl", *crl_issuer_,
      {.revoked = {{.certificate = signer_.get(), .certificate_issuer = true}}, .indirect = true});
  pki::ValidationPolicy require = Policy(RevocationMode::kRequire);
  ExpectFailure(Verify(require), VerifyFailure::kRevocationUnknown);
  EXPECT_THAT(OpensslAccepts(/*with_crl_issuer=*/false), IsOkAndHolds(false));

  pki::ValidationPolicy prefer = Policy(RevocationMode::kPrefer);
  ASSERT_OK_AND_ASSIGN(VerifiedMail reported, Verify(prefer));
  EXPECT_EQ(reported.signers[0].revocation[0].state, RevocationState::kUnknown);
}

// The CRL issuer's certificate from the configuration
// (ValidationPolicy::crl_issuers), for mail that does not carry it.
TEST_F(CrlDistributionTest, AConfiguredCrlIssuerCertificateServesMailWithoutIt) {
  IssueSigner({Indirect("/indirect.crl")}, /*carry_crl_issuer=*/false);
  ServeCrl(
      "/indirect.crl", *crl_issuer_,
      {.revoked = {{.certificate = signer_.get(), .certificate_issuer = true}}, .indirect = true});
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  auto issuers = std::make_shared<std::vector<X509Ptr>>();
  X509_up_ref(crl_issuer_->certificate());
  issuers->emplace_back(crl_issuer_->certificate());
  policy.crl_issuers = std::move(issuers);
  ExpectFailure(Verify(policy), VerifyFailure::kRevoked);
  EXPECT_THAT(OpensslAccepts(/*with_crl_issuer=*/true), IsOkAndHolds(false));
}

// A configured CRL issuer under another root signs no answer for this
// chain, whatever its name.
TEST_F(CrlDistributionTest, AConfiguredCrlIssuerUnderAnotherRootIsNoAnswer) {
  IssueSigner({Indirect("/indirect.crl")}, /*carry_crl_issuer=*/false);
  ASSERT_OK_AND_ASSIGN(fixtures::TestCa other_root, fixtures::TestCa::Create("Other Root"));
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr impostor_key, fixtures::GenerateKey("EC:P-256"));
  ASSERT_OK_AND_ASSIGN(
      X509Ptr impostor_certificate,
      other_root.Issue(impostor_key.get(), kCrlIssuerName, "", {.crl_signer = true}));
  fixtures::TestCa impostor =
      fixtures::TestCa::Adopt(std::move(impostor_certificate), std::move(impostor_key));
  ServeCrl("/indirect.crl", impostor, {.indirect = true});
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  auto issuers = std::make_shared<std::vector<X509Ptr>>();
  X509_up_ref(impostor.certificate());
  issuers->emplace_back(impostor.certificate());
  policy.crl_issuers = std::move(issuers);
  ExpectFailure(Verify(policy), VerifyFailure::kRevocationUnknown);
}

// The CRL issuer's own certificate is checked too: revoked by the root,
// its CRLs answer nothing.
TEST_F(CrlDistributionTest, ARevokedCrlIssuersCrlIsNoAnswer) {
  ServeCrl("/root.crl", *root_, {.revoked = {{.certificate = crl_issuer_->certificate()}}});
  IssueSigner({Indirect("/indirect.crl")});
  ServeCrl("/indirect.crl", *crl_issuer_, {.indirect = true});
  pki::ValidationPolicy require = Policy(RevocationMode::kRequire);
  ExpectFailure(Verify(require), VerifyFailure::kRevocationUnknown);
  EXPECT_THAT(OpensslAccepts(), IsOkAndHolds(false));
}

// Reason partitions: one distribution point for the compromise reasons,
// one for the others, each with its own CRL (onlySomeReasons).
class ReasonPartitionTest : public CrlDistributionTest {
 protected:
  void SetUp() override {
    CrlDistributionTest::SetUp();
    IssueSigner({{.urls = {server_->Url("/compromise.crl")}, .reasons = kCompromiseReasons},
                 {.urls = {server_->Url("/other.crl")}, .reasons = kOtherReasons}});
  }

  void ServePartition(bool compromise, std::vector<fixtures::RevokedCertificate> revoked = {}) {
    const std::string path = compromise ? "/compromise.crl" : "/other.crl";
    ServeCrl(path, *intermediate_,
             {.revoked = std::move(revoked),
              .only_some_reasons = compromise ? kCompromiseReasons : kOtherReasons,
              .distribution_point = server_->Url(path)});
  }
};

TEST_F(ReasonPartitionTest, BothPartitionsWithoutTheSignerAnswerGood) {
  ServePartition(/*compromise=*/true);
  ServePartition(/*compromise=*/false);
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(policy));
  const pki::RevocationResult& signer = verified.signers[0].revocation[0];
  EXPECT_EQ(signer.state, RevocationState::kGood);
  EXPECT_THAT(signer.source, HasSubstr("/compromise.crl"));
  EXPECT_THAT(signer.source, HasSubstr("/other.crl"));
  EXPECT_THAT(OpensslAccepts(), IsOkAndHolds(true));
}

TEST_F(ReasonPartitionTest, TheCompromisePartitionRevokes) {
  ServePartition(/*compromise=*/true, {{.certificate = signer_.get(), .reason = kKeyCompromise}});
  ServePartition(/*compromise=*/false);
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  ExpectFailure(Verify(policy), VerifyFailure::kRevoked);
  ASSERT_OK_AND_ASSIGN(pki::RevocationResult signer, SignerRevocation(policy));
  EXPECT_EQ(signer.state, RevocationState::kRevoked);
  EXPECT_EQ(signer.reason, "keyCompromise");
  EXPECT_THAT(OpensslAccepts(), IsOkAndHolds(false));
}

TEST_F(ReasonPartitionTest, TheOtherPartitionRevokes) {
  ServePartition(/*compromise=*/true);
  ServePartition(/*compromise=*/false, {{.certificate = signer_.get(), .reason = kSuperseded}});
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  ExpectFailure(Verify(policy), VerifyFailure::kRevoked);
  EXPECT_THAT(OpensslAccepts(), IsOkAndHolds(false));
}

// One partition alone does not cover every reason: the certificate might
// be on the missing one.
TEST_F(ReasonPartitionTest, OnePartitionAloneIsNoAnswer) {
  ServePartition(/*compromise=*/true);
  pki::ValidationPolicy require = Policy(RevocationMode::kRequire);
  absl::StatusOr<VerifiedMail> refused = Verify(require);
  ExpectFailure(refused, VerifyFailure::kRevocationUnknown);
  EXPECT_THAT(refused.status().message(), HasSubstr("Statements"));
  EXPECT_THAT(OpensslAccepts(), IsOkAndHolds(false));

  pki::ValidationPolicy prefer = Policy(RevocationMode::kPrefer);
  ASSERT_OK_AND_ASSIGN(VerifiedMail reported, Verify(prefer));
  EXPECT_EQ(reported.signers[0].revocation[0].state, RevocationState::kUnknown);
}

}  // namespace
}  // namespace signet::cms
