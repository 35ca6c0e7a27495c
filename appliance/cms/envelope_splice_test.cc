#include "appliance/cms/envelope_splice.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/x509.h>

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "appliance/cms/cms_content.h"
#include "appliance/cms/enveloped_data.h"
#include "common/der.h"
#include "common/ossl_ptr.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_pki.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;

// Bytes that are not all alike, so that a misplaced one shows.
std::string Content(size_t size, int seed = 0) {
  std::string content(size, '\0');
  for (size_t i = 0; i < size; ++i) content[i] = static_cast<char>((i * 131 + seed) >> 3);
  return content;
}

class EnvelopeSpliceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create("Splice CA", "EC:P-256");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_.emplace(std::move(*ca));
    rsa_ = Recipient("RSA:2048", &rsa_key_);
    ec_ = Recipient("EC:P-256", &ec_key_);
    ASSERT_TRUE(rsa_ && ec_);
  }

  X509Ptr Recipient(const std::string& type, EvpPkeyPtr* key) {
    absl::StatusOr<EvpPkeyPtr> made = fixtures::GenerateKey(type);
    EXPECT_TRUE(made.ok()) << made.status();
    if (!made.ok()) return nullptr;
    *key = std::move(*made);
    absl::StatusOr<X509Ptr> certificate =
        ca_->Issue(key->get(), "Recipient", "recipient@example.org", {.for_encryption = true});
    EXPECT_TRUE(certificate.ok()) << certificate.status();
    return certificate.ok() ? std::move(*certificate) : nullptr;
  }

  // A structure OpenSSL finished without its ciphertext (which went to a
  // null BIO).
  CmsPtr Detached(const EVP_CIPHER* cipher) {
    STACK_OF(X509)* recipients = sk_X509_new_null();
    sk_X509_push(recipients, rsa_.get());
    sk_X509_push(recipients, ec_.get());
    CmsPtr cms(CMS_encrypt(recipients, nullptr, cipher, CMS_BINARY | CMS_PARTIAL | CMS_DETACHED));
    sk_X509_free(recipients);
    EXPECT_TRUE(cms);
    if (!cms) return nullptr;
    BioPtr null(BIO_new(BIO_s_null()));
    const std::string content = Content(100);
    const absl::string_view pieces[] = {content};
    EXPECT_TRUE(FinishWithContentInto(cms.get(), pieces, null.get()));
    return cms;
  }

  // The content `der` decrypts to with `key`, or nullopt.
  static std::optional<std::string> Decrypted(const std::string& der, EVP_PKEY* key,
                                              X509* certificate) {
    const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
    CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &cursor, static_cast<long>(der.size())));
    if (!cms) return std::nullopt;
    BioPtr out(BIO_new(BIO_s_mem()));
    if (CMS_decrypt(cms.get(), key, certificate, nullptr, out.get(), CMS_BINARY) != 1) {
      return std::nullopt;
    }
    char* data = nullptr;
    const long length = BIO_get_mem_data(out.get(), &data);
    return std::string(data, static_cast<size_t>(length));
  }

  static std::string Reencoded(const std::string& der) {
    const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
    CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &cursor, static_cast<long>(der.size())));
    if (!cms) return "";
    return DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms.get());
  }

  std::optional<fixtures::TestCa> ca_;
  EvpPkeyPtr rsa_key_;
  EvpPkeyPtr ec_key_;
  X509Ptr rsa_;
  X509Ptr ec_;
};

TEST_F(EnvelopeSpliceTest, SplicedBytesAreWhatOpensslEncodesWithTheCiphertextInside) {
  // Around every change of a length's encoding, for the content and for
  // the structures around it.
  for (const EVP_CIPHER* cipher : {EVP_aes_256_gcm(), EVP_aes_128_cbc()}) {
    CmsPtr cms = Detached(cipher);
    ASSERT_TRUE(cms);
    const std::string detached = DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms.get());
    ASSERT_FALSE(detached.empty());
    for (size_t size : {size_t{0}, size_t{1}, size_t{127}, size_t{128}, size_t{255}, size_t{256},
                        size_t{65535}, size_t{65536}, size_t{16777215}, size_t{16777216}}) {
      SCOPED_TRACE(absl::StrCat(EVP_CIPHER_get0_name(cipher), " ", size));
      const std::string ciphertext = Content(size, 7);
      absl::StatusOr<EnvelopeAround> around = EnvelopeAroundCiphertext(detached, size);
      ASSERT_THAT(around, IsOk());
      ASN1_OCTET_STRING* inside = ASN1_OCTET_STRING_new();
      ASSERT_NE(inside, nullptr);
      ASSERT_EQ(
          ASN1_OCTET_STRING_set(inside, reinterpret_cast<const unsigned char*>(ciphertext.data()),
                                static_cast<int>(size)),
          1);
      ASN1_OCTET_STRING** content = CMS_get0_content(cms.get());
      ASSERT_NE(content, nullptr);
      *content = inside;
      const std::string expected = DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms.get());
      ASSERT_EQ(CMS_set_detached(cms.get(), 1), 1);
      const std::string spliced = absl::StrCat(around->prefix, ciphertext, around->suffix);
      EXPECT_TRUE(spliced == expected);
      EXPECT_TRUE(Reencoded(spliced) == spliced);
    }
  }
}

TEST_F(EnvelopeSpliceTest, RefusesWhatIsNotADetachedEnvelope) {
  EXPECT_FALSE(EnvelopeAroundCiphertext("", 10).ok());
  EXPECT_FALSE(EnvelopeAroundCiphertext("\x30\x03\x02\x01\x00", 10).ok());
  // With its ciphertext inside already.
  CmsPtr cms = Detached(EVP_aes_256_gcm());
  ASSERT_TRUE(cms);
  ASSERT_EQ(CMS_set_detached(cms.get(), 0), 1);
  const std::string attached = DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms.get());
  ASSERT_FALSE(attached.empty());
  EXPECT_FALSE(EnvelopeAroundCiphertext(attached, 10).ok());
  // Cut short.
  ASSERT_EQ(CMS_set_detached(cms.get(), 1), 1);
  const std::string detached = DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms.get());
  EXPECT_THAT(EnvelopeAroundCiphertext(detached, 10), IsOk());
  EXPECT_FALSE(EnvelopeAroundCiphertext(detached.substr(0, detached.size() - 1), 10).ok());
}

TEST_F(EnvelopeSpliceTest, EncryptInPlaceGivesADerThatDecryptsToHeadAndBody) {
  const struct {
    ContentCipher cipher;
    RsaKeyTransport transport;
  } cases[] = {
      {ContentCipher::kAes256Gcm, RsaKeyTransport::kOaepSha256},
      {ContentCipher::kAes128Gcm, RsaKeyTransport::kPkcs1},
      {ContentCipher::kAes256Cbc, RsaKeyTransport::kOaepSha256},
      {ContentCipher::kAes128Cbc, RsaKeyTransport::kPkcs1},
  };
  const CmsContext context;
  for (const auto& c : cases) {
    // Bodies shorter than a block, at a block's edge, and over one write.
    // With a tail after the body (a signature part) or none; one longer
    // than the cipher BIO's 4 KiB buffer too.
    for (size_t size : {size_t{0}, size_t{15}, size_t{16}, size_t{4097}, (size_t{1} << 20) + 5}) {
      for (const std::string& tail :
           {std::string(), std::string("\r\n--b\r\nsignature\r\n--b--\r\n"), Content(5000, 4)}) {
        SCOPED_TRACE(absl::StrCat(static_cast<int>(c.cipher), " ", size, " ", tail.size()));
        const std::string head = "Content-Type: application/octet-stream\r\n\r\n";
        const std::string plain = Content(size, 3);
        std::string body = plain;
        absl::StatusOr<EnvelopeAround> around =
            EncryptInPlace(context, head, absl::MakeSpan(body), tail, {rsa_.get(), ec_.get()},
                           {.cipher = c.cipher, .rsa_key_transport = c.transport});
        ASSERT_THAT(around, IsOk());
        // The body was overwritten with ciphertext (for any but the smallest).
        if (size >= 16) {
          EXPECT_NE(body, plain);
        }
        const std::string der = absl::StrCat(around->prefix, body, around->suffix);
        EXPECT_TRUE(Reencoded(der) == der);
        const std::string expected = absl::StrCat(head, plain, tail);
        EXPECT_TRUE(Decrypted(der, rsa_key_.get(), rsa_.get()) == expected);
        EXPECT_TRUE(Decrypted(der, ec_key_.get(), ec_.get()) == expected);
      }
    }
  }
}

}  // namespace
}  // namespace signet::cms
