#include "tokens/token_init.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/softhsm.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;

// pkcs11-tool, an independent PKCS#11 client, logs in as user with `pin`.
bool PinOpensToken(const std::string& label, const std::string& pin) {
  absl::StatusOr<fixtures::CommandResult> result =
      fixtures::RunCommand({"pkcs11-tool", "--module", fixtures::SoftHsm::ModulePath(),
                            "--token-label", label, "--login", "--pin", pin, "--list-objects"});
  return result.ok() && result->exit_code == 0;
}

// pkcs11-tool logs the SO in only on read-write sessions it opens for
// writing, so the SO PIN is tried through the module directly.
CK_RV SoLogin(const Module& module, CK_SLOT_ID slot, const std::string& pin) {
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_RV rv = SIGNET_P11(module, OpenSession, slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                        nullptr, &session);
  if (rv != CKR_OK) return rv;
  rv = SIGNET_P11(module, Login, session, CKU_SO,
                  reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.data())), pin.size());
  if (rv == CKR_OK) SIGNET_P11(module, Logout, session);
  SIGNET_P11(module, CloseSession, session);
  return rv;
}

class TokenInitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<fixtures::SoftHsm>> hsm = fixtures::SoftHsm::Create();
    ASSERT_THAT(hsm, IsOk());
    hsm_ = std::move(*hsm);
    absl::StatusOr<std::shared_ptr<Module>> module = Module::Load(fixtures::SoftHsm::ModulePath());
    ASSERT_THAT(module, IsOk());
    module_ = std::move(*module);
  }

  std::unique_ptr<fixtures::SoftHsm> hsm_;
  std::shared_ptr<Module> module_;
};

TEST_F(TokenInitTest, InitialisesAFreeSlotWithBothPins) {
  absl::StatusOr<TokenDescription> token = InitializeToken(
      *module_, "signet-dev", SecretString("so-secret-1"), SecretString("user-secret-1"));
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(token->label, "signet-dev");
  EXPECT_TRUE(token->flags & CKF_USER_PIN_INITIALIZED);
  // Our module instance keeps SoftHSM's state in this process; pkcs11-tool
  // reads the token files, so it sees what was written to disk.
  EXPECT_TRUE(PinOpensToken("signet-dev", "user-secret-1"));
  EXPECT_FALSE(PinOpensToken("signet-dev", "so-secret-1"));
  EXPECT_EQ(SoLogin(*module_, token->slot, "so-secret-1"), CKR_OK);
  EXPECT_EQ(SoLogin(*module_, token->slot, "user-secret-1"), CKR_PIN_INCORRECT);
}

TEST_F(TokenInitTest, RefusesALabelInUseAndLeavesThatTokenAlone) {
  ASSERT_THAT(InitializeToken(*module_, "taken", SecretString("so-1"), SecretString("user-1")),
              IsOk());
  absl::StatusOr<TokenDescription> again =
      InitializeToken(*module_, "taken", SecretString("so-2"), SecretString("user-2"));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(PinOpensToken("taken", "user-1"));
  EXPECT_FALSE(PinOpensToken("taken", "user-2"));
}

TEST_F(TokenInitTest, RefusesBadLabelsAndMissingPins) {
  EXPECT_EQ(InitializeToken(*module_, "", SecretString("so"), SecretString("user")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InitializeToken(*module_, std::string(33, 'x'), SecretString("so"), SecretString("u"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status no_pin = InitializeToken(*module_, "t", SecretString(), SecretString("u")).status();
  EXPECT_EQ(no_pin.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_pin.message(), HasSubstr("SO PIN"));
}

TEST_F(TokenInitTest, TwoTokensSideBySide) {
  absl::StatusOr<TokenDescription> first =
      InitializeToken(*module_, "first", SecretString("so-a"), SecretString("user-a"));
  ASSERT_THAT(first, IsOk());
  absl::StatusOr<TokenDescription> second =
      InitializeToken(*module_, "second", SecretString("so-b"), SecretString("user-b"));
  ASSERT_THAT(second, IsOk());
  EXPECT_NE(first->serial, second->serial);
  EXPECT_TRUE(PinOpensToken("first", "user-a"));
  EXPECT_TRUE(PinOpensToken("second", "user-b"));
}

}  // namespace
}  // namespace signet
