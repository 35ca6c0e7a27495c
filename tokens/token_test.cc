#include "tokens/token.h"

#include <sys/stat.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/softhsm.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/token_env.h"
#include "tokens/token_registry.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using fixtures::Deadline;
using fixtures::SoftHsm;
using ::testing::HasSubstr;
using ::testing::Not;

class TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SoftHsm>> hsm = SoftHsm::Create();
    ASSERT_THAT(hsm, IsOk());
    hsm_ = std::move(*hsm);
    absl::StatusOr<fixtures::TokenInfo> bank = hsm_->InitToken("bank", "41592653");
    absl::StatusOr<fixtures::TokenInfo> branch = hsm_->InitToken("branch", "27182818");
    ASSERT_THAT(bank, IsOk());
    ASSERT_THAT(branch, IsOk());
    bank_ = *bank;
    branch_ = *branch;
    absl::StatusOr<std::shared_ptr<Module>> module = Module::Load(SoftHsm::ModulePath());
    ASSERT_THAT(module, IsOk());
    module_ = *module;
  }

  absl::StatusOr<std::shared_ptr<Token>> Open(TokenSelector selector, std::string pin) {
    TokenOptions options;
    options.name = "t";
    options.selector = std::move(selector);
    options.pin_source = std::make_shared<LiteralPinSourceForTests>(SecretString(pin));
    return Token::Open(module_, options);
  }

  std::unique_ptr<SoftHsm> hsm_;
  fixtures::TokenInfo bank_, branch_;
  std::shared_ptr<Module> module_;
};

TEST_F(TokenTest, FindsTokensByLabelSerialAndUri) {
  for (auto [selector, expected] :
       {std::pair{TokenSelector::ByLabel("branch"), branch_},
        std::pair{TokenSelector::BySerial(bank_.serial), bank_},
        std::pair{*TokenSelector::FromUri("pkcs11:token=branch"), branch_},
        std::pair{*TokenSelector::FromUri("pkcs11:serial=" + bank_.serial), bank_}}) {
    absl::StatusOr<std::shared_ptr<Token>> token = Open(selector, expected.user_pin);
    ASSERT_THAT(token, IsOk());
    TokenStatus status = (*token)->Status();
    EXPECT_EQ(status.state, TokenState::kReady) << status.detail;
    EXPECT_EQ(status.description.label, expected.label);
    EXPECT_EQ(status.description.serial, expected.serial);
  }
}

TEST_F(TokenTest, LogsInOnceForManySessions) {
  absl::StatusOr<std::shared_ptr<Token>> token = Open(TokenSelector::ByLabel("bank"), "41592653");
  ASSERT_THAT(token, IsOk());
  std::vector<SessionLease> leases;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<SessionLease> lease = (*token)->Acquire(Deadline());
    ASSERT_THAT(lease, IsOk());
    leases.push_back(std::move(*lease));
  }
  EXPECT_EQ(module_->counters().Get(P11Fn::kLogin), 1u);
  EXPECT_EQ(module_->counters().Get(P11Fn::kOpenSession), 4u);
}

TEST_F(TokenTest, AbsentTokenIsAStateNotAnError) {
  absl::StatusOr<std::shared_ptr<Token>> token = Open(TokenSelector::ByLabel("vault"), "0000");
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ((*token)->state(), TokenState::kAbsent);
  absl::StatusOr<SessionLease> lease = (*token)->Acquire(Deadline());
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsRetryable(lease.status()));
  EXPECT_THAT(lease.status().message(), HasSubstr("token=vault"));
}

TEST_F(TokenTest, AmbiguousSelectorAndBadConfigurationAreErrors) {
  TokenSelector any_softhsm;
  any_softhsm.manufacturer = "SoftHSM project";
  absl::StatusOr<std::shared_ptr<Token>> token = Open(any_softhsm, "x");
  ASSERT_THAT(token, IsOk());
  EXPECT_NE((*token)->state(), TokenState::kReady);
  EXPECT_THAT((*token)->Status().detail, HasSubstr("2 tokens match"));

  EXPECT_EQ(Open(TokenSelector{}, "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TokenSelector::FromUri("pkcs11:object=key").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TokenTest, PinFromAFileWithTheRightModeLogsIn) {
  const std::string path = hsm_->dir() + "/bank.pin";
  { std::ofstream(path) << bank_.user_pin << "\n"; }
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  TokenOptions options;
  options.name = "bank";
  options.selector = TokenSelector::ByLabel("bank");
  options.pin_source = std::make_shared<FilePinSource>(path);
  absl::StatusOr<std::shared_ptr<Token>> token = Token::Open(module_, options);
  ASSERT_THAT(token, IsOk());
  EXPECT_NE((*token)->state(), TokenState::kReady);
  EXPECT_THAT((*token)->Status().detail, Not(HasSubstr(bank_.user_pin)));
  EXPECT_EQ(module_->counters().Get(P11Fn::kLogin), 0u) << "an unreadable PIN was presented";

  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  EXPECT_THAT((*token)->Rescan(), IsOk());
  EXPECT_EQ((*token)->state(), TokenState::kReady);
}

TEST_F(TokenTest, RegistryListsAndFindsTokensByName) {
  TokenRegistry registry;
  TokenConfig bank{.module_path = SoftHsm::ModulePath()};
  bank.options.name = "bank";
  bank.options.selector = TokenSelector::ByLabel("bank");
  bank.options.pin_source = std::make_shared<LiteralPinSourceForTests>(SecretString("41592653"));
  ASSERT_THAT(registry.Add(bank), IsOk());
  EXPECT_EQ(registry.Add(bank).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(registry.Get("bank"), IsOk());
  EXPECT_EQ(registry.Get("nope").status().code(), absl::StatusCode::kNotFound);
  std::vector<TokenStatus> listed = registry.List();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].state, TokenState::kReady);
  absl::StatusOr<std::vector<TokenDescription>> present =
      TokenRegistry::Discover(SoftHsm::ModulePath());
  ASSERT_THAT(present, IsOk());
  EXPECT_EQ(present->size(), 2u);
}

}  // namespace
}  // namespace signet
