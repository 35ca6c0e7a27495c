#include "appliance/cms/mail_encryptor.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/mail_parts.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/smime_format.h"
#include "common/der.h"
#include "common/ossl_ptr.h"
#include "gtest/gtest.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;

constexpr char kHeaders[] =
    "From: Statements <statements@bank.example>\r\n"
    "To: customer@example.org\r\n"
    "Subject: Your statement\r\n";

// A text body of about `size` bytes in CRLF lines, with `line_end` (CRLF
// makes it canonical already).
std::string TextBody(size_t size, absl::string_view line_end = "\r\n") {
  std::string body;
  for (int line = 0; body.size() < size; ++line) {
    absl::StrAppend(&body, "Balance on line ", line, ": 1,234.56 EUR.", line_end);
  }
  return body;
}

struct Recipient {
  EvpPkeyPtr key;
  X509Ptr certificate;
  std::string certificate_path;
  std::string key_path;
};

class MailEncryptorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("mail-encryptor");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = new fixtures::TempDir(std::move(*dir));
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create("Encryptor CA", "EC:P-256");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = new fixtures::TestCa(std::move(*ca));
    rsa_ = MakeRecipient("rsa", "RSA:2048");
    ec_ = MakeRecipient("ec", "EC:P-256");
  }

  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
    delete ca_;
    delete dir_;
  }

  static Recipient* MakeRecipient(const std::string& name, const std::string& type) {
    auto* recipient = new Recipient;
    absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey(type);
    EXPECT_TRUE(key.ok()) << key.status();
    if (!key.ok()) return recipient;
    recipient->key = std::move(*key);
    absl::StatusOr<X509Ptr> certificate = ca_->Issue(
        recipient->key.get(), name, absl::StrCat(name, "@example.org"), {.for_encryption = true});
    EXPECT_TRUE(certificate.ok()) << certificate.status();
    if (!certificate.ok()) return recipient;
    recipient->certificate = std::move(*certificate);
    recipient->certificate_path = dir_->File(absl::StrCat(name, ".pem"));
    recipient->key_path = dir_->File(absl::StrCat(name, ".key"));
    EXPECT_THAT(fixtures::WritePem(recipient->certificate_path, recipient->certificate.get()),
                IsOk());
    BioPtr out(BIO_new_file(recipient->key_path.c_str(), "w"));
    EXPECT_TRUE(out && PEM_write_bio_PrivateKey(out.get(), recipient->key.get(), nullptr, nullptr,
                                                0, nullptr, nullptr) == 1);
    return recipient;
  }

  // The base64 part of an encrypted mail, decoded.
  static std::string DerOfMail(const std::string& mail) {
    const size_t head_end = mail.find("filename=\"smime.p7m\"\r\n\r\n");
    if (head_end == std::string::npos) return "";
    absl::StatusOr<std::string> der = Base64Decode(absl::string_view(mail).substr(head_end + 24));
    return der.ok() ? *der : "";
  }

  static fixtures::TempDir* dir_;
  static fixtures::TestCa* ca_;
  static Recipient* rsa_;
  static Recipient* ec_;
};

fixtures::TempDir* MailEncryptorTest::dir_ = nullptr;
fixtures::TestCa* MailEncryptorTest::ca_ = nullptr;
Recipient* MailEncryptorTest::rsa_ = nullptr;
Recipient* MailEncryptorTest::ec_ = nullptr;

TEST_F(MailEncryptorTest, OpensslDecryptsOwnedMailsForEveryCipherAndRecipient) {
  const struct {
    const char* name;
    std::string mail;
  } mails[] = {
      // Canonical already: encrypted where it lies.
      {"canonical text",
       absl::StrCat(kHeaders, "Content-Type: text/plain\r\n\r\n", TextBody(3000))},
      {"multipart",
       absl::StrCat(kHeaders, "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n",
                    "--b\r\nContent-Type: text/plain\r\n\r\n", TextBody(500), "\r\n--b--\r\n")},
      {"no Content-Type", absl::StrCat(kHeaders, "\r\n", TextBody(200))},
      {"empty body", absl::StrCat(kHeaders, "Content-Type: text/plain\r\n\r\n")},
      // Written out first: bare line feeds, 8-bit bytes.
      {"LF text", absl::StrCat(kHeaders, "Content-Type: text/plain\r\n\r\n", TextBody(3000, "\n"))},
      {"8-bit", absl::StrCat(kHeaders, "Content-Type: text/plain; charset=utf-8\r\n\r\n",
                             "Gr\xc3\xbc\xc3\x9f\x65\r\n", TextBody(100))},
  };
  const struct {
    EncryptOptions options;
    std::vector<Recipient*> to;
  } cases[] = {
      {{}, {rsa_}},
      {{.cipher = ContentCipher::kAes256Cbc}, {rsa_}},
      {{.rsa_key_transport = RsaKeyTransport::kPkcs1}, {rsa_}},
      {{}, {ec_}},
      {{.cipher = ContentCipher::kAes128Cbc}, {ec_}},
      {{.cipher = ContentCipher::kAes128Gcm}, {rsa_, ec_}},
      {{.cipher = ContentCipher::kAes256Cbc}, {ec_, rsa_}},
  };
  for (const auto& m : mails) {
    absl::StatusOr<MailParts> parts = SplitMail(m.mail, {});
    ASSERT_THAT(parts, IsOk());
    for (const auto& c : cases) {
      SCOPED_TRACE(absl::StrCat(m.name, ", cipher ", static_cast<int>(c.options.cipher), ", ",
                                c.to.size(), " recipients"));
      std::vector<X509*> recipients;
      for (Recipient* r : c.to) recipients.push_back(r->certificate.get());
      absl::StatusOr<MailPieces> pieces =
          EncryptOwnedMailPieces(CmsContext{}, m.mail, recipients, c.options);
      ASSERT_THAT(pieces, IsOk());
      const size_t size = pieces->size();
      const std::string mail = std::move(*pieces).Flatten();
      EXPECT_EQ(mail.size(), size);
      EXPECT_TRUE(absl::StartsWith(mail, absl::StrCat(kHeaders, "MIME-Version: 1.0\r\n")));
      for (Recipient* r : c.to) {
        absl::StatusOr<std::string> entity =
            fixtures::OpensslSmimeDecrypt(mail, r->certificate_path, r->key_path);
        ASSERT_THAT(entity, IsOk());
        EXPECT_TRUE(*entity == parts->entity);
      }
    }
  }
}

TEST_F(MailEncryptorTest, MailsShortEnoughForAStringsOwnCharactersEncryptAlike) {
  // Under 16 bytes a std::string keeps its characters inside itself, so
  // they move when it does: nothing may still point into it then.
  for (const std::string& mail : {std::string("A: b\r\n\r\nhi\r\n"), std::string("X: y\r\n\r\n"),
                                  std::string("\r\nbody\r\n")}) {
    SCOPED_TRACE(absl::CHexEscape(mail));
    ASSERT_LT(mail.size(), 16u);
    absl::StatusOr<MailParts> parts = SplitMail(mail, {});
    ASSERT_THAT(parts, IsOk());
    absl::StatusOr<MailPieces> pieces =
        EncryptOwnedMailPieces(CmsContext{}, mail, {rsa_->certificate.get()}, {});
    ASSERT_THAT(pieces, IsOk());
    const std::string encrypted = std::move(*pieces).Flatten();
    EXPECT_TRUE(absl::StartsWith(encrypted, parts->outer_headers)) << absl::CHexEscape(encrypted);
    absl::StatusOr<std::string> entity =
        fixtures::OpensslSmimeDecrypt(encrypted, rsa_->certificate_path, rsa_->key_path);
    ASSERT_THAT(entity, IsOk());
    EXPECT_EQ(*entity, parts->entity);
  }
}

TEST_F(MailEncryptorTest, TheLazyMailIsTheEagerEncodingOfADerThatReencodesIdentically) {
  for (const ContentCipher cipher : {ContentCipher::kAes256Gcm, ContentCipher::kAes256Cbc}) {
    // Bodies around a base64 line (57 bytes) and a cipher block.
    for (size_t size :
         {size_t{0}, size_t{1}, size_t{56}, size_t{57}, size_t{58}, size_t{1000}, size_t{200000}}) {
      SCOPED_TRACE(absl::StrCat(static_cast<int>(cipher), " ", size));
      const std::string original =
          absl::StrCat(kHeaders, "Content-Type: text/plain\r\n\r\n", std::string(size, 'x'));
      absl::StatusOr<std::string> mail =
          EncryptOwnedMail(CmsContext{}, original, {rsa_->certificate.get()}, {.cipher = cipher});
      ASSERT_THAT(mail, IsOk());
      const std::string der = DerOfMail(*mail);
      ASSERT_FALSE(der.empty());
      const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
      CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &cursor, static_cast<long>(der.size())));
      ASSERT_TRUE(cms);
      const std::string reencoded = DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms.get());
      EXPECT_TRUE(reencoded == der);
      // Exactly the mail the eager writers make of that DER.
      std::string eager = absl::StrCat(kHeaders, "MIME-Version: 1.0\r\n");
      AppendPkcs7MimeEntity(der,
                            cipher == ContentCipher::kAes256Gcm ? SmimeType::kAuthEnvelopedData
                                                                : SmimeType::kEnvelopedData,
                            &eager);
      EXPECT_TRUE(*mail == eager);
      BioPtr out(BIO_new(BIO_s_mem()));
      ASSERT_EQ(CMS_decrypt(cms.get(), rsa_->key.get(), rsa_->certificate.get(), nullptr, out.get(),
                            CMS_BINARY),
                1);
      char* data = nullptr;
      const long length = BIO_get_mem_data(out.get(), &data);
      // (A line over 998 characters is re-encoded in base64 first.)
      absl::StatusOr<MailParts> parts = SplitMail(original, {});
      ASSERT_THAT(parts, IsOk());
      EXPECT_TRUE(std::string(data, static_cast<size_t>(length)) == parts->entity);
    }
  }
}

TEST_F(MailEncryptorTest, AnOwnedCanonicalMailIsHeldOnceAndEncryptedWhereItLies) {
  std::string mail = absl::StrCat(kHeaders, "Content-Type: text/plain\r\n\r\n", TextBody(4 << 20));
  const size_t capacity = mail.capacity();
  const char* const data = mail.data();
  const size_t mail_size = mail.size();
  absl::StatusOr<MailPieces> pieces =
      EncryptOwnedMailPieces(CmsContext{}, std::move(mail), {rsa_->certificate.get()}, {});
  ASSERT_THAT(pieces, IsOk());
  // The mail's own buffer, and a few KiB beside it (headers, recipient
  // infos), though the result is a third larger than the mail.
  EXPECT_EQ(pieces->backing().data(), data);
  EXPECT_LE(pieces->held_bytes(), capacity + 16384);
  EXPECT_GT(pieces->size(), mail_size * 4 / 3);
}

TEST_F(MailEncryptorTest, AnOwnedMailWrittenOutFirstIsHeldOnceToo) {
  // Bare line feeds: the entity is written out, the mail freed.
  std::string mail =
      absl::StrCat(kHeaders, "Content-Type: text/plain\r\n\r\n", TextBody(4 << 20, "\n"));
  const size_t mail_size = mail.size();
  absl::StatusOr<MailPieces> pieces =
      EncryptOwnedMailPieces(CmsContext{}, std::move(mail), {rsa_->certificate.get()}, {});
  ASSERT_THAT(pieces, IsOk());
  // The entity: the mail and a CR per line (of about 35 bytes).
  EXPECT_LE(pieces->held_bytes(), mail_size + mail_size / 30 + 16384);
}

TEST_F(MailEncryptorTest, SignedAndEncryptedOwnedMailsOpenAndVerifyWithOpenssl) {
  absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey("EC:P-256");
  ASSERT_THAT(key, IsOk());
  absl::StatusOr<X509Ptr> certificate =
      ca_->Issue(key->get(), "statements", "statements@bank.example");
  ASSERT_THAT(certificate, IsOk());
  const std::string ca_path = dir_->File("ca.pem");
  ASSERT_THAT(fixtures::WritePem(ca_path, ca_->certificate()), IsOk());
  const Signer signer{.key = key->get(), .certificate = certificate->get()};
  const struct {
    const char* name;
    std::string mail;
    SignedForm form;
    // Whether the result must keep the mail's own buffer (signed and
    // encrypted where the body lies).
    bool in_place;
  } cases[] = {
      {"canonical, multipart/signed",
       absl::StrCat(kHeaders, "Content-Type: text/plain\r\n\r\n", TextBody(70000)),
       SignedForm::kMultipartSigned, true},
      {"multipart body",
       absl::StrCat(kHeaders, "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n",
                    "--b\r\nContent-Type: text/plain\r\n\r\n", TextBody(5000), "\r\n--b--\r\n"),
       SignedForm::kMultipartSigned, true},
      {"bare line feeds",
       absl::StrCat(kHeaders, "Content-Type: text/plain\r\n\r\n", TextBody(70000, "\n")),
       SignedForm::kMultipartSigned, false},
      {"opaque", absl::StrCat(kHeaders, "Content-Type: text/plain\r\n\r\n", TextBody(70000)),
       SignedForm::kOpaque, false},
  };
  for (const auto& c : cases) {
    for (const ContentCipher cipher : {ContentCipher::kAes256Gcm, ContentCipher::kAes256Cbc}) {
      SCOPED_TRACE(absl::StrCat(c.name, ", cipher ", static_cast<int>(cipher)));
      absl::StatusOr<MailParts> parts = SplitMail(c.mail, {});
      ASSERT_THAT(parts, IsOk());
      std::string owned = c.mail;
      const char* const data = owned.data();
      absl::StatusOr<MailPieces> pieces =
          SignAndEncryptOwnedMailPieces(CmsContext{}, std::move(owned), signer, {.form = c.form},
                                        {rsa_->certificate.get()}, {.cipher = cipher});
      ASSERT_THAT(pieces, IsOk());
      // (The other way round proves nothing: a freed mail's address may
      // come back for the entity written out.)
      if (c.in_place) {
        EXPECT_EQ(pieces->backing().data(), data);
      }
      const std::string encrypted = std::move(*pieces).Flatten();
      EXPECT_TRUE(absl::StartsWith(encrypted, kHeaders));
      absl::StatusOr<std::string> inner =
          fixtures::OpensslSmimeDecrypt(encrypted, rsa_->certificate_path, rsa_->key_path);
      ASSERT_THAT(inner, IsOk());
      std::string content;
      EXPECT_THAT(fixtures::OpensslSmimeVerify(*inner, ca_path, &content), IsOk());
      EXPECT_TRUE(content == parts->entity);
    }
  }
}

TEST_F(MailEncryptorTest, RefusesWithoutRecipientsOrOverTheLimit) {
  const std::string mail = absl::StrCat(kHeaders, "\r\nHello\r\n");
  EXPECT_FALSE(EncryptOwnedMailPieces(CmsContext{}, mail, {}, {}).ok());
  CmsContext small;
  small.limits.max_message_bytes = 10;
  EXPECT_FALSE(EncryptMail(small, mail, {rsa_->certificate.get()}, {}).ok());
}

}  // namespace
}  // namespace signet::cms
