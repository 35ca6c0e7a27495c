// Verification of mails Signet signed with token keys: what is reported, and
// every way a mail must be refused, each with its own failure kind.
#include "appliance/cms/verifier.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "appliance/cms/mail_signer.h"
#include "appliance/cms/signed_data.h"
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

TEST_F(VerifierTest, OwnedMailReportsTheEntityWhereItLiesInTheMail) {
  struct Form {
    const char* name;
    std::string mail;
    // The signed entity is canonical in the mail, so it is a span of it.
    bool in_mail;
  };
  const std::string detached = Sign("rsa");
  const Form forms[] = {
      {"multipart/signed, crlf", detached, true},
      {"multipart/signed, lf", absl::StrReplaceAll(detached, {{"\r\n", "\n"}}), false},
      {"opaque", Sign("rsa", SignedForm::kOpaque), false},
  };
  for (const Form& form : forms) {
    SCOPED_TRACE(form.name);
    absl::StatusOr<VerifiedMail> whole = Verify(form.mail);
    ASSERT_THAT(whole, IsOk());
    std::string given = form.mail;
    const char* const begin = given.data();
    const char* const end = given.data() + given.size();
    absl::StatusOr<VerifiedOwnedMail> owned =
        VerifyOwnedMail(Context(), std::move(given), *trust_, {});
    ASSERT_THAT(owned, IsOk());
    ASSERT_EQ(owned->signed_entity.piece_count(), 1u);
    const absl::string_view piece = owned->signed_entity.piece(0);
    EXPECT_EQ(piece.data() >= begin && piece.data() < end, form.in_mail);
    // Otherwise the mail is not kept.
    EXPECT_EQ(owned->signed_entity.backing().empty(), !form.in_mail);
    EXPECT_TRUE(owned->report.signed_entity.empty());
    EXPECT_EQ(owned->report.opaque, whole->opaque);
    ASSERT_EQ(owned->report.signers.size(), 1u);
    EXPECT_EQ(owned->report.signers[0].subject, whole->signers[0].subject);
    EXPECT_EQ(owned->report.from_address, whole->from_address);
    EXPECT_EQ(std::move(owned->signed_entity).Flatten(), kEntity);
  }
}

TEST_F(VerifierTest, OwnedMailIsRefusedAsTheWholeOne) {
  const std::string changed = absl::StrReplaceAll(Sign("rsa"), {{"3 transfers", "4 transfers"}});
  ExpectFailure(Verify(changed), VerifyFailure::kContentChanged);
  absl::StatusOr<VerifiedOwnedMail> owned = VerifyOwnedMail(Context(), changed, *trust_, {});
  ASSERT_THAT(owned, Not(IsOk()));
  EXPECT_EQ(VerifyFailureOf(owned.status()), VerifyFailure::kContentChanged);
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

// --- the sender check (RFC 8550 §3) ------------------------------------------

constexpr char kStatements[] = "statements@bank.example";

class SenderCheckTest : public VerifierTest {
 protected:
  // The rsa key with a certificate for `email` in its subjectAltName.
  Signer SignerWithAddress(const std::string& email, fixtures::IssueOptions options = {}) {
    absl::StatusOr<X509Ptr> certificate =
        env_->ca().Issue(env_->public_key("rsa"), "Bank statements", email, options);
    EXPECT_THAT(certificate, IsOk());
    if (!certificate.ok()) return {};
    certificates_.push_back(*std::move(certificate));
    return {.key = env_->key("rsa"), .certificate = certificates_.back().get()};
  }
  // kMail with its From: field replaced by `from_fields` (whole lines), signed
  // by statements@bank.example.
  std::string SignedWithFrom(const std::string& from_fields,
                             SignedForm form = SignedForm::kMultipartSigned) {
    const std::string mail = absl::StrReplaceAll(
        kMail, {{"From: Statements <statements@bank.example>\r\n", from_fields}});
    absl::StatusOr<std::string> signed_mail =
        SignMail(Context(), mail, SignerWithAddress(kStatements), {.form = form});
    EXPECT_THAT(signed_mail, IsOk());
    return signed_mail.value_or("");
  }
  // What the phishing case does: the outer From: rewritten after signing,
  // where no signature covers it.
  static std::string RewriteFrom(const std::string& signed_mail, const std::string& from_fields) {
    return absl::StrReplaceAll(signed_mail,
                               {{"From: Statements <statements@bank.example>\r\n", from_fields}});
  }
  void ExpectMatch(const std::string& mail) {
    absl::StatusOr<VerifiedMail> verified = Verify(mail, {.require_sender_match = true});
    ASSERT_THAT(verified, IsOk());
    ASSERT_EQ(verified->signers.size(), 1u);
    EXPECT_TRUE(verified->signers[0].from_matches_signer);
    EXPECT_EQ(verified->from_problem, "");
  }
  // Reported without the option, refused with it; `problem` is in both.
  void ExpectMismatch(const std::string& mail, const std::string& from_address,
                      const std::string& problem) {
    absl::StatusOr<VerifiedMail> verified = Verify(mail);
    ASSERT_THAT(verified, IsOk());
    ASSERT_EQ(verified->signers.size(), 1u);
    EXPECT_FALSE(verified->signers[0].from_matches_signer);
    EXPECT_EQ(verified->from_address, from_address);
    if (from_address.empty()) {
      EXPECT_THAT(verified->from_problem, HasSubstr(problem));
    }
    absl::StatusOr<VerifiedMail> refused = Verify(mail, {.require_sender_match = true});
    ExpectFailure(refused, VerifyFailure::kSenderMismatch);
    EXPECT_THAT(refused.status().message(), HasSubstr(problem));
    // The status reaches the call log, which never holds the mail's
    // addresses.
    if (!from_address.empty()) {
      EXPECT_THAT(refused.status().message(), Not(HasSubstr(from_address)));
    }
    EXPECT_THAT(refused.status().message(), Not(HasSubstr("evil")));
  }

  std::vector<X509Ptr> certificates_;
};

TEST_F(SenderCheckTest, TheSignersOwnFromMatchesInBothForms) {
  for (SignedForm form : {SignedForm::kMultipartSigned, SignedForm::kOpaque}) {
    const std::string mail = SignedWithFrom("From: Statements <statements@bank.example>\r\n", form);
    ExpectMatch(mail);
    absl::StatusOr<VerifiedMail> verified = Verify(mail);
    ASSERT_THAT(verified, IsOk());
    EXPECT_EQ(verified->from_address, kStatements);
  }
}

TEST_F(SenderCheckTest, ARewrittenFromIsReportedAndRefusedOnRequest) {
  for (SignedForm form : {SignedForm::kMultipartSigned, SignedForm::kOpaque}) {
    const std::string mail =
        RewriteFrom(SignedWithFrom("From: Statements <statements@bank.example>\r\n", form),
                    "From: Statements <support@evil.example>\r\n");
    ExpectMismatch(mail, "support@evil.example", "the certificate names statements@bank.example");
  }
}

TEST_F(SenderCheckTest, DisplayNamesAndEncodedWordsAreNeverTheAddress) {
  const std::string mail = SignedWithFrom("From: Statements <statements@bank.example>\r\n");
  // The display name, whatever it says, is not compared.
  ExpectMatch(RewriteFrom(mail, "From: \"Totally not the bank\" <statements@bank.example>\r\n"));
  ExpectMatch(
      RewriteFrom(mail, "From: =?utf-8?q?B=C3=A4nk?= (desk) <statements@bank.example>\r\n"));
  ExpectMatch(RewriteFrom(mail, "From: statements@bank.example (Statements)\r\n"));
  // The signer's address as a display name, quoted or encoded, does not make
  // another address the signer's.
  ExpectMismatch(RewriteFrom(mail, "From: \"statements@bank.example\" <support@evil.example>\r\n"),
                 "support@evil.example", "is not the signer's");
  ExpectMismatch(
      RewriteFrom(mail, "From: =?utf-8?q?statements=40bank=2Eexample?= <support@evil.example>\r\n"),
      "support@evil.example", "is not the signer's");
  // An encoded word where the address stands is not decoded into one.
  ExpectMismatch(RewriteFrom(mail, "From: =?utf-8?q?statements@bank.example?=\r\n"),
                 "=?utf-8?q?statements@bank.example?=", "is not the signer's");
  // Nor is a quoted local part that holds the address.
  ExpectMismatch(RewriteFrom(mail, "From: \"statements@bank.example\"@evil.example\r\n"),
                 "\"statements@bank.example\"@evil.example", "is not the signer's");
}

TEST_F(SenderCheckTest, CaseIsIgnoredInTheWholeAddress) {
  const std::string mail = SignedWithFrom("From: Statements <statements@bank.example>\r\n");
  ExpectMatch(RewriteFrom(mail, "From: <statements@BANK.Example>\r\n"));
  ExpectMatch(RewriteFrom(mail, "From: Statements <STATEMENTS@bank.example>\r\n"));
  ExpectMatch(RewriteFrom(mail, "From: \"Statements\"@Bank.Example\r\n"));
  // ... and in the certificate's address.
  absl::StatusOr<std::string> upper =
      SignMail(Context(), kMail, SignerWithAddress("Statements@BANK.example"), {});
  ASSERT_THAT(upper, IsOk());
  ExpectMatch(*upper);
  // Case is all that is ignored.
  ExpectMismatch(RewriteFrom(mail, "From: <statement@bank.example>\r\n"), "statement@bank.example",
                 "is not the signer's");
  ExpectMismatch(RewriteFrom(mail, "From: <statements@bank.example.evil.example>\r\n"),
                 "statements@bank.example.evil.example", "is not the signer's");
}

TEST_F(SenderCheckTest, TwoFromFieldsOrAuthorsAreAmbiguous) {
  const std::string mail = SignedWithFrom("From: Statements <statements@bank.example>\r\n");
  ExpectMismatch(RewriteFrom(mail,
                             "From: Statements <statements@bank.example>\r\n"
                             "To: customer@example.org\r\n"
                             "from: Support <support@evil.example>\r\n"),
                 "", "the mail has 2 From: fields");
  // Even when both name the signer: which one a client shows is not known.
  ExpectMismatch(RewriteFrom(mail,
                             "From: statements@bank.example\r\n"
                             "From: statements@bank.example\r\n"),
                 "", "the mail has 2 From: fields");
  // RFC 5322 allows several authors (with a Sender:), but the signer can
  // vouch for one.
  ExpectMismatch(RewriteFrom(mail,
                             "From: statements@bank.example, support@evil.example\r\n"
                             "Sender: statements@bank.example\r\n"),
                 "", "the From: field names 2 authors");
}

TEST_F(SenderCheckTest, AnUnreadableFromIsNotGuessedAt) {
  const std::string mail = SignedWithFrom("From: Statements <statements@bank.example>\r\n");
  for (const char* from : {
           "From: Bank: statements@bank.example;\r\n",            // a group
           "From: statements@bank.example <x@evil.example>\r\n",  // text before '<' unquoted
           "From: B\xC3\xA4nk <statements@bank.example>\r\n",     // 8-bit
           "From: <statements@bank.example\r\n",                  // unterminated
           "From:\r\n",
       }) {
    SCOPED_TRACE(from);
    ExpectMismatch(RewriteFrom(mail, from), "", "not a mailbox list Signet can read");
  }
}

TEST_F(SenderCheckTest, OnlyTheOuterHeaderCounts) {
  // The signer's address only in the signed entity's own header fields (as
  // header protection puts them) under an outer From: of someone else.
  const std::string entity =
      "From: Statements <statements@bank.example>\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n"
      "\r\n"
      "Balance on 27 November: 1,234.56 EUR after 3 transfers.\r\n";
  const Signer signer = SignerWithAddress(kStatements);
  absl::StatusOr<std::string> der = SignDetached(Context(), entity, signer, {});
  ASSERT_THAT(der, IsOk());
  const std::string detached = MultipartSignedEntity(entity, *der, DigestAlgorithm::kSha256);
  ExpectMismatch("From: Support <support@evil.example>\r\n" + detached, "support@evil.example",
                 "is not the signer's");
  // With no outer From: at all, the inner one does not stand in for it.
  ExpectMismatch(detached, "", "the mail has no From: field");

  // Nor in an attached message, opaque or not.
  const std::string attached_message =
      "Content-Type: message/rfc822\r\n"
      "\r\n"
      "From: Statements <statements@bank.example>\r\n"
      "Subject: Your statement\r\n"
      "\r\n"
      "Balance on 27 November: 1,234.56 EUR.\r\n";
  for (SignedForm form : {SignedForm::kMultipartSigned, SignedForm::kOpaque}) {
    absl::StatusOr<std::string> signed_entity =
        SignMail(Context(), attached_message, signer, {.form = form});
    ASSERT_THAT(signed_entity, IsOk());
    ExpectMismatch(*signed_entity, "", "the mail has no From: field");
    ExpectMismatch("From: support@evil.example\r\n" + *signed_entity, "support@evil.example",
                   "is not the signer's");
  }
}

TEST_F(SenderCheckTest, ASenderFieldDoesNotStandInForTheFrom) {
  const std::string mail = SignedWithFrom("From: Statements <statements@bank.example>\r\n");
  ExpectMismatch(RewriteFrom(mail,
                             "From: Support <support@evil.example>\r\n"
                             "Sender: statements@bank.example\r\n"),
                 "support@evil.example", "is not the signer's");
}

TEST_F(SenderCheckTest, TheSubjectsEmailAddressAttributeCounts) {
  // Only in the subject DN, as older CAs wrote it.
  absl::StatusOr<std::string> mail =
      SignMail(Context(), kMail, SignerWithAddress("", {.subject_email_address = kStatements}), {});
  ASSERT_THAT(mail, IsOk());
  ExpectMatch(*mail);
  absl::StatusOr<VerifiedMail> verified = Verify(*mail);
  ASSERT_THAT(verified, IsOk());
  EXPECT_THAT(verified->signers[0].email_addresses, ElementsAre(kStatements));
}

TEST_F(SenderCheckTest, ACertificateWithoutAddressMatchesNoFrom) {
  absl::StatusOr<std::string> mail = SignMail(Context(), kMail, SignerWithAddress(""), {});
  ASSERT_THAT(mail, IsOk());
  ExpectMismatch(*mail, kStatements, "certificate names no e-mail address");
}

TEST_F(SenderCheckTest, ChainFailuresComeFirst) {
  absl::StatusOr<fixtures::TestCa> other = fixtures::TestCa::Create("Another CA");
  ASSERT_THAT(other, IsOk());
  absl::StatusOr<TrustStore> trust = TrustStore::FromCertificates({other->certificate()});
  ASSERT_THAT(trust, IsOk());
  const std::string mail =
      RewriteFrom(SignedWithFrom("From: Statements <statements@bank.example>\r\n"),
                  "From: support@evil.example\r\n");
  ExpectFailure(VerifyMail(Context(), mail, *trust, {.require_sender_match = true}),
                VerifyFailure::kUntrustedSigner);
  // An untrusted signer's address is still compared; a match from it proves
  // nothing, which is why the report keeps chain_status beside it.
  absl::StatusOr<VerifiedMail> verified =
      VerifyMail(Context(), SignedWithFrom("From: statements@bank.example\r\n"), *trust,
                 {.require_trusted_chain = false, .require_sender_match = true});
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->signers[0].from_matches_signer);
  EXPECT_EQ(verified->signers[0].chain_status, ChainStatus::kUntrusted);
}

}  // namespace
}  // namespace signet::cms
