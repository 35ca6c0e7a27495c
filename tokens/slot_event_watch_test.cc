#include "tokens/slot_event_watch.h"

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/softhsm.h"
#include "tokens/pin_source.h"
#include "tokens/token_registry.h"
// Last: it brings in p11-kit's pkcs11.h and its macros.
#include "tests/fixtures/fault_pkcs11/fault_control_client.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

using ::testing::HasSubstr;

// A token behind the fault module, whose C_WaitForSlotEvent reports the
// removals and insertions the test makes; nothing calls the token between
// them, so only the watch can notice.
class SlotEventWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<fixtures::SoftHsm>> hsm = fixtures::SoftHsm::Create();
    ASSERT_THAT(hsm, IsOk());
    hsm_ = std::move(*hsm);
    absl::StatusOr<fixtures::TokenInfo> info = hsm_->InitTokenWithKeys(
        "watched", {{.label = "k", .id_hex = "01", .key_type = "EC:prime256v1"}}, "1234");
    ASSERT_THAT(info, IsOk());
    absl::StatusOr<testing::FaultControl> faults =
        testing::FaultControl::Attach(SIGNET_FAULT_PKCS11_PATH);
    ASSERT_THAT(faults, IsOk());
    faults_.emplace(*faults);
    faults_->Reset();

    TokenConfig config;
    config.module_path = SIGNET_FAULT_PKCS11_PATH;
    config.options.name = "hsm";
    config.options.selector = TokenSelector::ByLabel("watched");
    config.options.pin_source =
        std::make_shared<LiteralPinSourceForTests>(SecretString(info->user_pin));
    config.options.recovery_interval = absl::Milliseconds(20);
    absl::StatusOr<std::shared_ptr<Token>> token = registry_.Add(std::move(config));
    ASSERT_THAT(token, IsOk());
    token_ = *token;
    ASSERT_EQ(token_->state(), TokenState::kReady) << token_->Status().detail;
  }

  void TearDown() override {
    watch_.reset();
    if (faults_) faults_->Reset();
  }

  absl::Duration TimeUntil(TokenState state) {
    const absl::Time began = absl::Now();
    while (absl::Now() - began < absl::Seconds(5)) {
      if (token_->state() == state) return absl::Now() - began;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return absl::InfiniteDuration();
  }

  std::unique_ptr<fixtures::SoftHsm> hsm_;
  std::optional<testing::FaultControl> faults_;
  TokenRegistry registry_;
  std::shared_ptr<Token> token_;
  std::unique_ptr<SlotEventWatch> watch_;
};

TEST_F(SlotEventWatchTest, ATokenLeavingAndComingBackIsFollowedWithoutTraffic) {
  faults_->SlotEvents(true);
  watch_ = SlotEventWatch::Start(registry_, {.poll_interval = absl::Milliseconds(50)});
  ASSERT_NE(watch_, nullptr);
  const CK_SLOT_ID slot = token_->Status().description.slot;

  faults_->RemoveToken(slot);
  const absl::Duration out = TimeUntil(TokenState::kAbsent);
  EXPECT_LT(out, absl::Seconds(1));
  EXPECT_THAT(token_->Status().detail,
              HasSubstr(absl::StrCat("its module reported the token gone from slot ", slot)));
  // Calls fail at once, without reaching the module.
  const unsigned long opens = faults_->CallCount("C_OpenSession");
  absl::StatusOr<SessionLease> lease = token_->Acquire(absl::Now() + absl::Seconds(5));
  ASSERT_THAT(lease, Not(IsOk()));
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable) << lease.status();
  EXPECT_EQ(faults_->CallCount("C_OpenSession"), opens);

  const unsigned long logins = faults_->CallCount("C_Login");
  faults_->InsertToken(slot);
  const absl::Duration back = TimeUntil(TokenState::kReady);
  EXPECT_LT(back, absl::Seconds(1));
  EXPECT_EQ(faults_->CallCount("C_Login") - logins, 1u) << "logged in once on return";
  EXPECT_GE(watch_->events(), 2u);
  std::printf("absent after %lld ms, ready after %lld ms\n",
              static_cast<long long>(absl::ToInt64Milliseconds(out)),
              static_cast<long long>(absl::ToInt64Milliseconds(back)));
}

// A module without slot events: its tokens keep the fault path alone.
TEST_F(SlotEventWatchTest, NoWatchForAModuleWithoutSlotEvents) {
  faults_->SlotEvents(false);
  EXPECT_EQ(SlotEventWatch::Start(registry_), nullptr);
}

// Card tokens are followed through pcscd, never through their module's
// slot events (OpenSC polls the readers on each call).
TEST_F(SlotEventWatchTest, CardTokensAreLeftToTheReaderWatch) {
  faults_->SlotEvents(true);
  TokenRegistry cards;
  TokenConfig config;
  config.module_path = SIGNET_FAULT_PKCS11_PATH;
  config.options.name = "card";
  config.options.selector = TokenSelector::ByLabel("watched");
  config.options.pcsc = true;
  ASSERT_THAT(cards.Add(std::move(config)), IsOk());
  const unsigned long waits = faults_->CallCount("C_WaitForSlotEvent");
  EXPECT_EQ(SlotEventWatch::Start(cards), nullptr);
  EXPECT_EQ(faults_->CallCount("C_WaitForSlotEvent"), waits);
}

}  // namespace
}  // namespace signet
