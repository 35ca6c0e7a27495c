#include "appliance/audit/audit_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "appliance/audit/chain.h"
#include "appliance/audit/checkpoint_signer.h"
#include "appliance/audit/testing.h"

namespace signet::audit {
namespace {

using ::testing::HasSubstr;

class AuditKeyTest : public ::testing::TestWithParam<bool> {
 protected:
  EVP_PKEY* key() const { return GetParam() ? testing::RsaKey() : testing::EcKey(); }
};

INSTANTIATE_TEST_SUITE_P(RsaAndEc, AuditKeyTest, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "Rsa" : "EcP256"; });

TEST_P(AuditKeyTest, SignaturesVerifyWithThePublicKeyInEveryForm) {
  std::unique_ptr<CheckpointSigner> signer = testing::SignerFor(key());
  absl::StatusOr<std::string> signature = signer->Sign("statement");
  ASSERT_TRUE(signature.ok()) << signature.status();
  for (const std::string& form :
       {testing::PublicKeyPem(key()), testing::PublicKeyDer(key()), testing::CertificatePem(key()),
        testing::CertificateDer(key()), signer->PublicKeyDer()}) {
    absl::StatusOr<AuditPublicKey> public_key = AuditPublicKey::Parse(form);
    ASSERT_TRUE(public_key.ok()) << public_key.status();
    EXPECT_TRUE(public_key->Verify("statement", *signature).ok());
    EXPECT_EQ(public_key->key_id(), Sha256(signer->PublicKeyDer()));
  }
  absl::StatusOr<AuditPublicKey> from_key = AuditPublicKey::FromKey(key());
  ASSERT_TRUE(from_key.ok());
  EXPECT_TRUE(from_key->Verify("statement", *signature).ok());
}

TEST_P(AuditKeyTest, AnotherStatementOrKeyDoesNotVerify) {
  std::unique_ptr<CheckpointSigner> signer = testing::SignerFor(key());
  absl::StatusOr<std::string> signature = signer->Sign("statement");
  ASSERT_TRUE(signature.ok());
  absl::StatusOr<AuditPublicKey> public_key = AuditPublicKey::FromKey(key());
  ASSERT_TRUE(public_key.ok());
  absl::Status status = public_key->Verify("statemenT", *signature);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr("does not verify"));
  EXPECT_FALSE(public_key->Verify("statement", "").ok());

  EvpPkeyPtr other = GetParam() ? testing::NewRsaKey() : testing::NewEcKey();
  absl::StatusOr<AuditPublicKey> other_key = AuditPublicKey::FromKey(other.get());
  ASSERT_TRUE(other_key.ok());
  EXPECT_FALSE(other_key->Verify("statement", *signature).ok());
  EXPECT_NE(other_key->key_id(), public_key->key_id());
}

TEST(AuditKeyRefusalTest, RefusesWhatIsNotAnRsaOrEcKey) {
  EXPECT_EQ(AuditPublicKey::Parse("not a key").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AuditPublicKey::Parse("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EvpPkeyPtr ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_TRUE(ed25519);
  absl::StatusOr<AuditPublicKey> parsed =
      AuditPublicKey::Parse(testing::PublicKeyPem(ed25519.get()));
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("must be an RSA or EC key"));
  EXPECT_THAT(std::string(NewEvpCheckpointSigner(ed25519.get()).status().message()),
              HasSubstr("must be an RSA or EC key"));
  EXPECT_FALSE(NewEvpCheckpointSigner(nullptr).ok());
}

}  // namespace
}  // namespace signet::audit
