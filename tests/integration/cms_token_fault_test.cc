// The CMS engine over a token that fails: token states reach the caller as
// such (retryable, with the CKR_* name), while a token's refusal of a
// ciphertext stays inside decryption's one uniform error.
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/cms/decryptor.h"
#include "appliance/cms/mail_encryptor.h"
#include "appliance/cms/mail_signer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/fault_pkcs11/fault_control_client.h"
#include "tests/fixtures/provider_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_mail.h"
#include "tokens/ck_status.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;

using fixtures::ProviderEnv;
using testing::FaultControl;
using ::testing::HasSubstr;

class CmsTokenFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<FaultControl> control = FaultControl::Attach(SIGNET_FAULT_PKCS11_PATH);
    ASSERT_THAT(control, IsOk());
    faults_ = std::make_unique<FaultControl>(*control);
    faults_->Reset();
    absl::StatusOr<std::unique_ptr<ProviderEnv>> env = ProviderEnv::Create(
        {{.name = "sign", .id_hex = "01", .key_type = "rsa:2048"},
         {.name = "dec", .id_hex = "02", .key_type = "rsa:2048", .for_encryption = true}},
        "cms-faults", SIGNET_FAULT_PKCS11_PATH);
    ASSERT_THAT(env, IsOk());
    env_ = std::move(*env);
    absl::StatusOr<std::string> encrypted =
        EncryptMail(Context(), fixtures::ShortStatement().Text(), {env_->certificate("dec")}, {});
    ASSERT_THAT(encrypted, IsOk());
    encrypted_ = *encrypted;
  }
  void TearDown() override {
    if (faults_) faults_->Reset();
    env_.reset();
  }

  CmsContext Context() const { return {.libctx = env_->libctx()}; }
  absl::StatusOr<std::string> Sign() {
    return SignMail(Context(), fixtures::ShortStatement().Text(),
                    {.key = env_->key("sign"), .certificate = env_->certificate("sign")}, {});
  }
  absl::StatusOr<DecryptedMail> Decrypt() {
    return DecryptMail(Context(), encrypted_,
                       {.key = env_->key("dec"), .certificate = env_->certificate("dec")});
  }

  std::unique_ptr<FaultControl> faults_;
  std::unique_ptr<ProviderEnv> env_;
  std::string encrypted_;
};

TEST_F(CmsTokenFaultTest, AbsentTokenIsRetryableForSigningAndDecryption) {
  faults_->RemoveToken(FaultControl::kAllSlots);
  absl::StatusOr<std::string> signed_mail = Sign();
  EXPECT_EQ(signed_mail.status().code(), absl::StatusCode::kUnavailable) << signed_mail.status();
  EXPECT_TRUE(IsRetryable(signed_mail.status()));
  EXPECT_THAT(signed_mail.status().message(), HasSubstr("signing failed"));
  absl::StatusOr<DecryptedMail> decrypted = Decrypt();
  EXPECT_EQ(decrypted.status().code(), absl::StatusCode::kUnavailable) << decrypted.status();
  EXPECT_TRUE(IsRetryable(decrypted.status()));

  faults_->InsertToken(FaultControl::kAllSlots);
  // The token layer recovers on its own; a caller that retries gets through.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!(signed_mail = Sign()).ok() && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(20));
  EXPECT_THAT(signed_mail, IsOk());
  decrypted = Decrypt();
  ASSERT_THAT(decrypted, IsOk());
  EXPECT_THAT(std::string(decrypted->entity()), HasSubstr("1,234.56"));
}

TEST_F(CmsTokenFaultTest, DeviceErrorDuringDecryptionIsATokenState) {
  faults_->Fail("C_Decrypt", CKR_DEVICE_ERROR, 1);
  absl::StatusOr<DecryptedMail> decrypted = Decrypt();
  EXPECT_EQ(decrypted.status().code(), absl::StatusCode::kUnavailable) << decrypted.status();
  EXPECT_EQ(CkRvOf(decrypted.status()), CKR_DEVICE_ERROR);
}

TEST_F(CmsTokenFaultTest, TokenRefusingTheCiphertextGivesTheUniformError) {
  for (CK_RV rv : {CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE}) {
    faults_->Fail("C_Decrypt", rv, 1);
    absl::StatusOr<DecryptedMail> decrypted = Decrypt();
    EXPECT_EQ(decrypted.status(), absl::InvalidArgumentError(kDecryptionFailed)) << CkrName(rv);
  }
  EXPECT_THAT(Decrypt(), IsOk());
}

TEST_F(CmsTokenFaultTest, OneSigningFaultIsRetriedByTheTokenLayer) {
  faults_->Fail("C_Sign", CKR_DEVICE_ERROR, 1);
  absl::StatusOr<std::string> signed_mail = Sign();
  EXPECT_THAT(signed_mail, IsOk());
}

}  // namespace
}  // namespace signet::cms
