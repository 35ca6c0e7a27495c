#include "appliance/cms/cms_content.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/x509.h>

#include <optional>
#include <string>
#include <utility>

#include "appliance/cms/enveloped_data.h"
#include "common/der.h"
#include "common/ossl_ptr.h"
#include "gtest/gtest.h"
#include "tests/fixtures/test_pki.h"

namespace signet::cms {
namespace {

class CmsContentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create("Content CA", "RSA:2048");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_.emplace(std::move(*ca));
    absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey("RSA:2048");
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = std::move(*key);
    absl::StatusOr<X509Ptr> certificate =
        ca_->Issue(key_.get(), "Content", "content@example.org",
                   {.key_usage = "critical,digitalSignature,keyEncipherment"});
    ASSERT_TRUE(certificate.ok()) << certificate.status();
    certificate_ = std::move(*certificate);
  }

  // A SignedData without signed attributes and with RSA PKCS#1 v1.5:
  // the same content gives the same DER, whichever way it is finished.
  CmsPtr StartSignedData(bool detached) {
    CmsPtr cms(CMS_sign(
        certificate_.get(), key_.get(), nullptr, nullptr,
        CMS_BINARY | CMS_PARTIAL | CMS_NOATTR | CMS_NOSMIMECAP | (detached ? CMS_DETACHED : 0u)));
    EXPECT_TRUE(cms);
    return cms;
  }

  std::string ViaCmsFinal(CMS_ContentInfo* cms, const std::string& content) {
    BioPtr input(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
    EXPECT_EQ(CMS_final(cms, input.get(), nullptr, CMS_BINARY), 1);
    return DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms);
  }

  std::string Decrypted(const std::string& der) {
    const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
    CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &cursor, static_cast<long>(der.size())));
    EXPECT_TRUE(cms);
    if (!cms) return "";
    BioPtr out(BIO_new(BIO_s_mem()));
    EXPECT_EQ(
        CMS_decrypt(cms.get(), key_.get(), certificate_.get(), nullptr, out.get(), CMS_BINARY), 1);
    char* data = nullptr;
    const long length = BIO_get_mem_data(out.get(), &data);
    return std::string(data, static_cast<size_t>(length));
  }

  std::optional<fixtures::TestCa> ca_;
  EvpPkeyPtr key_;
  X509Ptr certificate_;
};

// Content of several sizes: empty, under and over one write of 1 MiB.
std::string Content(size_t size) {
  std::string content(size, '\0');
  for (size_t i = 0; i < size; ++i) content[i] = static_cast<char>((i * 131) >> 3);
  return content;
}

TEST_F(CmsContentTest, SignedDataEqualsCmsFinal) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{5000}, (size_t{1} << 20) + 17}) {
    const std::string content = Content(size);
    for (bool detached : {false, true}) {
      CmsPtr reference = StartSignedData(detached);
      CmsPtr finished = StartSignedData(detached);
      ASSERT_TRUE(reference && finished);
      const std::string expected = ViaCmsFinal(reference.get(), content);
      ASSERT_FALSE(expected.empty());
      ASSERT_TRUE(FinishWithContent(finished.get(), content, detached ? 0 : content.size()));
      const std::string der = DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(finished.get());
      EXPECT_EQ(der, expected) << size << (detached ? " detached" : " attached");
    }
  }
}

TEST_F(CmsContentTest, EnvelopedDataDecryptsToTheContent) {
  for (const EVP_CIPHER* cipher : {EVP_aes_256_gcm(), EVP_aes_128_cbc()}) {
    for (size_t size : {size_t{0}, size_t{15}, size_t{16}, (size_t{1} << 20) + 3}) {
      const std::string content = Content(size);
      // Room for the padding, and too little room (the buffer then grows).
      for (size_t room : {size + 32, size_t{1}}) {
        STACK_OF(X509)* recipients = sk_X509_new_null();
        ASSERT_NE(recipients, nullptr);
        sk_X509_push(recipients, certificate_.get());
        CmsPtr cms(CMS_encrypt(recipients, nullptr, cipher, CMS_BINARY | CMS_PARTIAL));
        sk_X509_free(recipients);
        ASSERT_TRUE(cms);
        ASSERT_TRUE(FinishWithContent(cms.get(), content, room));
        const std::string der = DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms.get());
        EXPECT_EQ(Decrypted(der), content) << size << " room " << room;
      }
    }
  }
}

TEST_F(CmsContentTest, EncryptOfContentGivenUpDecryptsToIt) {
  const std::string content = Content((size_t{1} << 20) + 5);
  for (ContentCipher cipher : {ContentCipher::kAes256Gcm, ContentCipher::kAes256Cbc}) {
    const EncryptOptions options{.cipher = cipher};
    absl::StatusOr<std::string> kept = Encrypt({}, content, {certificate_.get()}, options);
    ASSERT_TRUE(kept.ok()) << kept.status();
    std::string given_up = content;
    absl::StatusOr<std::string> released =
        Encrypt({}, std::move(given_up), {certificate_.get()}, options);
    ASSERT_TRUE(released.ok()) << released.status();
    EXPECT_EQ(Decrypted(*kept), content);
    EXPECT_EQ(Decrypted(*released), content);
  }
}

}  // namespace
}  // namespace signet::cms
