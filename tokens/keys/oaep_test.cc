#include "tokens/keys/oaep.h"

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include "common/ossl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::StatusIs;
using ::testing::Not;
using ::testing::Optional;

constexpr DecryptionScheme kOaepSchemes[] = {
    DecryptionScheme::kRsaOaepSha1, DecryptionScheme::kRsaOaepSha256,
    DecryptionScheme::kRsaOaepSha384, DecryptionScheme::kRsaOaepSha512};

const EVP_MD* DigestOf(DecryptionScheme scheme) {
  switch (scheme) {
    case DecryptionScheme::kRsaOaepSha1:
      return EVP_sha1();
    case DecryptionScheme::kRsaOaepSha384:
      return EVP_sha384();
    case DecryptionScheme::kRsaOaepSha512:
      return EVP_sha512();
    default:
      return EVP_sha256();
  }
}

// Encrypts with OAEP (the scheme's hash for OAEP and MGF1) and undoes only
// the RSA step in software, as a token's raw CKM_RSA_X_509 would.
SecretBytes RawDecryptionOfOaep(EVP_PKEY* key, DecryptionScheme scheme,
                                const std::string& message) {
  EvpPkeyCtxPtr enc(EVP_PKEY_CTX_new(key, nullptr));
  EVP_PKEY_encrypt_init(enc.get());
  EVP_PKEY_CTX_set_rsa_padding(enc.get(), RSA_PKCS1_OAEP_PADDING);
  EVP_PKEY_CTX_set_rsa_oaep_md(enc.get(), DigestOf(scheme));
  EVP_PKEY_CTX_set_rsa_mgf1_md(enc.get(), DigestOf(scheme));
  std::string ciphertext(256, '\0');
  size_t length = ciphertext.size();
  if (EVP_PKEY_encrypt(enc.get(), reinterpret_cast<unsigned char*>(ciphertext.data()), &length,
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1) {
    return {};
  }
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

TEST(OaepTest, RemovesPaddingOfEveryHashAndRejectsTampering) {
  EvpPkeyPtr key(EVP_RSA_gen(2048));
  ASSERT_NE(key, nullptr);
  for (DecryptionScheme scheme : kOaepSchemes) {
    SCOPED_TRACE(SchemeName(scheme));
    SecretBytes raw = RawDecryptionOfOaep(key.get(), scheme, "content encryption key");
    ASSERT_EQ(raw.size(), 256u);
    absl::StatusOr<SecretBytes> plain = RemoveOaepPadding(scheme, raw, 256);
    ASSERT_THAT(plain, IsOk());
    EXPECT_EQ(std::string(plain->begin(), plain->end()), "content encryption key");

    // Without its leading zero byte, as some tokens return it.
    SecretBytes stripped(raw.begin() + 1, raw.end());
    if (raw[0] == 0) {
      absl::StatusOr<SecretBytes> again = RemoveOaepPadding(scheme, stripped, 256);
      ASSERT_THAT(again, IsOk());
      EXPECT_EQ(*again, *plain);
    }

    SecretBytes tampered = raw;
    tampered[100] ^= 0x01;
    EXPECT_EQ(RemoveOaepPadding(scheme, tampered, 256).status(),
              absl::InvalidArgumentError("decryption failed"));
    EXPECT_THAT(RemoveOaepPadding(scheme, SecretBytes(257, 1), 256), Not(IsOk()));
    // Padded with another hash: the same one error, not a different one.
    for (DecryptionScheme other : kOaepSchemes) {
      if (other == scheme) continue;
      EXPECT_EQ(RemoveOaepPadding(other, raw, 256).status(),
                absl::InvalidArgumentError("decryption failed"))
          << SchemeName(other);
    }
  }
}

TEST(OaepTest, PkcsOneIsNotOaep) {
  EXPECT_THAT(RemoveOaepPadding(DecryptionScheme::kRsaPkcs1, SecretBytes(256, 1), 256),
              StatusIs(absl::StatusCode::kInternal));
}

TEST(OaepTest, SchemesAreOneHashForOaepAndMgf1) {
  EXPECT_THAT(OaepScheme(NID_sha1, NID_sha1), Optional(DecryptionScheme::kRsaOaepSha1));
  EXPECT_THAT(OaepScheme(NID_sha256, NID_sha256), Optional(DecryptionScheme::kRsaOaepSha256));
  EXPECT_THAT(OaepScheme(NID_sha384, NID_sha384), Optional(DecryptionScheme::kRsaOaepSha384));
  EXPECT_THAT(OaepScheme(NID_sha512, NID_sha512), Optional(DecryptionScheme::kRsaOaepSha512));
  EXPECT_EQ(OaepScheme(NID_sha224, NID_sha224), std::nullopt);
  EXPECT_EQ(OaepScheme(NID_sha3_256, NID_sha3_256), std::nullopt);
  EXPECT_EQ(OaepScheme(NID_sha512, NID_sha256), std::nullopt);
  EXPECT_EQ(OaepScheme(NID_sha256, NID_sha1), std::nullopt);
  EXPECT_EQ(OaepScheme(NID_undef, NID_undef), std::nullopt);
}

}  // namespace
}  // namespace signet
