#include "tokens/keys/oaep.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/ossl_ptr.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

// Encrypts with OAEP-SHA256 and undoes only the RSA step in software, as a
// token's raw CKM_RSA_X_509 would.
SecretBytes RawDecryptionOfOaep(EVP_PKEY* key, const std::string& message) {
  EvpPkeyCtxPtr enc(EVP_PKEY_CTX_new(key, nullptr));
  EVP_PKEY_encrypt_init(enc.get());
  EVP_PKEY_CTX_set_rsa_padding(enc.get(), RSA_PKCS1_OAEP_PADDING);
  EVP_PKEY_CTX_set_rsa_oaep_md(enc.get(), EVP_sha256());
  EVP_PKEY_CTX_set_rsa_mgf1_md(enc.get(), EVP_sha256());
  std::string ciphertext(256, '\0');
  size_t length = ciphertext.size();
  EVP_PKEY_encrypt(enc.get(), reinterpret_cast<unsigned char*>(ciphertext.data()), &length,
                   reinterpret_cast<const unsigned char*>(message.data()), message.size());
  EvpPkeyCtxPtr dec(EVP_PKEY_CTX_new(key, nullptr));
  EVP_PKEY_decrypt_init(dec.get());
  EVP_PKEY_CTX_set_rsa_padding(dec.get(), RSA_NO_PADDING);
  SecretBytes raw(256);
  size_t raw_length = raw.size();
  EVP_PKEY_decrypt(dec.get(), raw.data(), &raw_length,
                   reinterpret_cast<const unsigned char*>(ciphertext.data()), length);
  raw.resize(raw_length);
  return raw;
}

TEST(OaepTest, RemovesPaddingAndRejectsTampering) {
  EvpPkeyPtr key(EVP_RSA_gen(2048));
  ASSERT_NE(key, nullptr);
  SecretBytes raw = RawDecryptionOfOaep(key.get(), "content encryption key");
  ASSERT_EQ(raw.size(), 256u);
  absl::StatusOr<SecretBytes> plain = RemoveOaepSha256Padding(raw, 256);
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(std::string(plain->begin(), plain->end()), "content encryption key");

  // Without its leading zero byte, as some tokens return it.
  SecretBytes stripped(raw.begin() + 1, raw.end());
  if (raw[0] == 0) {
    absl::StatusOr<SecretBytes> again = RemoveOaepSha256Padding(stripped, 256);
    ASSERT_THAT(again, IsOk());
    EXPECT_EQ(*again, *plain);
  }

  SecretBytes tampered = raw;
  tampered[100] ^= 0x01;
  absl::Status bad = RemoveOaepSha256Padding(tampered, 256).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), "decryption failed");
  EXPECT_THAT(RemoveOaepSha256Padding(SecretBytes(257, 1), 256), Not(IsOk()));
}

}  // namespace
}  // namespace signet
