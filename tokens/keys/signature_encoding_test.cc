#include "tokens/keys/signature_encoding.h"

#include <openssl/ecdsa.h>
#include <openssl/sha.h>

#include "common/ossl_ptr.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

TEST(SignatureEncodingTest, DigestInfoParsesAsTheRightAlgorithm) {
  for (auto [hash, nid] : {std::pair{HashAlgorithm::kSha256, NID_sha256},
                           std::pair{HashAlgorithm::kSha384, NID_sha384},
                           std::pair{HashAlgorithm::kSha512, NID_sha512}}) {
    std::string digest(DigestLength(hash), '\x5a');
    absl::StatusOr<std::string> info = EncodeDigestInfo(hash, digest);
    ASSERT_THAT(info, IsOk());
    const auto* p = reinterpret_cast<const unsigned char*>(info->data());
    X509_SIG* sig = d2i_X509_SIG(nullptr, &p, static_cast<long>(info->size()));
    ASSERT_NE(sig, nullptr);
    const X509_ALGOR* algorithm = nullptr;
    const ASN1_OCTET_STRING* octets = nullptr;
    X509_SIG_get0(sig, &algorithm, &octets);
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, algorithm);
    EXPECT_EQ(OBJ_obj2nid(oid), nid);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(octets)),
                          ASN1_STRING_length(octets)),
              digest);
    X509_SIG_free(sig);
  }
}

TEST(SignatureEncodingTest, DigestInfoRejectsWrongLength) {
  EXPECT_EQ(EncodeDigestInfo(HashAlgorithm::kSha256, std::string(20, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SignatureEncodingTest, EcdsaRawToDerKeepsRAndS) {
  std::string raw(64, '\0');
  raw[0] = '\x00';  // a leading zero in r must not change its value
  raw[1] = '\x80';
  raw[31] = '\x01';
  raw[32] = '\x7f';
  raw[63] = '\x02';
  absl::StatusOr<std::string> der = EcdsaRawToDer(raw);
  ASSERT_THAT(der, IsOk());
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der->size())));
  ASSERT_NE(sig, nullptr);
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  unsigned char r_bytes[32], s_bytes[32];
  ASSERT_EQ(BN_bn2binpad(r, r_bytes, 32), 32);
  ASSERT_EQ(BN_bn2binpad(s, s_bytes, 32), 32);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(r_bytes), 32), raw.substr(0, 32));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(s_bytes), 32), raw.substr(32));
}

TEST(SignatureEncodingTest, EcdsaRawToDerRejectsOddLengths) {
  EXPECT_THAT(EcdsaRawToDer(std::string(63, '\x01')), Not(IsOk()));
  EXPECT_THAT(EcdsaRawToDer(""), Not(IsOk()));
}

}  // namespace
}  // namespace signet
