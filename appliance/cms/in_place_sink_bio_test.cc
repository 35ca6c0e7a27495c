// The in-place sink against its source: a write never reaches ciphertext
// not yet read, and AES-CBC and AES-GCM through OpenSSL's cipher BIO, as
// CMS_decrypt chains them, decrypt over their own ciphertext.
#include "appliance/cms/in_place_sink_bio.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace signet::cms {
namespace {

TEST(InPlaceSinkBioTest, AWriteMayNotReachBytesTheSourceHasNotRead) {
  std::string buffer = "0123456789abcdef";
  BioPtr source(BIO_new_mem_buf(buffer.data() + 4, 12));
  ASSERT_TRUE(source);
  InPlaceSink sink{.out = buffer.data(),
                   .source_begin = buffer.data() + 4,
                   .source_size = 12,
                   .source = source.get()};
  BioPtr bio = NewInPlaceSinkBio(&sink);
  ASSERT_TRUE(bio);
  // Before the source: as far as its start.
  EXPECT_EQ(BIO_write(bio.get(), "AB", 2), 2);
  EXPECT_LE(BIO_write(bio.get(), "CDE", 3), 0);
  EXPECT_TRUE(sink.overtook);
  sink.overtook = false;
  EXPECT_EQ(BIO_write(bio.get(), "CD", 2), 2);
  char read[5];
  ASSERT_EQ(BIO_read(source.get(), read, 5), 5);
  EXPECT_EQ(std::string(read, 5), "45678");
  // Five more bytes read: five more may be written, not six.
  EXPECT_LE(BIO_write(bio.get(), "EFGHIJ", 6), 0);
  EXPECT_TRUE(sink.overtook);
  EXPECT_EQ(BIO_write(bio.get(), "EFGHI", 5), 5);
  EXPECT_EQ(sink.written, 9u);
  EXPECT_EQ(buffer, "ABCDEFGHI9abcdef");
  EXPECT_EQ(BIO_flush(bio.get()), 1);
}

// Encrypts, then decrypts the ciphertext in its buffer through a cipher
// BIO over a memory BIO, 4 KiB at a time as CMS_decrypt copies, writing
// the plaintext from `lead` bytes before the ciphertext.
std::string DecryptInPlace(const EVP_CIPHER* cipher, const std::string& plaintext, size_t lead,
                           bool* overtook) {
  unsigned char key[32];
  unsigned char iv[16];
  RAND_bytes(key, sizeof key);
  RAND_bytes(iv, sizeof iv);
  const bool gcm = EVP_CIPHER_get_mode(cipher) == EVP_CIPH_GCM_MODE;
  OsslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free> encrypt(EVP_CIPHER_CTX_new());
  EVP_EncryptInit_ex(encrypt.get(), cipher, nullptr, nullptr, nullptr);
  if (gcm) EVP_CIPHER_CTX_ctrl(encrypt.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
  EVP_EncryptInit_ex(encrypt.get(), nullptr, nullptr, key, iv);
  std::string buffer(lead + plaintext.size() + 32, '\0');
  auto* out = reinterpret_cast<unsigned char*>(buffer.data() + lead);
  int size = 0;
  int last = 0;
  EVP_EncryptUpdate(encrypt.get(), out, &size,
                    reinterpret_cast<const unsigned char*>(plaintext.data()),
                    static_cast<int>(plaintext.size()));
  EVP_EncryptFinal_ex(encrypt.get(), out + size, &last);
  const size_t ciphertext_size = static_cast<size_t>(size + last);
  unsigned char tag[16];
  if (gcm) EVP_CIPHER_CTX_ctrl(encrypt.get(), EVP_CTRL_GCM_GET_TAG, 16, tag);

  char* const ciphertext = buffer.data() + lead;
  BioPtr source(BIO_new_mem_buf(ciphertext, static_cast<int>(ciphertext_size)));
  BIO* decrypting = BIO_new(BIO_f_cipher());
  EVP_CIPHER_CTX* context = nullptr;
  BIO_get_cipher_ctx(decrypting, &context);
  EVP_CipherInit_ex(context, cipher, nullptr, nullptr, nullptr, 0);
  if (gcm) EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
  EVP_CipherInit_ex(context, nullptr, nullptr, key, iv, 0);
  if (gcm) EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, 16, tag);
  BIO* source_bio = source.release();
  BioPtr chain(BIO_push(decrypting, source_bio));
  InPlaceSink sink{.out = buffer.data(),
                   .source_begin = ciphertext,
                   .source_size = ciphertext_size,
                   .source = source_bio};
  BioPtr bio = NewInPlaceSinkBio(&sink);
  char chunk[4096];
  for (int n; (n = BIO_read(chain.get(), chunk, sizeof chunk)) > 0;) {
    if (BIO_write(bio.get(), chunk, n) != n) break;
  }
  *overtook = sink.overtook;
  EXPECT_EQ(BIO_get_cipher_status(chain.get()), 1);
  return buffer.substr(0, sink.written);
}

TEST(InPlaceSinkBioTest, CbcAndGcmThroughTheCipherBioNeverOvertake) {
  for (const EVP_CIPHER* cipher : {EVP_aes_256_cbc(), EVP_aes_256_gcm()}) {
    for (size_t size : {0u, 1u, 15u, 16u, 17u, 4095u, 4096u, 4097u, 100000u, 1u << 20}) {
      for (size_t lead : {0u, 1u, 100u}) {
        SCOPED_TRACE(absl::StrCat(EVP_CIPHER_get0_name(cipher), " ", size, " lead ", lead));
        std::string plaintext(size, '\0');
        for (size_t i = 0; i < size; ++i) plaintext[i] = static_cast<char>(i * 13 + i / 97);
        bool overtook = true;
        const std::string decrypted = DecryptInPlace(cipher, plaintext, lead, &overtook);
        EXPECT_FALSE(overtook);
        EXPECT_TRUE(decrypted == plaintext);
      }
    }
  }
}

}  // namespace
}  // namespace signet::cms
