// SignOwnedMail against SignMail (the flattened path) on SoftHSM2 token keys:
// the same signed entity for every body form, the canonical body left where
// it lies in the mail, and openssl accepting what it makes. BoundaryFor needs
// no token.
#include "appliance/cms/mail_signer.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "appliance/cms/mail_parts.h"
#include "appliance/cms/smime_format.h"
#include "appliance/cms/verifier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/provider_env.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;
using ::testing::HasSubstr;

using fixtures::ProviderEnv;

constexpr char kHeaders[] =
    "From: Statements <statements@bank.example>\r\n"
    "To: customer@example.org\r\n"
    "Subject: Your statement\r\n"
    "MIME-Version: 1.0\r\n";

struct Case {
  const char* name;
  std::string mail;
  // Whether the body is sent as it is (canonical already), so that the
  // result keeps it in the mail's buffer.
  bool in_place;
};

std::vector<Case> Cases() {
  const std::string nested =
      "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
      "\r\n"
      "--outer\r\n"
      "Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
      "\r\n"
      "--inner\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n\r\nBalance: 1,234.56 EUR\r\n"
      "--inner\r\n"
      "Content-Type: text/html; charset=us-ascii\r\n\r\n<p>Balance: 1,234.56 EUR</p>\r\n"
      "--inner--\r\n"
      "--outer\r\n"
      "Content-Type: message/rfc822\r\n\r\nSubject: attached\r\n\r\nold mail\r\n"
      "--outer--\r\n";
  std::string lines;
  for (int i = 0; i < 2000; ++i) absl::StrAppend(&lines, "Line ", i, " of the statement.\r\n");
  return {
      {"crlf text", absl::StrCat(kHeaders, "Content-Type: text/plain\r\n\r\n", lines), true},
      {"no content type", absl::StrCat(kHeaders, "\r\nBalance: 1,234.56 EUR\r\n"), true},
      {"lf text",
       absl::StrReplaceAll(absl::StrCat(kHeaders, "Content-Type: text/plain\r\n\r\n", lines),
                           {{"\r\n", "\n"}}),
       false},
      {"8-bit text",
       absl::StrCat(kHeaders, "Content-Type: text/plain; charset=utf-8\r\n\r\nK\xc3\xa4se\r\n"),
       false},
      {"binary attachment",
       absl::StrCat(kHeaders, "Content-Type: application/octet-stream\r\n\r\n",
                    std::string("\x00\x01\xff\r\x80", 5), "\r\n"),
       false},
      {"nested multipart", absl::StrCat(kHeaders, nested), true},
      {"nested multipart, lf",
       absl::StrReplaceAll(absl::StrCat(kHeaders, nested), {{"\r\n", "\n"}}), false},
      {"body holding boundary-like text",
       absl::StrCat(kHeaders, "Content-Type: text/plain\r\n\r\n--=_signet_\r\n=_signet_0123\r\n"),
       true},
  };
}

class MailSignerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<ProviderEnv>> env =
        ProviderEnv::Create({{.name = "p256", .id_hex = "02", .key_type = "EC:prime256v1"}});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
  }
  static void TearDownTestSuite() { delete env_; }

  CmsContext Context() const { return {.libctx = env_->libctx()}; }
  Signer SignerFor() const {
    return {.key = env_->key("p256"), .certificate = env_->certificate("p256")};
  }
  absl::StatusOr<VerifiedMail> Verify(absl::string_view mail) {
    absl::StatusOr<TrustStore> trust = TrustStore::FromCertificates({env_->ca().certificate()});
    if (!trust.ok()) return trust.status();
    return VerifyMail(Context(), mail, *trust);
  }

  static ProviderEnv* env_;
};

ProviderEnv* MailSignerTest::env_ = nullptr;

TEST_F(MailSignerTest, OwnedMailSignsAsTheFlattenedPathForEveryBodyForm) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<MailParts> parts = SplitMail(c.mail, Limits{});
    ASSERT_THAT(parts, IsOk());
    absl::StatusOr<std::string> flat = SignMail(Context(), c.mail, SignerFor(), {});
    ASSERT_THAT(flat, IsOk());

    std::string given = c.mail;
    const char* const begin = given.data();
    const char* const end = given.data() + given.size();
    absl::StatusOr<MailPieces> owned = SignOwnedMail(Context(), std::move(given), SignerFor(), {});
    ASSERT_THAT(owned, IsOk());
    bool in_mail = false;
    for (size_t i = 0; i < owned->piece_count(); ++i) {
      in_mail |= owned->piece(i).data() >= begin && owned->piece(i).data() < end;
    }
    EXPECT_EQ(in_mail, c.in_place);
    if (c.in_place) {
      // Head, the body where it lies, the signature part; the mail is held
      // once.
      EXPECT_EQ(owned->piece_count(), 3u);
      EXPECT_LT(owned->held_bytes(), c.mail.size() + 16384);
    } else {
      // One piece of its own; the mail was freed.
      EXPECT_EQ(owned->piece_count(), 1u);
      EXPECT_TRUE(owned->backing().empty());
    }
    const std::string signed_mail = std::move(*owned).Flatten();

    // Both verify, over the same entity, with the same outer fields; only
    // the boundary and the signature differ.
    for (const std::string* mail : std::vector<const std::string*>{&*flat, &signed_mail}) {
      absl::StatusOr<VerifiedMail> verified = Verify(*mail);
      ASSERT_THAT(verified, IsOk());
      EXPECT_EQ(verified->signed_entity, parts->entity);
      EXPECT_TRUE(absl::StartsWith(*mail, absl::StrCat(parts->outer_headers,
                                                       "MIME-Version: 1.0\r\n"
                                                       "Content-Type: multipart/signed;")));
    }
  }
}

TEST_F(MailSignerTest, OpensslVerifiesOwnedMailsAndRefusesThemChanged) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<MailParts> parts = SplitMail(c.mail, Limits{});
    ASSERT_THAT(parts, IsOk());
    absl::StatusOr<MailPieces> owned = SignOwnedMail(Context(), c.mail, SignerFor(), {});
    ASSERT_THAT(owned, IsOk());
    const std::string signed_mail = std::move(*owned).Flatten();
    std::string content;
    EXPECT_THAT(fixtures::OpensslSmimeVerify(signed_mail, env_->ca_path(), &content), IsOk());
    EXPECT_EQ(content, parts->entity);
    // One byte of the signed entity changed: the check above can fail.
    std::string changed = signed_mail;
    const size_t at = changed.find(parts->entity) + parts->entity.size() - 3;
    changed[at] = changed[at] == 'x' ? 'y' : 'x';
    EXPECT_EQ(fixtures::OpensslSmimeVerify(changed, env_->ca_path()).code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(MailSignerTest, OpaqueOwnedMailIsOnePieceAndFreesTheMail) {
  const std::string mail = Cases()[0].mail;
  absl::StatusOr<MailPieces> owned =
      SignOwnedMail(Context(), mail, SignerFor(), {.form = SignedForm::kOpaque});
  ASSERT_THAT(owned, IsOk());
  EXPECT_EQ(owned->piece_count(), 1u);
  EXPECT_TRUE(owned->backing().empty());
  const std::string signed_mail = std::move(*owned).Flatten();
  EXPECT_THAT(signed_mail, HasSubstr("smime-type=signed-data"));
  absl::StatusOr<VerifiedMail> verified = Verify(signed_mail);
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->opaque);
}

TEST_F(MailSignerTest, AnInvalidStructureIsRefusedInPiecesAsWhole) {
  // A multipart sent as it is, whose closing delimiter is missing.
  const std::string mail = absl::StrCat(
      kHeaders, "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nno end\r\n");
  absl::StatusOr<MailPieces> owned = SignOwnedMail(Context(), mail, SignerFor(), {});
  absl::StatusOr<std::string> flat = SignMail(Context(), mail, SignerFor(), {});
  EXPECT_EQ(owned.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(owned.status().message(), HasSubstr("no closing delimiter line"));
  EXPECT_EQ(owned.status(), flat.status());
}

TEST(BoundaryForTest, ACandidateTheEntityDoesNotHoldIsKept) {
  const std::vector<absl::string_view> entity = {"Content-Type: text/plain\r\n\r\n",
                                                 "=_signet_01\r\n"};
  EXPECT_EQ(BoundaryFor(entity, "=_signet_02"), "=_signet_02");
}

TEST(BoundaryForTest, ACandidateInAPieceOrAcrossAJoinIsReplaced) {
  const std::string candidate = "=_signet_0123456789abcdef0123456789abcdef";
  const std::string head = "Content-Type: text/plain\r\n\r\n";
  for (size_t cut = 0; cut <= candidate.size(); ++cut) {
    SCOPED_TRACE(cut);
    // The candidate's first `cut` bytes end one piece, the rest start the
    // next.
    const std::string first = absl::StrCat(head, candidate.substr(0, cut));
    const std::string second = absl::StrCat(candidate.substr(cut), "\r\n");
    const std::vector<absl::string_view> entity = {first, second};
    const std::string boundary = BoundaryFor(entity, candidate);
    EXPECT_NE(boundary, candidate);
    EXPECT_TRUE(absl::StartsWith(boundary, "=_signet_"));
    EXPECT_FALSE(absl::StrContains(absl::StrCat(first, second), boundary));
  }
}

}  // namespace
}  // namespace signet::cms
