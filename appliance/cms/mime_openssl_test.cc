// Cross-checks the multipart splitter and the base64 decoder against
// OpenSSL's own S/MIME writer and reader: the first part as we split it must
// be what OpenSSL reads as the detached content, and exactly the bytes the
// signature covers.
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/mime_test_util.h"
#include "common/ossl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/validity_margin.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;

using ::signet::cms::mime_testing::InvalidArgumentWith;
using ::testing::HasSubstr;
using ::testing::Optional;

class MimeOpenSslTest : public ::testing::Test {
 protected:
  // A throwaway key and self-signed certificate, in memory only.
  void SetUp() override {
    key_.reset(EVP_EC_gen("P-256"));
    ASSERT_NE(key_, nullptr);
    cert_.reset(X509_new());
    ASSERT_NE(cert_, nullptr);
    X509_set_version(cert_.get(), X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(cert_.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert_.get()), -fixtures::kValidityMarginSeconds);
    X509_gmtime_adj(X509_getm_notAfter(cert_.get()), 3600);
    X509_NAME* name = X509_get_subject_name(cert_.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("Signet MIME test"), -1, -1,
                               0);
    X509_set_issuer_name(cert_.get(), name);
    X509_set_pubkey(cert_.get(), key_.get());
    ASSERT_GT(X509_sign(cert_.get(), key_.get(), EVP_sha256()), 0);
  }

  struct SignedMail {
    std::string mail;  // SMIME_write_CMS's multipart/signed
    std::string der;   // the SignedData it carries
  };

  // The documented detached idiom: CMS_STREAM defers the signing to
  // SMIME_write_CMS, which digests the content as it writes it.
  SignedMail Sign(absl::string_view content, int flags) {
    BioPtr in = ReadBio(content);
    CmsPtr cms(CMS_sign(cert_.get(), key_.get(), nullptr, in.get(), flags | CMS_STREAM));
    EXPECT_NE(cms, nullptr);
    if (cms == nullptr) return {};
    BioPtr out(BIO_new(BIO_s_mem()));
    EXPECT_EQ(SMIME_write_CMS(out.get(), cms.get(), in.get(), flags | CMS_STREAM), 1);
    BioPtr der(BIO_new(BIO_s_mem()));
    EXPECT_EQ(i2d_CMS_bio(der.get(), cms.get()), 1);
    return {BioContents(out.get()), BioContents(der.get())};
  }

  EvpPkeyPtr key_;
  X509Ptr cert_;
};

TEST_F(MimeOpenSslTest, SplitAgreesWithSmimeReadCms) {
  const std::vector<std::string> contents = {
      "Hello\r\nWorld\r\n",
      "LF only\nlines\n\nand an empty one above\n",
      "no final line break",
      "--looks like a delimiter\r\n------ also\r\n trailing spaces   \r\n\r\n\r\nend\r\n",
      "Content-Type: text/plain; charset=utf-8\r\n\r\nSt\xc3\xa4tement\r\n",
  };
  const std::vector<int> all_flags = {
      CMS_DETACHED,
      CMS_DETACHED | CMS_CRLFEOL,
      CMS_DETACHED | CMS_TEXT,
      CMS_DETACHED | CMS_BINARY,
  };
  for (const std::string& content : contents) {
    for (int flags : all_flags) {
      SCOPED_TRACE(::testing::Message() << "flags 0x" << std::hex << flags << " content "
                                        << ::testing::PrintToString(content));
      const SignedMail signed_mail = Sign(content, flags);
      ASSERT_FALSE(signed_mail.mail.empty());

      absl::StatusOr<MimeEntity> entity = ParseEntity(signed_mail.mail, Limits{});
      ASSERT_THAT(entity, IsOk());
      absl::StatusOr<ContentType> type = ContentTypeOf(*entity);
      ASSERT_THAT(type, IsOk());
      ASSERT_TRUE(type->Is("multipart", "signed"));
      EXPECT_THAT(type->Param("protocol"), Optional(std::string("application/pkcs7-signature")));
      const std::optional<std::string> boundary = type->Param("boundary");
      ASSERT_TRUE(boundary.has_value());
      absl::StatusOr<Multipart> multipart = SplitMultipart(entity->body, *boundary, Limits{});
      ASSERT_THAT(multipart, IsOk());
      ASSERT_EQ(multipart->parts.size(), 2u);
      EXPECT_THAT(std::string(multipart->preamble), HasSubstr("This is an S/MIME signed message"));
      // The signed content is a MIME entity only if it has a header.
      if ((flags & CMS_TEXT) != 0 || absl::StartsWith(content, "Content-Type:")) {
        EXPECT_THAT(CheckMimeStructure(signed_mail.mail, Limits{}), IsOk());
      } else {
        EXPECT_THAT(CheckMimeStructure(signed_mail.mail, Limits{}),
                    InvalidArgumentWith("MIME part 1: header line 1 is neither"));
      }

      // OpenSSL's reader joins the lines of the part with CRLF.
      BioPtr mail = ReadBio(signed_mail.mail);
      BIO* detached = nullptr;
      CmsPtr parsed(SMIME_read_CMS(mail.get(), &detached));
      ASSERT_NE(parsed, nullptr);
      ASSERT_NE(detached, nullptr);
      BioPtr detached_owner(detached);
      EXPECT_EQ(BioContents(detached), ToCrlf(multipart->parts[0]));

      // The signature covers exactly the part's bytes, no more, no less.
      BioPtr part = ReadBio(multipart->parts[0]);
      EXPECT_EQ(CMS_verify(parsed.get(), nullptr, nullptr, part.get(), nullptr,
                           CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY),
                1);
      const std::string longer = std::string(multipart->parts[0]) + "\r\n";
      BioPtr longer_part = ReadBio(longer);
      EXPECT_EQ(CMS_verify(parsed.get(), nullptr, nullptr, longer_part.get(), nullptr,
                           CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY),
                0);

      absl::StatusOr<MimeEntity> signature = ParseEntity(multipart->parts[1], Limits{});
      ASSERT_THAT(signature, IsOk());
      absl::StatusOr<ContentType> signature_type = ContentTypeOf(*signature);
      ASSERT_THAT(signature_type, IsOk());
      EXPECT_TRUE(signature_type->Is("application", "pkcs7-signature"));
      absl::StatusOr<std::string> der = Base64Decode(signature->body);
      ASSERT_THAT(der, IsOk());
      EXPECT_EQ(*der, signed_mail.der);
    }
  }
}

}  // namespace
}  // namespace signet::cms
