// VerifyMail with revocation: a three-level PKI made here (root,
// intermediate, signer), CRLs served by a loopback HTTP server or kept in
// files, and every case decided the same way by `openssl verify
// -crl_check_all` with the same CRLs (Signet's `require` mode is what that
// command does; `prefer` is where the two differ by design).
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
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kKeyCompromise = 1;

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

class RevocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, fixtures::HttpServer::Start());
    ASSERT_OK_AND_ASSIGN(dir_, fixtures::TempDir::Create("signet-revocation"));
    ASSERT_OK_AND_ASSIGN(root_, fixtures::TestCa::Create("Signet Revocation Root"));
    ASSERT_OK_AND_ASSIGN(EvpPkeyPtr intermediate_key, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(
        X509Ptr intermediate,
        root_->Issue(intermediate_key.get(), "Signet Revocation Intermediate", "",
                     {.ca = true, .crl_distribution_points = {server_->Url("/root.crl")}}));
    intermediate_ = fixtures::TestCa::Adopt(std::move(intermediate), std::move(intermediate_key));
    ASSERT_OK_AND_ASSIGN(signer_key_, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(
        signer_, intermediate_->Issue(signer_key_.get(), "Statements", "statements@bank.example",
                                      {.crl_distribution_points = {server_->Url("/inter.crl")},
                                       .freshest_crl = {server_->Url("/inter-delta.crl")}}));
    ASSERT_OK_AND_ASSIGN(TrustStore trust, TrustStore::FromCertificates({root_->certificate()}));
    trust_ = std::make_unique<TrustStore>(std::move(trust));
    ASSERT_OK_AND_ASSIGN(mail_, SignMail({}, fixtures::TestMail{}.Text(),
                                         {.key = signer_key_.get(),
                                          .certificate = signer_.get(),
                                          .chain = {intermediate_->certificate()}},
                                         {}));
  }

  // Serves the CRLs of both CAs; an option left out serves an empty one.
  void ServeCrls(const fixtures::CrlOptions& root = {}, const fixtures::CrlOptions& inter = {}) {
    ASSERT_OK_AND_ASSIGN(root_crl_, Encode(*root_, root));
    ASSERT_OK_AND_ASSIGN(inter_crl_, Encode(*intermediate_, inter));
    ASSERT_OK_AND_ASSIGN(std::string root_pem, Pem(root_crl_));
    ASSERT_OK_AND_ASSIGN(std::string inter_pem, Pem(inter_crl_));
    crls_pem_ = root_pem + inter_pem;
    server_->Serve("/root.crl", root_crl_, "application/pkix-crl");
    server_->Serve("/inter.crl", inter_crl_, "application/pkix-crl");
  }
  static absl::StatusOr<std::string> Pem(const std::string& der) {
    const auto* data = reinterpret_cast<const unsigned char*>(der.data());
    X509CrlPtr crl(d2i_X509_CRL(nullptr, &data, static_cast<long>(der.size())));
    if (!crl) return absl::InternalError("not a CRL");
    return fixtures::ToPem(crl.get());
  }
  static absl::StatusOr<std::string> Encode(const fixtures::TestCa& ca,
                                            const fixtures::CrlOptions& options) {
    ASSIGN_OR_RETURN(X509CrlPtr crl, ca.MakeCrl(options));
    return fixtures::ToDer(crl.get());
  }

  pki::ValidationPolicy Policy(RevocationMode mode, pki::CrlStoreOptions crl_options = {}) {
    pki::ValidationPolicy policy;
    policy.revocation = mode;
    absl::StatusOr<std::shared_ptr<pki::CrlStore>> crls =
        pki::CrlStore::Create(std::move(crl_options));
    EXPECT_THAT(crls, IsOk());
    policy.crls = crls.value_or(nullptr);
    return policy;
  }

  absl::StatusOr<VerifiedMail> Verify(const pki::ValidationPolicy& policy,
                                      bool require_trusted_chain = true) {
    return VerifyMail({}, mail_, *trust_,
                      {.require_trusted_chain = require_trusted_chain, .validation = &policy});
  }

  // What `openssl verify -crl_check_all` says of the signer with the CRLs
  // served now: true when it accepts.
  // extended_crl: with OpenSSL's extended CRL support, as Signet has it
  // (issuing distribution points honoured rather than refused).
  absl::StatusOr<bool> OpensslAccepts(bool extended_crl = false) {
    const std::string root = dir_->path() + "/root.pem";
    const std::string inter = dir_->path() + "/inter.pem";
    const std::string signer = dir_->path() + "/signer.pem";
    RETURN_IF_ERROR(fixtures::WritePem(root, root_->certificate()));
    RETURN_IF_ERROR(fixtures::WritePem(inter, intermediate_->certificate()));
    RETURN_IF_ERROR(fixtures::WritePem(signer, signer_.get()));
    WriteFile(dir_->path() + "/root.crl", root_crl_);
    WriteFile(dir_->path() + "/inter.crl", inter_crl_);
    std::vector<std::string> argv = {"openssl",
                                     "verify",
                                     "-crl_check_all",
                                     "-purpose",
                                     "smimesign",
                                     "-CAfile",
                                     root,
                                     "-untrusted",
                                     inter,
                                     "-CRLfile",
                                     dir_->path() + "/root.crl",
                                     "-CRLfile",
                                     dir_->path() + "/inter.crl"};
    if (extended_crl) argv.push_back("-extended_crl");
    argv.push_back(signer);
    ASSIGN_OR_RETURN(fixtures::CommandResult result, fixtures::RunCommand(argv));
    return result.exit_code == 0;
  }

  // What GnuTLS `certtool --verify` says with the same CRLs: true when it
  // accepts. It uses the CRLs it is given and does not ask for more, so an
  // unanswered certificate passes, as under Signet's `prefer`.
  absl::StatusOr<bool> CerttoolAccepts() {
    const std::string root = dir_->path() + "/root.pem";
    const std::string chain = dir_->path() + "/chain.pem";
    const std::string crls = dir_->path() + "/crls.pem";
    RETURN_IF_ERROR(fixtures::WritePem(root, root_->certificate()));
    ASSIGN_OR_RETURN(std::string signer, fixtures::ToPem(signer_.get()));
    ASSIGN_OR_RETURN(std::string intermediate, fixtures::ToPem(intermediate_->certificate()));
    WriteFile(chain, signer + intermediate);
    WriteFile(crls, crls_pem_);
    std::vector<std::string> argv = {"certtool", "--verify", "--load-ca-certificate",
                                     root,       "--infile", chain};
    if (!crls_pem_.empty()) {
      argv.push_back("--load-crl");
      argv.push_back(crls);
    }
    ASSIGN_OR_RETURN(fixtures::CommandResult result, fixtures::RunCommand(argv));
    return result.exit_code == 0;
  }

  std::unique_ptr<fixtures::HttpServer> server_;
  std::optional<fixtures::TempDir> dir_;
  std::optional<fixtures::TestCa> root_;
  std::optional<fixtures::TestCa> intermediate_;
  EvpPkeyPtr signer_key_;
  X509Ptr signer_;
  std::unique_ptr<TrustStore> trust_;
  std::string mail_;
  std::string root_crl_;
  std::string inter_crl_;
  std::string crls_pem_;
};

void ExpectFailure(const absl::StatusOr<VerifiedMail>& result, VerifyFailure failure) {
  ASSERT_THAT(result, Not(IsOk()));
  EXPECT_EQ(VerifyFailureOf(result.status()), failure) << result.status();
}

TEST_F(RevocationTest, AGoodChainIsReportedGoodCertificateByCertificate) {
  ServeCrls();
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(policy));
  ASSERT_EQ(verified.signers.size(), 1u);
  const SignerReport& report = verified.signers[0];
  EXPECT_EQ(report.chain_status, ChainStatus::kTrusted);
  ASSERT_EQ(report.revocation.size(), 3u);
  EXPECT_EQ(report.revocation[0].state, RevocationState::kGood);
  EXPECT_THAT(report.revocation[0].source, HasSubstr(server_->Url("/inter.crl")));
  EXPECT_TRUE(report.revocation[0].this_update.has_value());
  EXPECT_EQ(report.revocation[1].state, RevocationState::kGood);
  EXPECT_THAT(report.revocation[1].source, HasSubstr(server_->Url("/root.crl")));
  // The anchor is trusted as configured.
  EXPECT_EQ(report.revocation[2].state, RevocationState::kNotChecked);
  EXPECT_THAT(OpensslAccepts(), matchers::IsOkAndHolds(true));
  EXPECT_THAT(CerttoolAccepts(), matchers::IsOkAndHolds(true));
}

TEST_F(RevocationTest, ARevokedSignerIsRefusedWithItsReasonAndDate) {
  ServeCrls({}, {.revoked = {{.certificate = signer_.get(), .reason = kKeyCompromise}}});
  for (RevocationMode mode : {RevocationMode::kPrefer, RevocationMode::kRequire}) {
    pki::ValidationPolicy policy = Policy(mode);
    ExpectFailure(Verify(policy), VerifyFailure::kRevoked);
    ASSERT_OK_AND_ASSIGN(VerifiedMail reported, Verify(policy, /*require_trusted_chain=*/false));
    const SignerReport& report = reported.signers[0];
    EXPECT_EQ(report.chain_status, ChainStatus::kUntrusted);
    ASSERT_FALSE(report.revocation.empty());
    EXPECT_EQ(report.revocation[0].state, RevocationState::kRevoked);
    EXPECT_EQ(report.revocation[0].reason, "keyCompromise");
    EXPECT_TRUE(report.revocation[0].revoked_at.has_value());
  }
  EXPECT_THAT(OpensslAccepts(), matchers::IsOkAndHolds(false));
  EXPECT_THAT(CerttoolAccepts(), matchers::IsOkAndHolds(false));
}

TEST_F(RevocationTest, ARevokedIntermediateIsRefused) {
  ServeCrls({.revoked = {{.certificate = intermediate_->certificate()}}});
  pki::ValidationPolicy policy = Policy(RevocationMode::kPrefer);
  ExpectFailure(Verify(policy), VerifyFailure::kRevoked);
  EXPECT_THAT(OpensslAccepts(), matchers::IsOkAndHolds(false));
  EXPECT_THAT(CerttoolAccepts(), matchers::IsOkAndHolds(false));
}

TEST_F(RevocationTest, NoCrlIsRefusedUnderRequireAndReportedUnderPrefer) {
  // Nothing served: every distribution point answers 404.
  pki::ValidationPolicy require = Policy(RevocationMode::kRequire);
  absl::StatusOr<VerifiedMail> refused = Verify(require);
  ExpectFailure(refused, VerifyFailure::kRevocationUnknown);
  EXPECT_THAT(refused.status().message(), HasSubstr("Statements"));

  pki::ValidationPolicy prefer = Policy(RevocationMode::kPrefer);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(prefer));
  const SignerReport& report = verified.signers[0];
  EXPECT_EQ(report.chain_status, ChainStatus::kTrusted);
  EXPECT_THAT(CerttoolAccepts(), matchers::IsOkAndHolds(true));
  EXPECT_EQ(report.revocation[0].state, RevocationState::kUnknown);
  EXPECT_THAT(report.revocation[0].reason, HasSubstr("unable to get certificate CRL"));
  EXPECT_EQ(report.revocation[1].state, RevocationState::kUnknown);
}

TEST_F(RevocationTest, AnExpiredCrlAnswersNothingButItsEntriesStayRevoked) {
  const fixtures::CrlOptions expired = {.this_update_offset = -absl::Hours(48),
                                        .validity = absl::Hours(24)};
  ServeCrls({}, expired);
  pki::ValidationPolicy require = Policy(RevocationMode::kRequire);
  ExpectFailure(Verify(require), VerifyFailure::kRevocationUnknown);
  pki::ValidationPolicy prefer = Policy(RevocationMode::kPrefer);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(prefer));
  EXPECT_EQ(verified.signers[0].revocation[0].state, RevocationState::kUnknown);
  EXPECT_THAT(verified.signers[0].revocation[0].reason, HasSubstr("expired"));
  // The two tools disagree here: openssl takes a CRL past its nextUpdate as
  // no answer and refuses (Signet's `require`); certtool reads what it says
  // (the signer is not listed) and accepts (Signet's `prefer`, which also
  // reports the status as unknown rather than good).
  EXPECT_THAT(OpensslAccepts(), matchers::IsOkAndHolds(false));
  EXPECT_THAT(CerttoolAccepts(), matchers::IsOkAndHolds(true));

  fixtures::CrlOptions expired_listing = expired;
  expired_listing.revoked = {{.certificate = signer_.get()}};
  ServeCrls({}, expired_listing);
  pki::ValidationPolicy prefer_again = Policy(RevocationMode::kPrefer);
  ExpectFailure(Verify(prefer_again), VerifyFailure::kRevoked);
}

TEST_F(RevocationTest, ACrlSignedByAnotherKeyIsNoAnswer) {
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr forger, fixtures::GenerateKey("EC:P-256"));
  ServeCrls({}, {.signing_key = forger.get()});
  pki::ValidationPolicy require = Policy(RevocationMode::kRequire);
  ExpectFailure(Verify(require), VerifyFailure::kRevocationUnknown);
  pki::ValidationPolicy prefer = Policy(RevocationMode::kPrefer);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(prefer));
  EXPECT_EQ(verified.signers[0].revocation[0].state, RevocationState::kUnknown);
  // openssl refuses a chain whose CRL does not verify; certtool drops such a
  // CRL as if it had not been given, and accepts (Signet: `require` and
  // `prefer`, as for no CRL at all).
  EXPECT_THAT(OpensslAccepts(), matchers::IsOkAndHolds(false));
  EXPECT_THAT(CerttoolAccepts(), matchers::IsOkAndHolds(true));
}

// A forger's CRL that lists the signer revokes nothing: a CRL whose
// signature fails is no authority (RFC 5280 section 6.3.3). certtool
// disagrees: it checks no signature of a CRL it is given, so anyone could
// revoke a certificate for it; openssl refuses the chain as it does any
// chain with a CRL that does not verify.
TEST_F(RevocationTest, AForgedCrlListingTheSignerDoesNotRevokeIt) {
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr forger, fixtures::GenerateKey("EC:P-256"));
  ServeCrls({}, {.revoked = {{.certificate = signer_.get()}}, .signing_key = forger.get()});
  pki::ValidationPolicy prefer = Policy(RevocationMode::kPrefer);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(prefer));
  EXPECT_EQ(verified.signers[0].chain_status, ChainStatus::kTrusted);
  EXPECT_EQ(verified.signers[0].revocation[0].state, RevocationState::kUnknown);
  pki::ValidationPolicy require = Policy(RevocationMode::kRequire);
  ExpectFailure(Verify(require), VerifyFailure::kRevocationUnknown);
  EXPECT_THAT(CerttoolAccepts(), matchers::IsOkAndHolds(false));
  EXPECT_THAT(OpensslAccepts(), matchers::IsOkAndHolds(false));
}

// Expired as well as forged: OpenSSL forgets which CRL it is reading once
// it has questioned its dates, and the forged entries must still not count.
TEST_F(RevocationTest, AnExpiredForgedCrlListingTheSignerDoesNotRevokeIt) {
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr forger, fixtures::GenerateKey("EC:P-256"));
  ServeCrls({}, {.this_update_offset = -absl::Hours(48),
                 .validity = absl::Hours(24),
                 .revoked = {{.certificate = signer_.get(), .reason = kKeyCompromise}},
                 .signing_key = forger.get()});
  pki::ValidationPolicy prefer = Policy(RevocationMode::kPrefer);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(prefer));
  EXPECT_EQ(verified.signers[0].revocation[0].state, RevocationState::kUnknown);
}

TEST_F(RevocationTest, AHotCacheMakesNoRequest) {
  ServeCrls();
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  ASSERT_THAT(Verify(policy), IsOk());
  const int root_requests = server_->Requests("/root.crl");
  const int inter_requests = server_->Requests("/inter.crl");
  EXPECT_EQ(inter_requests, 1);
  ASSERT_THAT(Verify(policy), IsOk());
  EXPECT_EQ(server_->Requests("/root.crl"), root_requests);
  EXPECT_EQ(server_->Requests("/inter.crl"), inter_requests);
}

// The second verification of the same chain takes the CRLs' answer from
// the store's memo (no CRL signature checked again), with the same report.
TEST_F(RevocationTest, ARepeatedVerificationIsAnsweredFromTheMemo) {
  ServeCrls();
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  ASSERT_OK_AND_ASSIGN(VerifiedMail first, Verify(policy));
  EXPECT_EQ(policy.crls->counters().remembered_answers, 0u);
  ASSERT_OK_AND_ASSIGN(VerifiedMail second, Verify(policy));
  // The signer and the intermediate.
  EXPECT_EQ(policy.crls->counters().remembered_answers, 2u);
  ASSERT_EQ(second.signers[0].revocation.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(second.signers[0].revocation[i].state, first.signers[0].revocation[i].state);
    EXPECT_EQ(second.signers[0].revocation[i].source, first.signers[0].revocation[i].source);
    EXPECT_EQ(second.signers[0].revocation[i].this_update,
              first.signers[0].revocation[i].this_update);
  }
  EXPECT_EQ(second.signers[0].revocation[0].state, RevocationState::kGood);

  // A verification as of another time neither uses nor feeds the memo.
  ASSERT_THAT(VerifyMail({}, mail_, *trust_,
                         {.at = absl::Now() - absl::Minutes(1),
                          .require_trusted_chain = true,
                          .validation = &policy}),
              IsOk());
  EXPECT_EQ(policy.crls->counters().remembered_answers, 2u);
}

// What was remembered from a CRL file ends when the file is replaced: the
// next verification reads the new CRL and finds the signer revoked.
TEST_F(RevocationTest, ARememberedAnswerEndsWhenItsCrlIsReplaced) {
  const std::string crls = dir_->path() + "/crls";
  ASSERT_EQ(mkdir(crls.c_str(), 0700), 0);
  ServeCrls();
  WriteFile(crls + "/root.crl", root_crl_);
  WriteFile(crls + "/inter.crl", inter_crl_);
  pki::ValidationPolicy policy =
      Policy(RevocationMode::kRequire,
             {.directory = crls, .fetch = false, .reload_interval = absl::ZeroDuration()});
  ASSERT_THAT(Verify(policy), IsOk());
  ASSERT_THAT(Verify(policy), IsOk());
  ASSERT_EQ(policy.crls->counters().remembered_answers, 2u);

  ASSERT_OK_AND_ASSIGN(
      std::string revoking,
      Encode(*intermediate_, {.revoked = {{.certificate = signer_.get()}}, .crl_number = 2}));
  WriteFile(crls + "/inter.crl.new", revoking);
  ASSERT_EQ(rename((crls + "/inter.crl.new").c_str(), (crls + "/inter.crl").c_str()), 0);
  ExpectFailure(Verify(policy), VerifyFailure::kRevoked);
}

TEST_F(RevocationTest, OffChecksAndFetchesNothing) {
  ServeCrls({}, {.revoked = {{.certificate = signer_.get()}}});
  pki::ValidationPolicy policy = Policy(RevocationMode::kOff);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(policy));
  EXPECT_EQ(verified.signers[0].chain_status, ChainStatus::kTrusted);
  EXPECT_TRUE(verified.signers[0].revocation.empty());
  EXPECT_EQ(server_->Requests("/inter.crl"), 0);
}

TEST_F(RevocationTest, AnAnchorOfItsOwnModeOverridesTheDefault) {
  ServeCrls({}, {.revoked = {{.certificate = signer_.get()}}});
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  policy.anchor_revocation[pki::Sha256Fingerprint(root_->certificate())] = RevocationMode::kOff;
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(policy));
  EXPECT_EQ(verified.signers[0].chain_status, ChainStatus::kTrusted);
  EXPECT_EQ(server_->Requests("/inter.crl"), 0);
}

TEST_F(RevocationTest, ACrlFileReplacedOnDiskIsPickedUp) {
  const std::string crls = dir_->path() + "/crls";
  ASSERT_EQ(mkdir(crls.c_str(), 0700), 0);
  ServeCrls();
  WriteFile(crls + "/root.crl", root_crl_);
  WriteFile(crls + "/inter.crl", inter_crl_);
  pki::ValidationPolicy policy =
      Policy(RevocationMode::kRequire,
             {.directory = crls, .fetch = false, .reload_interval = absl::ZeroDuration()});
  ASSERT_THAT(Verify(policy), IsOk());

  ASSERT_OK_AND_ASSIGN(
      std::string revoking,
      Encode(*intermediate_, {.revoked = {{.certificate = signer_.get()}}, .crl_number = 2}));
  WriteFile(crls + "/inter.crl.new", revoking);
  ASSERT_EQ(rename((crls + "/inter.crl.new").c_str(), (crls + "/inter.crl").c_str()), 0);
  ExpectFailure(Verify(policy), VerifyFailure::kRevoked);
  EXPECT_EQ(server_->Requests("/inter.crl"), 0);
}

// Issuing distribution points (RFC 5280 section 5.2.5): a CRL that covers
// only CA certificates does not speak for the signer, even when it lists
// it; one that covers only end entities does not speak for the
// intermediate.
TEST_F(RevocationTest, ACrlScopedToOtherCertificatesIsNoAnswer) {
  ServeCrls({}, {.revoked = {{.certificate = signer_.get()}}, .only_ca_certificates = true});
  pki::ValidationPolicy require = Policy(RevocationMode::kRequire);
  absl::StatusOr<VerifiedMail> refused = Verify(require);
  ExpectFailure(refused, VerifyFailure::kRevocationUnknown);
  EXPECT_THAT(refused.status().message(), HasSubstr("Statements"));
  EXPECT_THAT(OpensslAccepts(/*extended_crl=*/true), matchers::IsOkAndHolds(false));

  pki::ValidationPolicy prefer = Policy(RevocationMode::kPrefer);
  ASSERT_OK_AND_ASSIGN(VerifiedMail reported, Verify(prefer));
  EXPECT_EQ(reported.signers[0].revocation[0].state, RevocationState::kUnknown);
  EXPECT_EQ(reported.signers[0].revocation[1].state, RevocationState::kGood);

  ServeCrls({.only_user_certificates = true}, {});
  pki::ValidationPolicy fresh = Policy(RevocationMode::kPrefer);
  ASSERT_OK_AND_ASSIGN(VerifiedMail scoped, Verify(fresh));
  EXPECT_EQ(scoped.signers[0].revocation[0].state, RevocationState::kGood);
  EXPECT_EQ(scoped.signers[0].revocation[1].state, RevocationState::kUnknown);
  EXPECT_THAT(OpensslAccepts(/*extended_crl=*/true), matchers::IsOkAndHolds(false));
}

// A CRL scoped to end entities that lists the signer revokes it.
TEST_F(RevocationTest, ACrlScopedToEndEntitiesRevokesTheSigner) {
  ServeCrls({}, {.revoked = {{.certificate = signer_.get()}}, .only_user_certificates = true});
  pki::ValidationPolicy prefer = Policy(RevocationMode::kPrefer);
  ExpectFailure(Verify(prefer), VerifyFailure::kRevoked);
  EXPECT_THAT(OpensslAccepts(/*extended_crl=*/true), matchers::IsOkAndHolds(false));
}

TEST_F(RevocationTest, ADeltaCrlRevokesWhatTheBaseDoesNotList) {
  ServeCrls();
  ASSERT_OK_AND_ASSIGN(
      std::string delta,
      Encode(*intermediate_, {.revoked = {{.certificate = signer_.get(), .reason = kKeyCompromise}},
                              .crl_number = 2,
                              .delta_of = 1}));
  server_->Serve("/inter-delta.crl", delta, "application/pkix-crl");
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  ExpectFailure(Verify(policy), VerifyFailure::kRevoked);
  EXPECT_EQ(server_->Requests("/inter-delta.crl"), 1);
}

}  // namespace
}  // namespace signet::cms
