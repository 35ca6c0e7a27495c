#include "appliance/directory/recipient_algorithms.h"

#include <openssl/objects.h>
#include <openssl/x509.h>

#include <initializer_list>
#include <string>

#include "common/ossl_ptr.h"
#include "gtest/gtest.h"

namespace signet::directory {
namespace {

using cms::ContentCipher;
using cms::RsaKeyTransport;

// An SMIMECapabilities value listing `nids` (no parameters).
std::string Capabilities(std::initializer_list<int> nids) {
  X509AlgorStackPtr list(sk_X509_ALGOR_new_null());
  for (int nid : nids) {
    X509_ALGOR* algorithm = X509_ALGOR_new();
    X509_ALGOR_set0(algorithm, OBJ_nid2obj(nid), V_ASN1_UNDEF, nullptr);
    sk_X509_ALGOR_push(list.get(), algorithm);
  }
  unsigned char* der = nullptr;
  const int length = i2d_X509_ALGORS(list.get(), &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

TEST(RecipientAlgorithmsTest, UnknownCapabilitiesGetSignetsDefaults) {
  const RecipientAlgorithms unknown = AlgorithmsFromCapabilities("");
  EXPECT_FALSE(unknown.from_capabilities);
  const ChosenAlgorithms chosen = ChooseAlgorithms({unknown});
  EXPECT_EQ(chosen.cipher, ContentCipher::kAes256Gcm);
  EXPECT_EQ(chosen.rsa_key_transport, RsaKeyTransport::kOaepSha256);
  // Garbage advertises nothing.
  EXPECT_FALSE(AlgorithmsFromCapabilities("\x30\x05garbage").from_capabilities);
}

TEST(RecipientAlgorithmsTest, ACbcOnlyClientWithoutOaepGetsCbcAndPkcs1) {
  // What gpgsm advertises: AES and 3DES in CBC mode, no OAEP.
  const RecipientAlgorithms cbc_client = AlgorithmsFromCapabilities(
      Capabilities({NID_aes_128_cbc, NID_aes_256_cbc, NID_des_ede3_cbc}));
  EXPECT_TRUE(cbc_client.from_capabilities);
  const ChosenAlgorithms chosen = ChooseAlgorithms({cbc_client});
  EXPECT_EQ(chosen.cipher, ContentCipher::kAes256Cbc);
  EXPECT_EQ(chosen.rsa_key_transport, RsaKeyTransport::kPkcs1);
}

TEST(RecipientAlgorithmsTest, GcmAndOaepWhenAdvertised) {
  const ChosenAlgorithms chosen = ChooseAlgorithms({AlgorithmsFromCapabilities(
      Capabilities({NID_aes_128_gcm, NID_aes_128_cbc, NID_rsaesOaep}))});
  EXPECT_EQ(chosen.cipher, ContentCipher::kAes128Gcm);
  EXPECT_EQ(chosen.rsa_key_transport, RsaKeyTransport::kOaepSha256);
}

TEST(RecipientAlgorithmsTest, SeveralRecipientsGetWhatAllRead) {
  const RecipientAlgorithms modern = AlgorithmsFromCapabilities(
      Capabilities({NID_aes_256_gcm, NID_aes_256_cbc, NID_aes_128_cbc, NID_rsaesOaep}));
  const RecipientAlgorithms old = AlgorithmsFromCapabilities(Capabilities({NID_aes_128_cbc}));
  EXPECT_EQ(ChooseAlgorithms({modern, RecipientAlgorithms{}}).cipher, ContentCipher::kAes256Gcm);
  const ChosenAlgorithms both = ChooseAlgorithms({modern, old});
  EXPECT_EQ(both.cipher, ContentCipher::kAes128Cbc);
  EXPECT_EQ(both.rsa_key_transport, RsaKeyTransport::kPkcs1);
}

TEST(RecipientAlgorithmsTest, NoAesAtAllStillGetsTheMandatoryAes128Cbc) {
  const RecipientAlgorithms des_only =
      AlgorithmsFromCapabilities(Capabilities({NID_des_ede3_cbc, NID_rc2_cbc}));
  EXPECT_TRUE(des_only.aes128_cbc);
  EXPECT_EQ(ChooseAlgorithms({des_only}).cipher, ContentCipher::kAes128Cbc);
}

}  // namespace
}  // namespace signet::directory
