// DetachCiphertext on EnvelopedData and AuthEnvelopedData that OpenSSL
// made: the structure it gives parses, holds no content, and decrypts the
// ciphertext where it lay as detached content; BER with indefinite
// lengths, damaged and truncated encodings are left to OpenSSL's parser.
#include "appliance/cms/detached_ciphertext.h"

#include <openssl/cms.h>
#include <openssl/err.h>

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/ossl_ptr.h"
#include "gtest/gtest.h"
#include "tests/fixtures/test_pki.h"

namespace signet::cms {
namespace {

class DetachedCiphertextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create("Detach CA", "RSA:2048");
    ASSERT_TRUE(ca.ok()) << ca.status();
    absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey("RSA:2048");
    ASSERT_TRUE(key.ok()) << key.status();
    absl::StatusOr<X509Ptr> certificate =
        ca->Issue(key->get(), "Recipient", "recipient@example.org", {.for_encryption = true});
    ASSERT_TRUE(certificate.ok()) << certificate.status();
    key_ = key->release();
    certificate_ = certificate->release();
  }
  static void TearDownTestSuite() {
    EVP_PKEY_free(key_);
    X509_free(certificate_);
  }

  // The content encrypted to the certificate, as DER (definite lengths) or,
  // streamed, as BER with indefinite ones.
  static std::string Encrypted(const EVP_CIPHER* cipher, const std::string& content,
                               bool streamed) {
    X509StackPtr recipients(sk_X509_new_null());
    X509_up_ref(certificate_);
    sk_X509_push(recipients.get(), certificate_);
    BioPtr in(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
    const unsigned int flags = CMS_BINARY | (streamed ? CMS_STREAM : 0);
    CmsPtr cms(CMS_encrypt(recipients.get(), in.get(), cipher, flags));
    EXPECT_TRUE(cms);
    if (!cms) return "";
    BioPtr out(BIO_new(BIO_s_mem()));
    if (streamed) {
      EXPECT_EQ(i2d_CMS_bio_stream(out.get(), cms.get(), in.get(), flags), 1);
    } else {
      EXPECT_EQ(i2d_CMS_bio(out.get(), cms.get()), 1);
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(out.get(), &data);
    return std::string(data, static_cast<size_t>(size));
  }

  static CmsPtr Parse(const std::string& der) {
    const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
    return CmsPtr(d2i_CMS_ContentInfo(nullptr, &cursor, static_cast<long>(der.size())));
  }

  static EVP_PKEY* key_;
  static X509* certificate_;
};

EVP_PKEY* DetachedCiphertextTest::key_ = nullptr;
X509* DetachedCiphertextTest::certificate_ = nullptr;

std::string Content(size_t size) {
  std::string content(size, '\0');
  for (size_t i = 0; i < size; ++i) content[i] = static_cast<char>(i * 7 + i / 251);
  return content;
}

TEST_F(DetachedCiphertextTest, TheStructureDecryptsTheCiphertextWhereItLies) {
  // Sizes whose lengths take 1 to 4 octets, before and after the
  // ciphertext leaves.
  for (const EVP_CIPHER* cipher : {EVP_aes_256_cbc(), EVP_aes_256_gcm()}) {
    for (size_t size : {0u, 1u, 15u, 16u, 100u, 5000u, 70000u, 1u << 24}) {
      SCOPED_TRACE(absl::StrCat(EVP_CIPHER_get0_name(cipher), " ", size));
      const std::string content = Content(size);
      const std::string der = Encrypted(cipher, content, false);
      const std::optional<DetachedCiphertext> detached = DetachCiphertext(der);
      ASSERT_TRUE(detached.has_value());
      EXPECT_LT(detached->structure.size(), 2000u);

      // The span is the encryptedContent OpenSSL reads from the whole.
      CmsPtr whole = Parse(der);
      ASSERT_TRUE(whole);
      ASN1_OCTET_STRING** whole_content = CMS_get0_content(whole.get());
      ASSERT_TRUE(whole_content != nullptr && *whole_content != nullptr);
      ASSERT_EQ(detached->size, static_cast<size_t>(ASN1_STRING_length(*whole_content)));
      EXPECT_TRUE(der.substr(detached->offset, detached->size) ==
                  std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*whole_content)),
                              detached->size));

      // The structure is DER without content, the same type.
      CmsPtr structure = Parse(detached->structure);
      ASSERT_TRUE(structure);
      EXPECT_EQ(OBJ_obj2nid(CMS_get0_type(structure.get())),
                OBJ_obj2nid(CMS_get0_type(whole.get())));
      ASN1_OCTET_STRING** none = CMS_get0_content(structure.get());
      EXPECT_TRUE(none == nullptr || *none == nullptr);
      unsigned char* reencoded = nullptr;
      const int reencoded_size = i2d_CMS_ContentInfo(structure.get(), &reencoded);
      ASSERT_GT(reencoded_size, 0);
      EXPECT_EQ(std::string(reinterpret_cast<char*>(reencoded), reencoded_size),
                detached->structure);
      OPENSSL_free(reencoded);

      BioPtr ciphertext(
          BIO_new_mem_buf(der.data() + detached->offset, static_cast<int>(detached->size)));
      BioPtr out(BIO_new(BIO_s_mem()));
      ASSERT_EQ(
          CMS_decrypt(structure.get(), key_, certificate_, ciphertext.get(), out.get(), CMS_BINARY),
          1);
      char* data = nullptr;
      const long decrypted = BIO_get_mem_data(out.get(), &data);
      EXPECT_TRUE(std::string(data, static_cast<size_t>(decrypted)) == content);
    }
  }
}

TEST_F(DetachedCiphertextTest, BerAndDamagedEncodingsAreLeftToOpenssl) {
  for (const EVP_CIPHER* cipher : {EVP_aes_256_cbc(), EVP_aes_256_gcm()}) {
    SCOPED_TRACE(EVP_CIPHER_get0_name(cipher));
    const std::string content = Content(3000);
    // Streamed: indefinite lengths and a constructed OCTET STRING.
    const std::string ber = Encrypted(cipher, content, true);
    ASSERT_TRUE(Parse(ber));
    EXPECT_FALSE(DetachCiphertext(ber).has_value());

    const std::string der = Encrypted(cipher, content, false);
    ASSERT_TRUE(DetachCiphertext(der).has_value());
    // Cut anywhere, or with a byte after it.
    for (size_t size = 0; size < der.size(); ++size) {
      EXPECT_FALSE(DetachCiphertext(der.substr(0, size)).has_value()) << size;
    }
    EXPECT_FALSE(DetachCiphertext(der + std::string(1, '\0')).has_value());
    // The encryptedContent made constructed.
    const size_t header = DetachCiphertext(der)->offset - 4;  // 0x80 0x82 and two length octets
    ASSERT_EQ(static_cast<unsigned char>(der[header]), 0x80);
    std::string constructed = der;
    constructed[header] = static_cast<char>(0xa0);
    EXPECT_FALSE(DetachCiphertext(constructed).has_value());
    // The outer SEQUENCE with an indefinite length.
    std::string indefinite = der.substr(0, 1) + std::string(1, '\x80') +
                             der.substr(2 + (der[1] & 0x7f)) + std::string(2, '\0');
    EXPECT_FALSE(DetachCiphertext(indefinite).has_value());
    // Not enveloped at all.
    EXPECT_FALSE(DetachCiphertext("").has_value());
    EXPECT_FALSE(DetachCiphertext(std::string("\x30\x03\x06\x01\x00", 5)).has_value());
  }
}

}  // namespace
}  // namespace signet::cms
