// Verification of mails Signet signed with token keys: what is reported, and
// every way a mail must be refused, each with its own failure kind.
#include "appliance/cms/verifier.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "appliance/cms/mail_signer.h"
#include "appliance/cms/smime_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/provider_env.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

using fixtures::ProviderEnv;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kMail[] =
    "From: Statements <statements@bank.example>\r\n"
    "To: customer@example.org\r\n"
    "Subject: Your statement\r\n"
    "Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
    "Message-ID: <statement-1@bank.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Balance on 27 November: 1,234.56 EUR after 3 transfers.\r\n";

class VerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<ProviderEnv>> env =
        ProviderEnv::Create({{.name = "rsa", .id_hex = "01", .key_type = "rsa:2048"},
                             {.name = "p256", .id_hex = "02", .key_type = "EC:prime256v1"}});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
  }
  static void TearDownTestSuite() { delete env_; }

  void SetUp() override {
    absl::StatusOr<TrustStore> trust = TrustStore::FromCertificates({env_->ca().certificate()});
    ASSERT_THAT(trust, IsOk());
    trust_ = std::make_unique<TrustStore>(std::move(*trust));
  }

  CmsContext Context() const { return {.libctx = env_->libctx()}; }
  Signer SignerFor(const std::string& name) const {
    return {.key = env_->key(name), .certificate = env_->certificate(name)};
  }
  std::string Sign(const std::string& name, SignedForm form = SignedForm::kMultipartSigned,
                   const Signer* signer = nullptr) {
    absl::StatusOr<std::string> mail =
        SignMail(Context(), kMail, signer ? *signer : SignerFor(name), {.form = form});
    EXPECT_THAT(mail, IsOk());
    return mail.value_or("");
  }
  absl::StatusOr<VerifiedMail> Verify(absl::string_view mail, VerifyOptions options = {}) {
    return VerifyMail(Context(), mail, *trust_, options);
  }
  static void ExpectFailure(const absl::StatusOr<VerifiedMail>& result, VerifyFailure failure) {
    ASSERT_THAT(result, Not(IsOk()));
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(VerifyFailureOf(result.status()), failure) << result.status();
  }

  static ProviderEnv* env_;
  std::unique_ptr<TrustStore> trust_;
};

ProviderEnv* VerifierTest::env_ = nullptr;

constexpr char kEntity[] =
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Balance on 27 November: 1,234.56 EUR after 3 transfers.\r\n";

TEST_F(VerifierTest, ReportsTheSignerAndExactlyTheSignedEntity) {
  for (SignedForm form : {SignedForm::kMultipartSigned, SignedForm::kOpaque}) {
    const absl::Time before = absl::Now() - absl::Seconds(1);
    std::string mail = Sign("rsa", form);
    absl::StatusOr<VerifiedMail> verified = Verify(mail);
    ASSERT_THAT(verified, IsOk());
    EXPECT_EQ(verified->signed_entity, kEntity);
    EXPECT_EQ(verified->opaque, form == SignedForm::kOpaque);
    ASSERT_EQ(verified->signers.size(), 1u);
    const SignerReport& signer = verified->signers[0];
    EXPECT_EQ(signer.subject, "CN=Signet test rsa");
    EXPECT_THAT(signer.email_addresses, ElementsAre("rsa@bank.example"));
    EXPECT_EQ(signer.chain_status, ChainStatus::kTrusted);
    EXPECT_THAT(signer.chain, ElementsAre("CN=Signet test rsa", "CN=Signet Test CA"));
    ASSERT_TRUE(signer.signing_time.has_value());
    EXPECT_GE(*signer.signing_time, before - absl::Seconds(1));
    EXPECT_LE(*signer.signing_time, absl::Now());
    EXPECT_EQ(signer.digest_algorithm, "SHA256");
  }
}

TEST_F(VerifierTest, EcdsaSignatureVerifies) {
  absl::StatusOr<VerifiedMail> verified = Verify(Sign("p256"));
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(verified->signers[0].signature_algorithm, "ecdsa-with-SHA256");
}

TEST_F(VerifierTest, TextAroundTheSignedPartIsNotReportedAsSigned) {
  std::string mail = Sign("rsa");
  // A preamble and an epilogue are outside the signature; so are the
  // message's own header fields.
  mail = absl::StrReplaceAll(
      mail, {{"This is an S/MIME signed message.", "Pay 1,000 EUR to account 666 today."}});
  mail += "Epilogue: also pay 2,000 EUR.\r\n";
  absl::StatusOr<VerifiedMail> verified = Verify(mail);
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(verified->signed_entity, kEntity);
  EXPECT_THAT(verified->signed_entity, ::testing::Not(HasSubstr("666")));
  EXPECT_THAT(verified->signed_entity, ::testing::Not(HasSubstr("Subject")));
}

TEST_F(VerifierTest, LfLineEndingsAreCanonicalizedBeforeVerifying) {
  // A mail stored on a Unix system has lost its CRs.
  std::string mail = absl::StrReplaceAll(Sign("rsa"), {{"\r\n", "\n"}});
  absl::StatusOr<VerifiedMail> verified = Verify(mail);
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(verified->signed_entity, kEntity);
}

TEST_F(VerifierTest, TamperedBodyIsRefused) {
  for (SignedForm form : {SignedForm::kMultipartSigned, SignedForm::kOpaque}) {
    std::string mail = Sign("rsa", form);
    if (form == SignedForm::kMultipartSigned) {
      mail = absl::StrReplaceAll(mail, {{"3 transfers", "4 transfers"}});
      ExpectFailure(Verify(mail), VerifyFailure::kContentChanged);
    } else {
      // The content is inside the SignedData: change it there.
      absl::StatusOr<std::string> der = SignAttached(Context(), kEntity, SignerFor("rsa"), {});
      ASSERT_THAT(der, IsOk());
      const size_t at = der->find("3 transfers");
      ASSERT_NE(at, std::string::npos);
      (*der)[at] = '4';
      ExpectFailure(Verify(Pkcs7MimeEntity(*der, SmimeType::kSignedData)),
                    VerifyFailure::kContentChanged);
    }
  }
}

TEST_F(VerifierTest, TamperedSignatureIsRefused) {
  for (const char* key : {"rsa", "p256"}) {
    SCOPED_TRACE(key);
    absl::StatusOr<std::string> der = SignDetached(Context(), kEntity, SignerFor(key), {});
    ASSERT_THAT(der, IsOk());
    // Without unsigned attributes the signature value ends the structure.
    der->back() ^= 0x01;
    ExpectFailure(Verify(MultipartSignedEntity(kEntity, *der, DigestAlgorithm::kSha256)),
                  VerifyFailure::kBadSignature);
  }
}

TEST_F(VerifierTest, WrongTrustAnchorIsRefused) {
  absl::StatusOr<fixtures::TestCa> other = fixtures::TestCa::Create("Another CA");
  ASSERT_THAT(other, IsOk());
  absl::StatusOr<TrustStore> trust = TrustStore::FromCertificates({other->certificate()});
  ASSERT_THAT(trust, IsOk());
  absl::StatusOr<VerifiedMail> result = VerifyMail(Context(), Sign("rsa"), *trust, {});
  ExpectFailure(result, VerifyFailure::kUntrustedSigner);
  EXPECT_THAT(result.status().message(), HasSubstr("unable to get local issuer certificate"));

  // Asked to, the verifier reports the valid signature of an untrusted signer.
  result = VerifyMail(Context(), Sign("rsa"), *trust, {.require_trusted_chain = false});
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->signers[0].chain_status, ChainStatus::kUntrusted);
  EXPECT_THAT(result->signers[0].chain_detail, HasSubstr("local issuer"));
}

TEST_F(VerifierTest, ExpiredAndNotYetValidSignersAreRefused) {
  const struct {
    fixtures::IssueOptions options;
    VerifyFailure failure;
  } cases[] = {
      {{.validity = absl::Hours(24), .not_before_offset = -absl::Hours(48)},
       VerifyFailure::kExpiredSigner},
      {{.not_before_offset = absl::Hours(24)}, VerifyFailure::kSignerNotYetValid},
  };
  for (const auto& c : cases) {
    absl::StatusOr<X509Ptr> certificate =
        env_->ca().Issue(env_->public_key("rsa"), "Old signer", "old@bank.example", c.options);
    ASSERT_THAT(certificate, IsOk());
    Signer signer{.key = env_->key("rsa"), .certificate = certificate->get()};
    ExpectFailure(Verify(Sign("rsa", SignedForm::kMultipartSigned, &signer)), c.failure);
  }
  // At a time when it was valid, the expired signer's mail verifies.
  absl::StatusOr<X509Ptr> certificate =
      env_->ca().Issue(env_->public_key("rsa"), "Old signer", "old@bank.example",
                       {.validity = absl::Hours(24), .not_before_offset = -absl::Hours(48)});
  ASSERT_THAT(certificate, IsOk());
  Signer signer{.key = env_->key("rsa"), .certificate = certificate->get()};
  EXPECT_THAT(Verify(Sign("rsa", SignedForm::kMultipartSigned, &signer),
                     {.at = absl::Now() - absl::Hours(36)}),
              IsOk());
}

TEST_F(VerifierTest, CertificateNotForSigningIsRefused) {
  absl::StatusOr<X509Ptr> certificate = env_->ca().Issue(
      env_->public_key("rsa"), "Encryption only", "enc@bank.example", {.for_encryption = true});
  ASSERT_THAT(certificate, IsOk());
  Signer signer{.key = env_->key("rsa"), .certificate = certificate->get()};
  ExpectFailure(Verify(Sign("rsa", SignedForm::kMultipartSigned, &signer)),
                VerifyFailure::kWrongPurpose);
}

TEST_F(VerifierTest, DetachedSignatureCarryingContentIsRefused) {
  // The signature part holds a valid signature over other content, inside
  // it: a naive verifier would verify that and show the first part.
  absl::StatusOr<std::string> attached = SignAttached(
      Context(), "Content-Type: text/plain\r\n\r\nsomething else\r\n", SignerFor("rsa"), {});
  ASSERT_THAT(attached, IsOk());
  ExpectFailure(Verify(MultipartSignedEntity(kEntity, *attached, DigestAlgorithm::kSha256)),
                VerifyFailure::kEmbeddedContentInDetached);
}

TEST_F(VerifierTest, UnsignedAndMalformedMailsAreRefused) {
  ExpectFailure(Verify(kMail), VerifyFailure::kNotSigned);
  std::string mail = Sign("rsa");
  // Cut inside the signature's base64.
  ExpectFailure(Verify(mail.substr(0, mail.size() - 200)), VerifyFailure::kMalformed);
  // Garbage instead of a signature.
  absl::StatusOr<VerifiedMail> garbage =
      Verify(MultipartSignedEntity(kEntity, "not a CMS structure", DigestAlgorithm::kSha256));
  ExpectFailure(garbage, VerifyFailure::kMalformed);
}

TEST_F(VerifierTest, MailOverTheSizeLimitIsRefusedBeforeParsing) {
  CmsContext context = Context();
  context.limits.max_message_bytes = 1024;
  std::string mail = Sign("rsa") + std::string(2048, 'x');
  absl::StatusOr<VerifiedMail> result = VerifyMail(context, mail, *trust_, {});
  ExpectFailure(result, VerifyFailure::kMalformed);
  EXPECT_THAT(result.status().message(), HasSubstr("over the limit of 1024 bytes"));
}

TEST_F(VerifierTest, NestingAThousandDeepIsRefused) {
  // 1000 multiparts inside each other as the signed part.
  std::string entity = "Content-Type: text/plain\r\n\r\ninnermost\r\n";
  for (int i = 0; i < 1000; ++i) {
    const std::string boundary = absl::StrCat("b", i);
    entity = absl::StrCat("Content-Type: multipart/mixed; boundary=\"", boundary, "\"\r\n\r\n--",
                          boundary, "\r\n", entity, "\r\n--", boundary, "--\r\n");
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> signed_mail = SignMail(Context(), entity, SignerFor("rsa"), {});
  EXPECT_EQ(signed_mail.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(signed_mail.status().message(), HasSubstr("nesting deeper than 32"));
  // Signed anyway (as SignDetached does not look inside), then verified.
  absl::StatusOr<std::string> der = SignDetached(Context(), entity, SignerFor("rsa"), {});
  ASSERT_THAT(der, IsOk());
  absl::StatusOr<VerifiedMail> result =
      Verify(MultipartSignedEntity(entity, *der, DigestAlgorithm::kSha256));
  ExpectFailure(result, VerifyFailure::kMalformed);
  EXPECT_THAT(result.status().message(), HasSubstr("nesting deeper than 32"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "refused quickly";
}

TEST_F(VerifierTest, AsnOneNestingAThousandDeepIsRefused) {
  // A CMS "structure" of 1000 nested SEQUENCEs.
  std::string der;
  for (int i = 0; i < 1000; ++i) der = "\x30\x80" + der + std::string(2, '\0');
  absl::StatusOr<VerifiedMail> result = Verify(Pkcs7MimeEntity(der, SmimeType::kSignedData));
  ExpectFailure(result, VerifyFailure::kMalformed);
  EXPECT_THAT(result.status().message(), HasSubstr("ASN.1 nesting deeper than 48"));
}

}  // namespace
}  // namespace signet::cms
