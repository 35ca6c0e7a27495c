// The check every token signature passes before it is released: signatures
// made here by OpenSSL with the private key (what a healthy token returns)
// verify; a flipped byte, another key, another salt length or another digest
// do not.
#include "tokens/keys/signature_check.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/ossl_ptr.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tokens/keys/signature_encoding.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

constexpr HashAlgorithm kHashes[] = {HashAlgorithm::kSha256, HashAlgorithm::kSha384,
                                     HashAlgorithm::kSha512};

std::string Digest(HashAlgorithm hash, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), out, &length, HashMd(hash), nullptr), 1);
  return std::string(reinterpret_cast<char*>(out), length);
}

// What the token does, done by OpenSSL with the private key. ECDSA comes out
// in DER, as TokenKey hands it to the check.
std::string OpenSslSign(EVP_PKEY* key, const SignatureCheck& check, const std::string& digest) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  EXPECT_NE(ctx, nullptr);
  if (!ctx) return {};
  EXPECT_EQ(EVP_PKEY_sign_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_signature_md(ctx.get(), HashMd(check.hash)), 1);
  if (check.scheme == SignatureScheme::kRsaPkcs1) {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING), 1);
  } else if (check.scheme == SignatureScheme::kRsaPss) {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), HashMd(check.hash)), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), check.pss_salt_length), 1);
  }
  size_t length = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(digest.data());
  EXPECT_EQ(EVP_PKEY_sign(ctx.get(), nullptr, &length, in, digest.size()), 1);
  std::string signature(length, '\0');
  EXPECT_EQ(EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                          in, digest.size()),
            1);
  signature.resize(length);
  return signature;
}

std::string Flip(std::string signature, size_t index) {
  signature[index] = static_cast<char>(signature[index] ^ 0x01);
  return signature;
}

// The verdict, with the error queue checked to be empty afterwards.
bool Verifies(const EVP_PKEY* key, const SignatureCheck& check, const std::string& digest,
              const std::string& signature) {
  absl::StatusOr<bool> verified = SignatureVerifies(key, check, digest, signature);
  EXPECT_THAT(verified, IsOk());
  EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL's error queue was left behind";
  return verified.ok() && *verified;
}

class SignatureCheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = EVP_RSA_gen(2048);
    other_rsa_ = EVP_RSA_gen(2048);
    p256_ = EVP_EC_gen("P-256");
    other_p256_ = EVP_EC_gen("P-256");
    p384_ = EVP_EC_gen("P-384");
  }
  static void TearDownTestSuite() {
    for (EVP_PKEY** key : {&rsa_, &other_rsa_, &p256_, &other_p256_, &p384_}) {
      EVP_PKEY_free(*key);
      *key = nullptr;
    }
  }
  void SetUp() override {
    for (EVP_PKEY* key : {rsa_, other_rsa_, p256_, other_p256_, p384_}) ASSERT_NE(key, nullptr);
  }

  static EVP_PKEY* rsa_;
  static EVP_PKEY* other_rsa_;
  static EVP_PKEY* p256_;
  static EVP_PKEY* other_p256_;
  static EVP_PKEY* p384_;
};

EVP_PKEY* SignatureCheckTest::rsa_ = nullptr;
EVP_PKEY* SignatureCheckTest::other_rsa_ = nullptr;
EVP_PKEY* SignatureCheckTest::p256_ = nullptr;
EVP_PKEY* SignatureCheckTest::other_p256_ = nullptr;
EVP_PKEY* SignatureCheckTest::p384_ = nullptr;

TEST_F(SignatureCheckTest, RsaPkcs1GoodSignaturesVerifyAndAlteredOnesDoNot) {
  for (HashAlgorithm hash : kHashes) {
    SCOPED_TRACE(HashName(hash));
    const SignatureCheck check{.scheme = SignatureScheme::kRsaPkcs1, .hash = hash};
    const std::string digest = Digest(hash, "statement for account 42");
    const std::string signature = OpenSslSign(rsa_, check, digest);
    ASSERT_EQ(signature.size(), 256u);
    EXPECT_TRUE(Verifies(rsa_, check, digest, signature));
    EXPECT_FALSE(Verifies(rsa_, check, digest, Flip(signature, 0)));
    EXPECT_FALSE(Verifies(rsa_, check, digest, Flip(signature, 128)));
    EXPECT_FALSE(Verifies(rsa_, check, digest, Flip(signature, 255)));
    EXPECT_FALSE(Verifies(other_rsa_, check, digest, signature));
    EXPECT_FALSE(Verifies(rsa_, check, Digest(hash, "statement for account 43"), signature));
    EXPECT_FALSE(Verifies(rsa_, check, digest, signature.substr(1)));
    // A PKCS#1 v1.5 signature is no PSS signature.
    EXPECT_FALSE(Verifies(rsa_,
                          {.scheme = SignatureScheme::kRsaPss,
                           .hash = hash,
                           .pss_salt_length = static_cast<int>(DigestLength(hash))},
                          digest, signature));
  }
}

// What the token really does for PKCS#1 v1.5: CKM_RSA_PKCS pads and signs
// the DigestInfo that TokenKey encodes. Raw PKCS#1 signing by OpenSSL (no
// digest set) does the same.
std::string RawPkcs1Sign(EVP_PKEY* key, const std::string& data) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  EXPECT_EQ(EVP_PKEY_sign_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING), 1);
  std::string signature(static_cast<size_t>(EVP_PKEY_get_size(key)), '\0');
  size_t length = signature.size();
  EXPECT_EQ(EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()),
            1);
  signature.resize(length);
  return signature;
}

TEST_F(SignatureCheckTest, RsaPkcs1OverTheDigestInfoOfTheRightHashOnly) {
  for (HashAlgorithm hash : kHashes) {
    SCOPED_TRACE(HashName(hash));
    const SignatureCheck check{.scheme = SignatureScheme::kRsaPkcs1, .hash = hash};
    const std::string digest = Digest(hash, "m");
    absl::StatusOr<std::string> info = EncodeDigestInfo(hash, digest);
    ASSERT_THAT(info, IsOk());
    EXPECT_TRUE(Verifies(rsa_, check, digest, RawPkcs1Sign(rsa_, *info)));
    // The bare digest, without its DigestInfo, is not a PKCS#1 v1.5
    // signature of it.
    EXPECT_FALSE(Verifies(rsa_, check, digest, RawPkcs1Sign(rsa_, digest)));
  }
  // A DigestInfo that names SHA-512 over 32 bytes is not a SHA-256 one.
  const std::string digest = Digest(HashAlgorithm::kSha256, "m");
  absl::StatusOr<std::string> sha256_info = EncodeDigestInfo(HashAlgorithm::kSha256, digest);
  ASSERT_THAT(sha256_info, IsOk());
  std::string wrong_oid = *sha256_info;
  wrong_oid[14] = '\x03';  // ...04 02 01 (SHA-256) becomes ...04 02 03 (SHA-512)
  EXPECT_FALSE(Verifies(rsa_, {.scheme = SignatureScheme::kRsaPkcs1}, digest,
                        RawPkcs1Sign(rsa_, wrong_oid)));
}

TEST_F(SignatureCheckTest, RsaPssGoodSignaturesVerifyWithTheirSaltLengthOnly) {
  for (HashAlgorithm hash : kHashes) {
    const int digest_length = static_cast<int>(DigestLength(hash));
    const int max_salt = 256 - digest_length - 2;
    for (int salt : {digest_length, 0, max_salt}) {
      SCOPED_TRACE(absl::StrCat(HashName(hash), " salt ", salt));
      const SignatureCheck check{
          .scheme = SignatureScheme::kRsaPss, .hash = hash, .pss_salt_length = salt};
      const std::string digest = Digest(hash, "wire transfer");
      const std::string signature = OpenSslSign(rsa_, check, digest);
      EXPECT_TRUE(Verifies(rsa_, check, digest, signature));
      EXPECT_FALSE(Verifies(rsa_, check, digest, Flip(signature, 17)));
      EXPECT_FALSE(Verifies(rsa_, check, digest, Flip(signature, 255)));
      EXPECT_FALSE(Verifies(other_rsa_, check, digest, signature));
      // Another salt length, shorter or longer: refused, not just bounded.
      for (int wrong : {salt == 0 ? 1 : salt - 1, salt == max_salt ? 0 : salt + 1}) {
        SignatureCheck other = check;
        other.pss_salt_length = wrong;
        EXPECT_FALSE(Verifies(rsa_, other, digest, signature)) << "checked with salt " << wrong;
      }
      // A PSS signature is no PKCS#1 v1.5 signature.
      EXPECT_FALSE(
          Verifies(rsa_, {.scheme = SignatureScheme::kRsaPkcs1, .hash = hash}, digest, signature));
    }
  }
}

TEST_F(SignatureCheckTest, RsaPssChecksTheMgf1Hash) {
  // Signed with MGF1-SHA-512 over a SHA-256 digest; the check uses MGF1 with
  // the digest's own hash, as the token was asked to.
  const std::string digest = Digest(HashAlgorithm::kSha256, "m");
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, rsa_, nullptr));
  ASSERT_EQ(EVP_PKEY_sign_init(ctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha512()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), 32), 1);
  std::string signature(256, '\0');
  size_t length = signature.size();
  ASSERT_EQ(EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                          reinterpret_cast<const unsigned char*>(digest.data()), digest.size()),
            1);
  EXPECT_FALSE(Verifies(
      rsa_,
      {.scheme = SignatureScheme::kRsaPss, .hash = HashAlgorithm::kSha256, .pss_salt_length = 32},
      digest, signature));
}

TEST_F(SignatureCheckTest, EcdsaGoodSignaturesVerifyAndAlteredOnesDoNot) {
  for (EVP_PKEY* key : {p256_, p384_}) {
    for (HashAlgorithm hash : kHashes) {
      SCOPED_TRACE(absl::StrCat(EVP_PKEY_get_bits(key), " bits, ", HashName(hash)));
      const SignatureCheck check{.scheme = SignatureScheme::kEcdsa, .hash = hash};
      const std::string digest = Digest(hash, "wire transfer");
      const std::string signature = OpenSslSign(key, check, digest);
      ASSERT_FALSE(signature.empty());
      EXPECT_TRUE(Verifies(key, check, digest, signature));
      // The last byte is in s; a byte in the middle is in r or s.
      EXPECT_FALSE(Verifies(key, check, digest, Flip(signature, signature.size() - 1)));
      EXPECT_FALSE(Verifies(key, check, digest, Flip(signature, signature.size() / 2)));
      // A flipped DER header: not even an Ecdsa-Sig-Value.
      EXPECT_FALSE(Verifies(key, check, digest, Flip(signature, 0)));
      EXPECT_FALSE(Verifies(key, check, Digest(hash, "another transfer"), signature));
      EXPECT_FALSE(Verifies(key, check, digest, signature.substr(0, signature.size() - 1)));
    }
  }
  const SignatureCheck check{.scheme = SignatureScheme::kEcdsa};
  const std::string digest = Digest(HashAlgorithm::kSha256, "m");
  EXPECT_FALSE(Verifies(other_p256_, check, digest, OpenSslSign(p256_, check, digest)));
}

TEST_F(SignatureCheckTest, EcdsaWantsDerNotTheTokensRawRAndS) {
  const SignatureCheck check{.scheme = SignatureScheme::kEcdsa};
  const std::string digest = Digest(HashAlgorithm::kSha256, "m");
  const std::string der = OpenSslSign(p256_, check, digest);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_NE(sig, nullptr);
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(64, '\0');
  ASSERT_EQ(BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32), 32);
  ASSERT_EQ(BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32), 32);
  EXPECT_FALSE(Verifies(p256_, check, digest, raw));
  absl::StatusOr<std::string> converted = EcdsaRawToDer(raw);
  ASSERT_THAT(converted, IsOk());
  EXPECT_TRUE(Verifies(p256_, check, digest, *converted));
}

TEST_F(SignatureCheckTest, ACheckThatCannotBeMadeIsAnErrorNotAVerdict) {
  const std::string digest = Digest(HashAlgorithm::kSha256, "m");
  const std::string signature = OpenSslSign(p256_, {.scheme = SignatureScheme::kEcdsa}, digest);
  // ECDSA with an RSA key, RSA with an EC key.
  EXPECT_EQ(SignatureVerifies(rsa_, {.scheme = SignatureScheme::kEcdsa}, digest, signature)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignatureVerifies(p256_, {.scheme = SignatureScheme::kRsaPkcs1}, digest, signature)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // A digest that is not of the hash named.
  EXPECT_EQ(
      SignatureVerifies(p256_, {.scheme = SignatureScheme::kEcdsa, .hash = HashAlgorithm::kSha384},
                        digest, signature)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignatureVerifies(nullptr, {.scheme = SignatureScheme::kEcdsa}, digest, signature)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignatureVerifies(rsa_, {.scheme = SignatureScheme::kRsaPss, .pss_salt_length = -1},
                              digest, std::string(256, 'x'))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(SignatureCheckTest, AKeyWithOnlyItsPublicHalfVerifies) {
  // TokenKey holds only the public key.
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(p256_, &der);
  ASSERT_GT(length, 0);
  const unsigned char* p = der;
  EvpPkeyPtr public_only(d2i_PUBKEY(nullptr, &p, length));
  OPENSSL_free(der);
  ASSERT_NE(public_only, nullptr);
  const SignatureCheck check{.scheme = SignatureScheme::kEcdsa};
  const std::string digest = Digest(HashAlgorithm::kSha256, "m");
  EXPECT_TRUE(Verifies(public_only.get(), check, digest, OpenSslSign(p256_, check, digest)));
}

}  // namespace
}  // namespace signet
