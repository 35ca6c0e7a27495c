#include "appliance/audit/audit_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "appliance/audit/chain.h"
#include "appliance/audit/checkpoint_signer.h"
#include "appliance/audit/testing.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::audit {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

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
  ASSERT_THAT(signature, IsOk());
  for (const std::string& form :
       {testing::PublicKeyPem(key()), testing::PublicKeyDer(key()), testing::CertificatePem(key()),
        testing::CertificateDer(key()), signer->PublicKeyDer()}) {
    absl::StatusOr<AuditPublicKey> public_key = AuditPublicKey::Parse(form);
    ASSERT_THAT(public_key, IsOk());
    EXPECT_THAT(public_key->Verify("statement", *signature), IsOk());
    EXPECT_EQ(public_key->key_id(), Sha256(signer->PublicKeyDer()));
  }
  absl::StatusOr<AuditPublicKey> from_key = AuditPublicKey::FromKey(key());
  ASSERT_THAT(from_key, IsOk());
  EXPECT_THAT(from_key->Verify("statement", *signature), IsOk());
}

TEST_P(AuditKeyTest, AnotherStatementOrKeyDoesNotVerify) {
  std::unique_ptr<CheckpointSigner> signer = testing::SignerFor(key());
  absl::StatusOr<std::string> signature = signer->Sign("statement");
  ASSERT_THAT(signature, IsOk());
  absl::StatusOr<AuditPublicKey> public_key = AuditPublicKey::FromKey(key());
  ASSERT_THAT(public_key, IsOk());
  absl::Status status = public_key->Verify("statemenT", *signature);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr("does not verify"));
  EXPECT_THAT(public_key->Verify("statement", ""), Not(IsOk()));

  EvpPkeyPtr other = GetParam() ? testing::NewRsaKey() : testing::NewEcKey();
  absl::StatusOr<AuditPublicKey> other_key = AuditPublicKey::FromKey(other.get());
  ASSERT_THAT(other_key, IsOk());
  EXPECT_THAT(other_key->Verify("statement", *signature), Not(IsOk()));
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
  EXPECT_THAT(NewEvpCheckpointSigner(nullptr), Not(IsOk()));
}

}  // namespace
}  // namespace signet::audit
