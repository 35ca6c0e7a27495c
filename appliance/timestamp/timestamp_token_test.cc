// VerifyTimestampToken on tokens the real `openssl ts -reply` made: each
// verdict, from valid to every way a token can fail.
#include "appliance/timestamp/timestamp_token.h"

#include <openssl/ts.h>

#include "absl/strings/str_cat.h"
#include "common/der.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_pki.h"
#include "tests/fixtures/tsa_responder.h"

namespace signet::timestamp {
namespace {

using ::testing::HasSubstr;

constexpr char kData[] = "the signature value of some mail";

// The TimeStampToken of a TimeStampResp.
absl::StatusOr<std::string> TokenOf(const std::string& reply) {
  const auto* cursor = reinterpret_cast<const unsigned char*>(reply.data());
  TsRespPtr response(d2i_TS_RESP(nullptr, &cursor, static_cast<long>(reply.size())));
  if (!response || TS_RESP_get_token(response.get()) == nullptr) {
    return absl::InternalError("the reply carries no token");
  }
  std::string der = DerOf<PKCS7, i2d_PKCS7>(TS_RESP_get_token(response.get()));
  if (der.empty()) return absl::InternalError("cannot encode the token");
  return der;
}

class TimestampTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(ca_, fixtures::TestCa::Create("Signet TSA Root"));
    ASSERT_OK_AND_ASSIGN(tsa_key_, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(tsa_, ca_->Issue(tsa_key_.get(), "Test TSA", "",
                                          {.extended_key_usage = "critical,timeStamping"}));
  }

  // A token over `data` from an openssl TSA with these options (the signer
  // is tsa_ unless they say otherwise).
  absl::StatusOr<std::string> Token(absl::string_view data,
                                    fixtures::TsaResponderOptions options = {}) {
    if (options.signer == nullptr) {
      options.signer = tsa_.get();
      options.signer_key = tsa_key_.get();
    }
    ASSIGN_OR_RETURN(auto responder, fixtures::TsaResponder::Start(options));
    ASSIGN_OR_RETURN(std::string request, fixtures::MakeTimestampRequest(data));
    ASSIGN_OR_RETURN(std::string reply, responder->Reply(request));
    return TokenOf(reply);
  }

  TokenVerification Verify(absl::string_view token, absl::string_view data,
                           const TokenVerifyOptions& options = {}) {
    absl::StatusOr<TokenVerification> verification =
        VerifyTimestampToken(token, data, {ca_->certificate()}, options);
    EXPECT_TRUE(verification.ok()) << verification.status();
    return verification.value_or(TokenVerification{});
  }

  std::optional<fixtures::TestCa> ca_;
  EvpPkeyPtr tsa_key_;
  X509Ptr tsa_;
};

TEST_F(TimestampTokenTest, AGoodTokenIsValidAndSaysWhatItIs) {
  ASSERT_OK_AND_ASSIGN(std::string token, Token(kData));
  TokenVerification verification = Verify(token, kData);
  EXPECT_EQ(verification.status, TokenStatus::kValid) << verification.problem;
  EXPECT_TRUE(verification.problem.empty());
  EXPECT_EQ(verification.facts.token_der, token);
  EXPECT_EQ(verification.facts.policy_oid, fixtures::kTsaDefaultPolicy);
  EXPECT_THAT(verification.facts.serial_hex, ::testing::MatchesRegex("[0-9A-F]+"));
  EXPECT_THAT(verification.facts.tsa_name, HasSubstr("CN=Test TSA"));
  EXPECT_EQ(verification.facts.digest, ImprintDigest::kSha256);
  EXPECT_GT(verification.facts.gen_time, absl::Now() - fixtures::kValidityMargin);
  EXPECT_LT(verification.facts.gen_time, absl::Now() + fixtures::kValidityMargin);
}

TEST_F(TimestampTokenTest, OtherDataIsNotWhatWasStamped) {
  ASSERT_OK_AND_ASSIGN(std::string token, Token(kData));
  TokenVerification verification = Verify(token, "other data");
  EXPECT_EQ(verification.status, TokenStatus::kOtherData);
  EXPECT_EQ(verification.problem, "the stamp is over other data");
  // The facts are still read.
  EXPECT_EQ(verification.facts.policy_oid, fixtures::kTsaDefaultPolicy);
}

TEST_F(TimestampTokenTest, ATamperedSignatureIsBad) {
  ASSERT_OK_AND_ASSIGN(std::string token, Token(kData));
  // The signature value is the token's last element.
  token.back() ^= 0x01;
  TokenVerification verification = Verify(token, kData);
  EXPECT_EQ(verification.status, TokenStatus::kBadSignature) << verification.problem;
}

TEST_F(TimestampTokenTest, ATamperedTstInfoIsBad) {
  ASSERT_OK_AND_ASSIGN(std::string token, Token(kData));
  // The policy OID's last arc, inside the signed TSTInfo: ...3161.1 becomes
  // ...3161.2, a policy the TSA has as well.
  ASSERT_OK_AND_ASSIGN(Asn1ObjectPtr policy, ([]() -> absl::StatusOr<Asn1ObjectPtr> {
                         Asn1ObjectPtr object(OBJ_txt2obj(fixtures::kTsaDefaultPolicy, 1));
                         if (!object) return absl::InternalError("policy");
                         return object;
                       }()));
  const std::string encoded(reinterpret_cast<const char*>(OBJ_get0_data(policy.get())),
                            OBJ_length(policy.get()));
  const size_t at = token.find(encoded);
  ASSERT_NE(at, std::string::npos);
  token[at + encoded.size() - 1] = 0x02;
  TokenVerification verification = Verify(token, kData);
  EXPECT_EQ(verification.status, TokenStatus::kBadSignature) << verification.problem;
  EXPECT_EQ(verification.facts.policy_oid, fixtures::kTsaOtherPolicy);
}

TEST_F(TimestampTokenTest, ATsaOfAnotherCaIsUntrusted) {
  ASSERT_OK_AND_ASSIGN(fixtures::TestCa other_ca, fixtures::TestCa::Create("Other TSA Root"));
  ASSERT_OK_AND_ASSIGN(X509Ptr other_tsa,
                       other_ca.Issue(tsa_key_.get(), "Test TSA", "",
                                      {.extended_key_usage = "critical,timeStamping"}));
  ASSERT_OK_AND_ASSIGN(std::string token,
                       Token(kData, {.signer = other_tsa.get(), .signer_key = tsa_key_.get()}));
  TokenVerification verification = Verify(token, kData);
  EXPECT_EQ(verification.status, TokenStatus::kUntrustedTsa);
  EXPECT_THAT(verification.problem, HasSubstr("not trusted"));
}

TEST_F(TimestampTokenTest, ATsaCertificateNotYetValidAtGenTimeIsUntrusted) {
  // A TSA certificate valid only from an hour after the stamp: the TSA
  // signed before it could.
  ASSERT_OK_AND_ASSIGN(X509Ptr early, ca_->Issue(tsa_key_.get(), "Test TSA", "",
                                                 {.not_before_offset = absl::Hours(1),
                                                  .extended_key_usage = "critical,timeStamping"}));
  ASSERT_OK_AND_ASSIGN(std::string token,
                       Token(kData, {.signer = early.get(), .signer_key = tsa_key_.get()}));
  TokenVerification verification = Verify(token, kData);
  EXPECT_EQ(verification.status, TokenStatus::kUntrustedTsa);
  EXPECT_THAT(verification.problem, HasSubstr("not yet valid"));
}

TEST_F(TimestampTokenTest, AStampMadeWhileTheTsaCertificateWasValidStaysValid) {
  // Expired a day ago; the stamp is from a day and a half ago.
  ASSERT_OK_AND_ASSIGN(X509Ptr expired,
                       ca_->Issue(tsa_key_.get(), "Test TSA", "",
                                  {.validity = absl::Hours(24),
                                   .not_before_offset = -absl::Hours(48),
                                   .extended_key_usage = "critical,timeStamping"}));
  ASSERT_OK_AND_ASSIGN(std::string old_stamp,
                       Token(kData, {.resign_certificate = expired.get(),
                                     .resign_key = tsa_key_.get(),
                                     .resign_gen_time_offset = -absl::Hours(36)}));
  TokenVerification verification = Verify(old_stamp, kData);
  EXPECT_EQ(verification.status, TokenStatus::kValid) << verification.problem;
  EXPECT_LT(verification.facts.gen_time, absl::Now() - absl::Hours(35));

  // A stamp of today from that certificate is not.
  ASSERT_OK_AND_ASSIGN(std::string new_stamp, Token(kData, {.resign_certificate = expired.get(),
                                                            .resign_key = tsa_key_.get()}));
  verification = Verify(new_stamp, kData);
  EXPECT_EQ(verification.status, TokenStatus::kUntrustedTsa);
  EXPECT_THAT(verification.problem, HasSubstr("expired"));
}

TEST_F(TimestampTokenTest, ANonCriticalTimestampingUsageIsRefused) {
  ASSERT_OK_AND_ASSIGN(X509Ptr lax, ca_->Issue(tsa_key_.get(), "Test TSA", "",
                                               {.extended_key_usage = "timeStamping"}));
  ASSERT_OK_AND_ASSIGN(std::string token, Token(kData, {.resign_certificate = lax.get(),
                                                        .resign_key = tsa_key_.get()}));
  TokenVerification verification = Verify(token, kData);
  EXPECT_EQ(verification.status, TokenStatus::kNotTimestampingCertificate);
  EXPECT_THAT(verification.problem, HasSubstr("not marked critical"));
}

TEST_F(TimestampTokenTest, AnotherUsageBesideTimestampingIsRefused) {
  ASSERT_OK_AND_ASSIGN(X509Ptr wide,
                       ca_->Issue(tsa_key_.get(), "Test TSA", "",
                                  {.extended_key_usage = "critical,timeStamping,emailProtection"}));
  ASSERT_OK_AND_ASSIGN(std::string token, Token(kData, {.resign_certificate = wide.get(),
                                                        .resign_key = tsa_key_.get()}));
  TokenVerification verification = Verify(token, kData);
  EXPECT_EQ(verification.status, TokenStatus::kNotTimestampingCertificate);
}

TEST_F(TimestampTokenTest, ATokenWithoutEssSigningCertificateIsRefused) {
  // RFC 3161 section 2.4.1 (and RFC 5816): the token names its signer's
  // certificate in a signed attribute, so that a certificate swapped in
  // (same key, other constraints) is noticed.
  ASSERT_OK_AND_ASSIGN(std::string token, Token(kData, {.resign_certificate = tsa_.get(),
                                                        .resign_key = tsa_key_.get(),
                                                        .resign_with_ess = false}));
  TokenVerification verification = Verify(token, kData);
  EXPECT_EQ(verification.status, TokenStatus::kSigningCertificateMismatch) << verification.problem;
  // The same re-signing with the attribute passes.
  ASSERT_OK_AND_ASSIGN(std::string control, Token(kData, {.resign_certificate = tsa_.get(),
                                                          .resign_key = tsa_key_.get()}));
  EXPECT_EQ(Verify(control, kData).status, TokenStatus::kValid);
}

TEST_F(TimestampTokenTest, ACertificateSwappedInForTheOneEssNamesIsRefused) {
  // A twin of tsa_ (same key and name, another serial) signs; the token
  // carries tsa_ too, and its SignerInfo's sid (which no signature covers)
  // is changed to name tsa_. The signature still verifies with tsa_'s key;
  // only the ESS signingCertificateV2, which names the twin, tells.
  X509Ptr twin;
  for (int attempt = 0; attempt < 16; ++attempt) {
    ASSERT_OK_AND_ASSIGN(twin, ca_->Issue(tsa_key_.get(), "Test TSA", "",
                                          {.extended_key_usage = "critical,timeStamping"}));
    if (ASN1_STRING_length(X509_get0_serialNumber(twin.get())) ==
        ASN1_STRING_length(X509_get0_serialNumber(tsa_.get()))) {
      break;
    }
  }
  auto serial_bytes = [](X509* certificate) {
    const ASN1_INTEGER* serial = X509_get0_serialNumber(certificate);
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial)),
                       static_cast<size_t>(ASN1_STRING_length(serial)));
  };
  const std::string twin_serial = serial_bytes(twin.get());
  const std::string tsa_serial = serial_bytes(tsa_.get());
  ASSERT_EQ(twin_serial.size(), tsa_serial.size());
  ASSERT_OK_AND_ASSIGN(std::string token, Token(kData, {.chain = {tsa_.get()},
                                                        .resign_certificate = twin.get(),
                                                        .resign_key = tsa_key_.get()}));
  ASSERT_EQ(Verify(token, kData).status, TokenStatus::kValid);
  // The SignerInfo is the token's last element.
  const size_t sid = token.rfind(twin_serial);
  ASSERT_NE(sid, std::string::npos);
  token.replace(sid, twin_serial.size(), tsa_serial);
  TokenVerification verification = Verify(token, kData);
  EXPECT_EQ(verification.status, TokenStatus::kSigningCertificateMismatch) << verification.problem;
}

TEST_F(TimestampTokenTest, RequestBoundChecks) {
  ASSERT_OK_AND_ASSIGN(std::string token, Token(kData));
  EXPECT_EQ(Verify(token, kData, {.nonce = 42}).status, TokenStatus::kNonceMismatch);
  EXPECT_EQ(Verify(token, kData, {.policy_oid = fixtures::kTsaOtherPolicy}).status,
            TokenStatus::kPolicyMismatch);
  EXPECT_EQ(Verify(token, kData, {.digest = ImprintDigest::kSha512}).status,
            TokenStatus::kOtherData);
  EXPECT_EQ(Verify(token, kData, {.policy_oid = fixtures::kTsaDefaultPolicy}).status,
            TokenStatus::kValid);
}

TEST_F(TimestampTokenTest, NotATokenIsMalformed) {
  EXPECT_EQ(Verify("", kData).status, TokenStatus::kMalformed);
  EXPECT_EQ(Verify("not DER at all", kData).status, TokenStatus::kMalformed);
  ASSERT_OK_AND_ASSIGN(std::string token, Token(kData));
  EXPECT_EQ(Verify(token + "x", kData).status, TokenStatus::kMalformed);
  EXPECT_EQ(Verify(token.substr(0, token.size() / 2), kData).status, TokenStatus::kMalformed);
}

}  // namespace
}  // namespace signet::timestamp
