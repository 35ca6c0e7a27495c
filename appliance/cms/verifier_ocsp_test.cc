// VerifyMail with OCSP: a three-level PKI made here (root, intermediate,
// signer), the root answering for the intermediate with responses it signs
// itself and the intermediate for the signer through a delegated responder
// certificate, both the real `openssl ocsp` responder on loopback; the
// signer's CRL served by a loopback HTTP server, for the order between the
// two. `openssl ocsp` as a client is the independent view of each status.
#include <openssl/ocsp.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/mail_signer.h"
#include "appliance/cms/verifier.h"
#include "appliance/pki/validation_policy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/free_port.h"
#include "tests/fixtures/http_server.h"
#include "tests/fixtures/ocsp_responder.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_mail.h"
#include "tests/fixtures/test_pki.h"

namespace signet::cms {
namespace {

using pki::RevocationMode;
using pki::RevocationOrder;
using pki::RevocationState;
using ::signet::matchers::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kKeyCompromise = 1;

class OcspRevocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, fixtures::HttpServer::Start());
    ASSERT_OK_AND_ASSIGN(dir_, fixtures::TempDir::Create("signet-ocsp"));
    ASSERT_OK_AND_ASSIGN(root_port_, fixtures::FreePort());
    ASSERT_OK_AND_ASSIGN(inter_port_, fixtures::FreePort());
    ASSERT_OK_AND_ASSIGN(root_, fixtures::TestCa::Create("Signet OCSP Root"));
    ASSERT_OK_AND_ASSIGN(EvpPkeyPtr intermediate_key, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(X509Ptr intermediate,
                         root_->Issue(intermediate_key.get(), "Signet OCSP Intermediate", "",
                                      {.ca = true, .ocsp_responders = {Url(root_port_)}}));
    intermediate_ = fixtures::TestCa::Adopt(std::move(intermediate), std::move(intermediate_key));
    ASSERT_OK_AND_ASSIGN(responder_key_, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(responder_,
                         intermediate_->Issue(responder_key_.get(), "Signet OCSP Responder", "",
                                              {.extended_key_usage = "OCSPSigning"}));
    ASSERT_OK_AND_ASSIGN(signer_key_, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(
        signer_, intermediate_->Issue(signer_key_.get(), "Statements", "statements@bank.example",
                                      {.crl_distribution_points = {server_->Url("/inter.crl")},
                                       .ocsp_responders = {Url(inter_port_)}}));
    ASSERT_OK_AND_ASSIGN(TrustStore trust, TrustStore::FromCertificates({root_->certificate()}));
    trust_ = std::make_unique<TrustStore>(std::move(trust));
    ASSERT_OK_AND_ASSIGN(mail_,
                         Sign(signer_.get(), signer_key_.get(), intermediate_->certificate()));
  }

  static std::string Url(int port) { return absl::StrCat("http://127.0.0.1:", port, "/"); }

  static absl::StatusOr<std::string> Sign(X509* signer, EVP_PKEY* key, X509* intermediate) {
    return SignMail({}, fixtures::TestMail{}.Text(),
                    {.key = key, .certificate = signer, .chain = {intermediate}}, {});
  }

  // The root's responder (signed by the root itself) with the intermediate
  // good, and the intermediate's (delegated) with `signer` as given.
  void StartResponders(const fixtures::OcspIndexEntry& signer) {
    ASSERT_OK_AND_ASSIGN(
        root_responder_,
        fixtures::OcspResponder::Start({.issuers = {root_->certificate()},
                                        .signer = root_->certificate(),
                                        .signer_key = root_->key(),
                                        .entries = {{.certificate = intermediate_->certificate()}}},
                                       root_port_));
    std::vector<fixtures::OcspIndexEntry> entries;
    if (signer.certificate != nullptr) entries.push_back(signer);
    ASSERT_OK_AND_ASSIGN(inter_responder_,
                         fixtures::OcspResponder::Start({.issuers = {intermediate_->certificate()},
                                                         .signer = responder_.get(),
                                                         .signer_key = responder_key_.get(),
                                                         .entries = entries},
                                                        inter_port_));
  }

  void ServeSignerCrl(const fixtures::CrlOptions& options) {
    ASSERT_OK_AND_ASSIGN(X509CrlPtr crl, intermediate_->MakeCrl(options));
    ASSERT_OK_AND_ASSIGN(std::string der, fixtures::ToDer(crl.get()));
    server_->Serve("/inter.crl", der, "application/pkix-crl");
  }

  pki::ValidationPolicy Policy(RevocationMode mode,
                               RevocationOrder order = RevocationOrder::kOcspFirst,
                               bool ocsp = true) {
    pki::ValidationPolicy policy;
    policy.revocation = mode;
    policy.order = order;
    absl::StatusOr<std::shared_ptr<pki::CrlStore>> crls = pki::CrlStore::Create({});
    EXPECT_THAT(crls, IsOk());
    policy.crls = crls.value_or(nullptr);
    if (ocsp) {
      absl::StatusOr<std::shared_ptr<pki::OcspClient>> client =
          pki::OcspClient::Create({.timeout = absl::Seconds(1)});
      EXPECT_THAT(client, IsOk());
      policy.ocsp = client.value_or(nullptr);
    }
    return policy;
  }

  absl::StatusOr<VerifiedMail> Verify(const pki::ValidationPolicy& policy,
                                      bool require_trusted_chain = true) {
    return VerifyMail({}, mail_, *trust_,
                      {.require_trusted_chain = require_trusted_chain, .validation = &policy});
  }

  // What the `openssl ocsp` client makes of the signer's status at the
  // intermediate's responder, verifying the response against the root:
  // "good", "revoked" or "unknown"; "refused" when it does not accept the
  // response.
  absl::StatusOr<std::string> OpensslOcspSays() {
    const std::string root = dir_->path() + "/root.pem";
    const std::string inter = dir_->path() + "/inter.pem";
    const std::string signer = dir_->path() + "/signer.pem";
    RETURN_IF_ERROR(fixtures::WritePem(root, root_->certificate()));
    RETURN_IF_ERROR(fixtures::WritePem(inter, intermediate_->certificate()));
    RETURN_IF_ERROR(fixtures::WritePem(signer, signer_.get()));
    ASSIGN_OR_RETURN(
        fixtures::CommandResult result,
        fixtures::RunCommand({"openssl", "ocsp", "-issuer", inter, "-cert", signer, "-url",
                              Url(inter_port_), "-CAfile", root, "-verify_other", inter}));
    const std::string said = result.out + result.err;
    if (result.exit_code != 0 || !absl::StrContains(said, "Response verify OK")) {
      return std::string("refused");
    }
    for (const char* status : {"good", "revoked", "unknown"}) {
      if (absl::StrContains(said, absl::StrCat(signer, ": ", status))) return std::string(status);
    }
    return absl::InternalError(absl::StrCat("openssl ocsp said: ", result.out, result.err));
  }

  std::unique_ptr<fixtures::HttpServer> server_;
  std::optional<fixtures::TempDir> dir_;
  int root_port_ = 0;
  int inter_port_ = 0;
  std::optional<fixtures::TestCa> root_;
  std::optional<fixtures::TestCa> intermediate_;
  EvpPkeyPtr responder_key_;
  X509Ptr responder_;
  EvpPkeyPtr signer_key_;
  X509Ptr signer_;
  std::unique_ptr<TrustStore> trust_;
  std::string mail_;
  std::unique_ptr<fixtures::OcspResponder> root_responder_;
  std::unique_ptr<fixtures::OcspResponder> inter_responder_;
};

void ExpectFailure(const absl::StatusOr<VerifiedMail>& result, VerifyFailure failure) {
  ASSERT_THAT(result, Not(IsOk()));
  EXPECT_EQ(VerifyFailureOf(result.status()), failure) << result.status();
}

TEST_F(OcspRevocationTest, AGoodChainIsAnsweredByOcspAndTheCrlIsNotFetched) {
  StartResponders({.certificate = signer_.get()});
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(policy));
  const SignerReport& report = verified.signers[0];
  EXPECT_EQ(report.chain_status, ChainStatus::kTrusted);
  ASSERT_EQ(report.revocation.size(), 3u);
  EXPECT_EQ(report.revocation[0].state, RevocationState::kGood);
  EXPECT_EQ(report.revocation[0].source, absl::StrCat("ocsp ", Url(inter_port_)));
  EXPECT_TRUE(report.revocation[0].this_update.has_value());
  EXPECT_EQ(report.revocation[1].state, RevocationState::kGood);
  EXPECT_EQ(report.revocation[1].source, absl::StrCat("ocsp ", Url(root_port_)));
  EXPECT_EQ(report.revocation[2].state, RevocationState::kNotChecked);
  EXPECT_EQ(server_->Requests("/inter.crl"), 0);
  EXPECT_THAT(OpensslOcspSays(), matchers::IsOkAndHolds("good"));
}

TEST_F(OcspRevocationTest, AHotCacheMakesNoRequest) {
  StartResponders({.certificate = signer_.get()});
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  ASSERT_THAT(Verify(policy), IsOk());
  EXPECT_EQ(inter_responder_->Requests(), 1);
  EXPECT_EQ(root_responder_->Requests(), 1);
  ASSERT_THAT(Verify(policy), IsOk());
  EXPECT_EQ(inter_responder_->Requests(), 1);
  EXPECT_EQ(root_responder_->Requests(), 1);
  EXPECT_EQ(policy.ocsp->counters().cache_hits, 2u);
}

TEST_F(OcspRevocationTest, ARevokedSignerIsRefusedWithItsReasonAndDate) {
  const absl::Time revoked_at =
      absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())) - absl::Hours(3);
  StartResponders({.certificate = signer_.get(),
                   .revoked = true,
                   .revoked_at = revoked_at,
                   .reason = "keyCompromise"});
  for (RevocationMode mode : {RevocationMode::kPrefer, RevocationMode::kRequire}) {
    pki::ValidationPolicy policy = Policy(mode);
    ExpectFailure(Verify(policy), VerifyFailure::kRevoked);
    ASSERT_OK_AND_ASSIGN(VerifiedMail reported, Verify(policy, /*require_trusted_chain=*/false));
    const SignerReport& report = reported.signers[0];
    EXPECT_EQ(report.chain_status, ChainStatus::kUntrusted);
    ASSERT_FALSE(report.revocation.empty());
    EXPECT_EQ(report.revocation[0].state, RevocationState::kRevoked);
    EXPECT_EQ(report.revocation[0].reason, "keyCompromise");
    EXPECT_EQ(report.revocation[0].revoked_at, revoked_at);
    EXPECT_EQ(report.revocation[0].source, absl::StrCat("ocsp ", Url(inter_port_)));
  }
  EXPECT_THAT(OpensslOcspSays(), matchers::IsOkAndHolds("revoked"));
}

TEST_F(OcspRevocationTest, ARevokedIntermediateIsRefused) {
  // A second intermediate, revoked at the root's responder; its signer
  // names no responder and no CRL, which `prefer` lets pass.
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr key, fixtures::GenerateKey("EC:P-256"));
  ASSERT_OK_AND_ASSIGN(X509Ptr revoked,
                       root_->Issue(key.get(), "Signet Revoked Intermediate", "",
                                    {.ca = true, .ocsp_responders = {Url(root_port_)}}));
  fixtures::TestCa revoked_ca = fixtures::TestCa::Adopt(std::move(revoked), std::move(key));
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr signer_key, fixtures::GenerateKey("EC:P-256"));
  ASSERT_OK_AND_ASSIGN(X509Ptr signer,
                       revoked_ca.Issue(signer_key.get(), "Statements", "statements@bank.example"));
  ASSERT_OK_AND_ASSIGN(mail_, Sign(signer.get(), signer_key.get(), revoked_ca.certificate()));
  ASSERT_OK_AND_ASSIGN(root_responder_, fixtures::OcspResponder::Start(
                                            {.issuers = {root_->certificate()},
                                             .signer = root_->certificate(),
                                             .signer_key = root_->key(),
                                             .entries = {{.certificate = revoked_ca.certificate(),
                                                          .revoked = true,
                                                          .reason = "cACompromise"}}},
                                            root_port_));
  pki::ValidationPolicy policy = Policy(RevocationMode::kPrefer);
  ExpectFailure(Verify(policy), VerifyFailure::kRevoked);
  ASSERT_OK_AND_ASSIGN(VerifiedMail reported, Verify(policy, /*require_trusted_chain=*/false));
  ASSERT_EQ(reported.signers[0].revocation.size(), 3u);
  EXPECT_EQ(reported.signers[0].revocation[0].state, RevocationState::kUnknown);
  EXPECT_EQ(reported.signers[0].revocation[1].state, RevocationState::kRevoked);
  EXPECT_EQ(reported.signers[0].revocation[1].reason, "cACompromise");
}

TEST_F(OcspRevocationTest, AnUnknownSignerIsRefusedUnderRequireAndReportedUnderPrefer) {
  StartResponders({});  // the intermediate's responder lists nobody
  pki::ValidationPolicy require = Policy(RevocationMode::kRequire);
  absl::StatusOr<VerifiedMail> refused = Verify(require);
  ExpectFailure(refused, VerifyFailure::kRevocationUnknown);
  EXPECT_THAT(refused.status().message(), HasSubstr("Statements"));

  pki::ValidationPolicy prefer = Policy(RevocationMode::kPrefer);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(prefer));
  const SignerReport& report = verified.signers[0];
  EXPECT_EQ(report.chain_status, ChainStatus::kTrusted);
  EXPECT_EQ(report.revocation[0].state, RevocationState::kUnknown);
  EXPECT_THAT(report.revocation[0].reason, HasSubstr("does not know the certificate"));
  EXPECT_THAT(report.revocation[0].source, HasSubstr(absl::StrCat("ocsp ", Url(inter_port_))));
  EXPECT_EQ(report.revocation[1].state, RevocationState::kGood);
  EXPECT_THAT(OpensslOcspSays(), matchers::IsOkAndHolds("unknown"));
}

TEST_F(OcspRevocationTest, AResponseSignedWithoutOcspSigningAnswersNothing) {
  // Issued by the intermediate, but not for OCSP signing.
  ASSERT_OK_AND_ASSIGN(responder_key_, fixtures::GenerateKey("EC:P-256"));
  ASSERT_OK_AND_ASSIGN(responder_, intermediate_->Issue(responder_key_.get(), "Not A Responder"));
  StartResponders({.certificate = signer_.get(), .revoked = true});
  pki::ValidationPolicy require = Policy(RevocationMode::kRequire);
  absl::StatusOr<VerifiedMail> refused = Verify(require);
  ExpectFailure(refused, VerifyFailure::kRevocationUnknown);
  EXPECT_THAT(refused.status().message(), HasSubstr("signer is not accepted"));
  EXPECT_THAT(OpensslOcspSays(), matchers::IsOkAndHolds("refused"));
}

TEST_F(OcspRevocationTest, AResponderThatIsDownLeavesItToTheModeAndIsNotAskedAgain) {
  // Nothing listens on either port: no answer.
  pki::ValidationPolicy require = Policy(RevocationMode::kRequire);
  ExpectFailure(Verify(require), VerifyFailure::kRevocationUnknown);
  EXPECT_EQ(require.ocsp->counters().requests, 2u);
  EXPECT_EQ(require.ocsp->counters().failures, 2u);
  // Within the pause: no connection at all, however many verifications.
  pki::ValidationPolicy prefer = Policy(RevocationMode::kPrefer);
  prefer.ocsp = require.ocsp;
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(prefer));
    EXPECT_EQ(verified.signers[0].chain_status, ChainStatus::kTrusted);
    EXPECT_EQ(verified.signers[0].revocation[0].state, RevocationState::kUnknown);
    EXPECT_THAT(verified.signers[0].revocation[0].reason, HasSubstr("OCSP: "));
  }
  EXPECT_EQ(require.ocsp->counters().requests, 2u);

  // A responder that answers with an HTTP error, counted at the server.
  server_->Serve("/ocsp", "", "application/ocsp-response", 503);
  pki::ValidationPolicy configured = Policy(RevocationMode::kPrefer);
  ASSERT_OK_AND_ASSIGN(configured.ocsp,
                       pki::OcspClient::Create({.responder_url = server_->Url("/ocsp")}));
  ASSERT_THAT(Verify(configured), IsOk());
  ASSERT_THAT(Verify(configured), IsOk());
  EXPECT_EQ(server_->Requests("/ocsp"), 1);
}

TEST_F(OcspRevocationTest, TheFirstSourceDecides) {
  // The CRL lists the signer; OCSP says good.
  StartResponders({.certificate = signer_.get()});
  ServeSignerCrl({.revoked = {{.certificate = signer_.get(), .reason = kKeyCompromise}}});
  pki::ValidationPolicy ocsp_first = Policy(RevocationMode::kRequire, RevocationOrder::kOcspFirst);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(ocsp_first));
  EXPECT_EQ(verified.signers[0].revocation[0].state, RevocationState::kGood);
  EXPECT_EQ(server_->Requests("/inter.crl"), 0);

  pki::ValidationPolicy crl_first = Policy(RevocationMode::kRequire, RevocationOrder::kCrlFirst);
  ExpectFailure(Verify(crl_first), VerifyFailure::kRevoked);
  EXPECT_EQ(server_->Requests("/inter.crl"), 1);
  EXPECT_EQ(inter_responder_->Requests(), 1);  // the OCSP-first verification's only
}

TEST_F(OcspRevocationTest, TheFirstSourceDecidesTheOtherWayRound) {
  // The CRL does not list the signer; OCSP says revoked.
  StartResponders({.certificate = signer_.get(), .revoked = true});
  ServeSignerCrl({});
  pki::ValidationPolicy crl_first = Policy(RevocationMode::kRequire, RevocationOrder::kCrlFirst);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(crl_first));
  EXPECT_EQ(verified.signers[0].revocation[0].state, RevocationState::kGood);
  EXPECT_THAT(verified.signers[0].revocation[0].source, HasSubstr(server_->Url("/inter.crl")));
  EXPECT_EQ(inter_responder_->Requests(), 0);

  pki::ValidationPolicy ocsp_first = Policy(RevocationMode::kRequire, RevocationOrder::kOcspFirst);
  ExpectFailure(Verify(ocsp_first), VerifyFailure::kRevoked);
  EXPECT_EQ(inter_responder_->Requests(), 1);
}

TEST_F(OcspRevocationTest, CrlFirstAsksOcspWhenTheCrlGivesNoAnswer) {
  // No CRL is served (404); the intermediate names no CRL at all.
  StartResponders({.certificate = signer_.get()});
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire, RevocationOrder::kCrlFirst);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(policy));
  EXPECT_EQ(verified.signers[0].revocation[0].state, RevocationState::kGood);
  EXPECT_EQ(verified.signers[0].revocation[0].source, absl::StrCat("ocsp ", Url(inter_port_)));
  EXPECT_EQ(verified.signers[0].revocation[1].state, RevocationState::kGood);
  EXPECT_EQ(server_->Requests("/inter.crl"), 1);
}

TEST_F(OcspRevocationTest, OcspOffAsksNoResponder) {
  StartResponders({.certificate = signer_.get(), .revoked = true});
  ServeSignerCrl({});
  pki::ValidationPolicy policy = Policy(RevocationMode::kPrefer, RevocationOrder::kOcspFirst,
                                        /*ocsp=*/false);
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(policy));
  EXPECT_EQ(verified.signers[0].revocation[0].state, RevocationState::kGood);
  EXPECT_EQ(inter_responder_->Requests(), 0);
  EXPECT_EQ(root_responder_->Requests(), 0);
}

TEST_F(OcspRevocationTest, AnAnchorWhoseModeIsOffMakesNoRequest) {
  StartResponders({.certificate = signer_.get(), .revoked = true});
  pki::ValidationPolicy policy = Policy(RevocationMode::kRequire);
  policy.anchor_revocation[pki::Sha256Fingerprint(root_->certificate())] = RevocationMode::kOff;
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(policy));
  EXPECT_EQ(verified.signers[0].chain_status, ChainStatus::kTrusted);
  EXPECT_EQ(inter_responder_->Requests(), 0);
  EXPECT_EQ(root_responder_->Requests(), 0);
  EXPECT_EQ(server_->Requests("/inter.crl"), 0);
}

}  // namespace
}  // namespace signet::cms
