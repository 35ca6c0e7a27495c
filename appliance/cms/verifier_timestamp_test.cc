// VerifyMail with time-stamped signatures: a valid stamp moves the time the
// signer's chain (dates and revocation) is judged at to the stamp's, so a
// statement stamped while its certificate was valid still verifies after
// the certificate expired, or after it was revoked for a reason that does
// not reach back; a stamp that proves nothing changes nothing. Tokens come
// from the real `openssl ts -reply` (tests/fixtures/tsa_responder.h),
// backdated by signing its TSTInfo again, and are judged by
// timestamp::VerifyTimestampToken, as signetd does.
#include <openssl/ts.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "appliance/cms/mail_signer.h"
#include "appliance/cms/signature_timestamp.h"
#include "appliance/cms/verifier.h"
#include "appliance/pki/validation_policy.h"
#include "appliance/timestamp/timestamp_token.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_mail.h"
#include "tests/fixtures/test_pki.h"
#include "tests/fixtures/tsa_responder.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kKeyCompromise = 1;
constexpr int kSuperseded = 4;

// The token inside a TimeStampResp.
absl::StatusOr<std::string> TokenOf(const std::string& reply_der) {
  const auto* cursor = reinterpret_cast<const unsigned char*>(reply_der.data());
  TsRespPtr reply(d2i_TS_RESP(nullptr, &cursor, static_cast<long>(reply_der.size())));
  if (!reply || TS_RESP_get_token(reply.get()) == nullptr) {
    return absl::InternalError("the TSA gave no token");
  }
  unsigned char* der = nullptr;
  const int length = i2d_PKCS7(TS_RESP_get_token(reply.get()), &der);
  if (length <= 0) return absl::InternalError("cannot encode the token");
  std::string token(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return token;
}

class VerifierTimestampTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(dir_, fixtures::TempDir::Create("signet-verify-stamp"));
    ASSERT_OK_AND_ASSIGN(root_, fixtures::TestCa::Create("Signet Stamp Root"));
    ASSERT_OK_AND_ASSIGN(tsa_key_, fixtures::GenerateKey("EC:P-256"));
    // Valid well before the backdated stamps.
    ASSERT_OK_AND_ASSIGN(tsa_, root_->Issue(tsa_key_.get(), "Signet Test TSA", "",
                                            {.validity = absl::Hours(24 * 30),
                                             .not_before_offset = -absl::Hours(24 * 5),
                                             .extended_key_usage = "critical,timeStamping"}));
    ASSERT_OK_AND_ASSIGN(TrustStore trust, TrustStore::FromCertificates({root_->certificate()}));
    trust_ = std::make_unique<TrustStore>(std::move(trust));
    ASSERT_OK_AND_ASSIGN(signer_key_, fixtures::GenerateKey("EC:P-256"));
    tsa_anchors_ = {root_->certificate()};
  }

  // A mail signed with a signer certificate valid from `not_before_offset`
  // for `validity`, stamped by a TSA whose clock says now + `stamp_offset`.
  void SignAndStamp(absl::Duration not_before_offset, absl::Duration validity,
                    absl::Duration stamp_offset) {
    ASSERT_OK_AND_ASSIGN(
        signer_, root_->Issue(signer_key_.get(), "Statements", "statements@bank.example",
                              {.validity = validity, .not_before_offset = not_before_offset}));
    ASSERT_OK_AND_ASSIGN(std::string mail,
                         SignMail({}, fixtures::TestMail{}.Text(),
                                  {.key = signer_key_.get(), .certificate = signer_.get()}, {}));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<fixtures::TsaResponder> tsa,
                         fixtures::TsaResponder::Start({.signer = tsa_.get(),
                                                        .signer_key = tsa_key_.get(),
                                                        .resign_certificate = tsa_.get(),
                                                        .resign_key = tsa_key_.get(),
                                                        .resign_gen_time_offset = stamp_offset}));
    ASSERT_OK_AND_ASSIGN(
        mail_, TimestampSignedMail(
                   {}, mail, [&](absl::string_view signature) -> absl::StatusOr<std::string> {
                     ASSIGN_OR_RETURN(std::string request,
                                      fixtures::MakeTimestampRequest(stamped_data_override_.empty()
                                                                         ? signature
                                                                         : stamped_data_override_));
                     ASSIGN_OR_RETURN(std::string reply, tsa->Reply(request));
                     return TokenOf(reply);
                   }));
  }

  // As signetd judges stamps: VerifyTimestampToken against tsa_anchors_.
  TimestampChecker Checker() {
    return [this](absl::string_view token, absl::string_view signature) {
      TimestampCheck check{.state = TimestampState::kInvalid};
      absl::StatusOr<timestamp::TokenVerification> verified =
          timestamp::VerifyTimestampToken(token, signature, tsa_anchors_);
      if (!verified.ok()) {
        check.detail = std::string(verified.status().message());
        return check;
      }
      if (verified->valid()) check.state = TimestampState::kValid;
      check.time = verified->facts.gen_time;
      check.tsa = verified->facts.tsa_name;
      check.policy = verified->facts.policy_oid;
      check.serial_hex = verified->facts.serial_hex;
      check.detail = verified->problem;
      return check;
    };
  }

  absl::StatusOr<VerifiedMail> Verify(bool require_trusted_chain = true,
                                      const pki::ValidationPolicy* validation = nullptr) {
    return VerifyMail({}, mail_, *trust_,
                      {.require_trusted_chain = require_trusted_chain,
                       .validation = validation,
                       .check_timestamp = Checker()});
  }

  // A policy that requires revocation answers from one CRL file by the root.
  pki::ValidationPolicy RevocationPolicy(const fixtures::CrlOptions& crl_options) {
    absl::StatusOr<X509CrlPtr> crl = root_->MakeCrl(crl_options);
    EXPECT_THAT(crl, IsOk());
    const std::string path = dir_->File("root.crl");
    absl::StatusOr<std::string> pem = fixtures::ToPem(crl->get());
    EXPECT_THAT(pem, IsOk());
    std::ofstream(path, std::ios::trunc) << *pem;
    pki::ValidationPolicy policy;
    policy.revocation = pki::RevocationMode::kRequire;
    absl::StatusOr<std::shared_ptr<pki::CrlStore>> store =
        pki::CrlStore::Create({.files = {path}, .fetch = false});
    EXPECT_THAT(store, IsOk());
    policy.crls = store.value_or(nullptr);
    return policy;
  }

  std::optional<fixtures::TempDir> dir_;
  std::optional<fixtures::TestCa> root_;
  EvpPkeyPtr tsa_key_;
  X509Ptr tsa_;
  EvpPkeyPtr signer_key_;
  X509Ptr signer_;
  std::unique_ptr<TrustStore> trust_;
  std::vector<X509*> tsa_anchors_;
  std::string mail_;
  std::string stamped_data_override_;
};

void ExpectFailure(const absl::StatusOr<VerifiedMail>& result, VerifyFailure failure) {
  ASSERT_THAT(result, Not(IsOk()));
  EXPECT_EQ(VerifyFailureOf(result.status()), failure) << result.status();
}

// Expired an hour ago, stamped a day ago while valid: valid at the stamp.
TEST_F(VerifierTimestampTest, ASignerThatExpiredAfterTheStampIsValidAtIt) {
  SignAndStamp(-absl::Hours(72), absl::Hours(71), -absl::Hours(24));
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify());
  const SignerReport& signer = verified.signers[0];
  EXPECT_EQ(signer.chain_status, ChainStatus::kTrusted);
  EXPECT_EQ(signer.timestamp.state, TimestampState::kValid);
  EXPECT_LT(absl::AbsDuration(signer.timestamp.time - (absl::Now() - absl::Hours(24))),
            absl::Minutes(5));
  EXPECT_THAT(signer.timestamp.tsa, HasSubstr("Signet Test TSA"));
  EXPECT_EQ(signer.timestamp.policy, fixtures::kTsaDefaultPolicy);
  EXPECT_FALSE(signer.timestamp.serial_hex.empty());
}

// The same mail judged as of now (as without a stamp) is refused: the stamp
// is what made the difference.
TEST_F(VerifierTimestampTest, WithoutTrustingTheTsaTheExpiredSignerIsRefused) {
  SignAndStamp(-absl::Hours(72), absl::Hours(71), -absl::Hours(24));
  ASSERT_OK_AND_ASSIGN(fixtures::TestCa other, fixtures::TestCa::Create("Other TSA Root"));
  tsa_anchors_ = {other.certificate()};
  ExpectFailure(Verify(), VerifyFailure::kExpiredSigner);
  ASSERT_OK_AND_ASSIGN(VerifiedMail reported, Verify(/*require_trusted_chain=*/false));
  EXPECT_EQ(reported.signers[0].timestamp.state, TimestampState::kInvalid);
  EXPECT_FALSE(reported.signers[0].timestamp.detail.empty());
}

// Expired two days ago, stamped yesterday: already expired at the stamp.
TEST_F(VerifierTimestampTest, ASignerExpiredBeforeTheStampIsRefused) {
  SignAndStamp(-absl::Hours(96), absl::Hours(48), -absl::Hours(24));
  absl::StatusOr<VerifiedMail> refused = Verify();
  ExpectFailure(refused, VerifyFailure::kExpiredSigner);
  EXPECT_THAT(refused.status().message(), HasSubstr("judged at its time-stamp"));
}

// A stamp over other data proves nothing about this signature.
TEST_F(VerifierTimestampTest, AStampOverOtherDataIsReportedAndChangesNothing) {
  stamped_data_override_ = "another signature altogether";
  SignAndStamp(-absl::Hours(72), absl::Hours(71), -absl::Hours(24));
  ExpectFailure(Verify(), VerifyFailure::kExpiredSigner);
  ASSERT_OK_AND_ASSIGN(VerifiedMail reported, Verify(/*require_trusted_chain=*/false));
  EXPECT_EQ(reported.signers[0].timestamp.state, TimestampState::kInvalid);
  EXPECT_THAT(reported.signers[0].timestamp.detail, HasSubstr("other data"));
}

TEST_F(VerifierTimestampTest, AnUnstampedSignatureReportsNone) {
  ASSERT_OK_AND_ASSIGN(signer_,
                       root_->Issue(signer_key_.get(), "Statements", "statements@bank.example"));
  ASSERT_OK_AND_ASSIGN(mail_,
                       SignMail({}, fixtures::TestMail{}.Text(),
                                {.key = signer_key_.get(), .certificate = signer_.get()}, {}));
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify());
  EXPECT_EQ(verified.signers[0].timestamp.state, TimestampState::kNone);
}

// Revoked an hour ago as superseded: a statement stamped a day ago stands;
// revoked for key compromise, it does not.
TEST_F(VerifierTimestampTest, ARevocationAfterTheStampCountsOnlyForAReasonThatReachesBack) {
  SignAndStamp(-absl::Hours(72), absl::Hours(24 * 10), -absl::Hours(24));
  pki::ValidationPolicy superseded =
      RevocationPolicy({.revoked = {{.certificate = signer_.get(), .reason = kSuperseded}}});
  ASSERT_OK_AND_ASSIGN(VerifiedMail verified, Verify(true, &superseded));
  ASSERT_FALSE(verified.signers[0].revocation.empty());
  EXPECT_EQ(verified.signers[0].revocation[0].state, pki::RevocationState::kGood);
  EXPECT_THAT(verified.signers[0].revocation[0].reason,
              HasSubstr("revoked after the time judged (superseded)"));

  pki::ValidationPolicy compromised =
      RevocationPolicy({.revoked = {{.certificate = signer_.get(), .reason = kKeyCompromise}}});
  ExpectFailure(Verify(true, &compromised), VerifyFailure::kRevoked);

  // Revoked (superseded) before the stamp: revoked at its time.
  pki::ValidationPolicy before =
      RevocationPolicy({.revoked = {{.certificate = signer_.get(),
                                     .reason = kSuperseded,
                                     .revoked_at = absl::Now() - absl::Hours(48)}}});
  ExpectFailure(Verify(true, &before), VerifyFailure::kRevoked);
}

}  // namespace
}  // namespace signet::cms
