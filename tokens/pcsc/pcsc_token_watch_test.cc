// The reader watch on real parts: a private pcscd with vpcd readers, virtual
// PIV cards going in and out, and OpenSC's module in this process. The token
// follows its card within a second, never presents its PIN to another card,
// and comes back after pcscd was killed and restarted.
#include "tokens/pcsc/pcsc_token_watch.h"

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/piv_card_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tokens/ck_status.h"
#include "tokens/pin_source.h"
#include "tokens/token_registry.h"
#include "tokens/token_selector.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kFirstSerial[] = "00000000000000d1";
constexpr char kSecondSerial[] = "00000000000000d2";

absl::Time Deadline() { return absl::Now() + absl::Seconds(10); }

class PcscTokenWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(env_, fixtures::PivCardEnv::Start("pcsc-token-watch"));
    // Two cards alike but for their serial and PIN: the second one is what
    // a label selector would also accept.
    ASSERT_OK_AND_ASSIGN(first_, MakeCard(kFirstSerial, "123456"));
    ASSERT_OK_AND_ASSIGN(second_, MakeCard(kSecondSerial, "654321"));
    ASSERT_THAT(env_->Insert(*first_), IsOk());
  }

  void TearDown() override {
    watch_.reset();  // before the cards and pcscd go
  }

  absl::StatusOr<std::unique_ptr<fixtures::VirtualPivCard>> MakeCard(const std::string& serial,
                                                                     const std::string& pin) {
    fixtures::VirtualPivOptions options;
    options.serial = serial;
    options.pin = pin;
    options.keys = {{0x9A, "EC:P-256", false}};
    return env_->MakeCard(options);
  }

  // The first card's token, selected by its manufacturer and model (which
  // the second card shares: OpenSC names a PIV token after its certificate,
  // so the labels differ), logged in with the first card's PIN, and the
  // watch on it.
  void OpenTokenAndWatch() {
    absl::StatusOr<std::shared_ptr<Module>> module =
        Module::Load(fixtures::PivCardEnv::kOpenScModule);
    ASSERT_THAT(module, IsOk());
    absl::StatusOr<std::vector<TokenDescription>> present = ListPresentTokens(**module);
    ASSERT_THAT(present, IsOk());
    ASSERT_EQ(present->size(), 1u);
    ASSERT_EQ(present->front().serial, kFirstSerial);
    TokenSelector selector;
    selector.manufacturer = present->front().manufacturer;
    selector.model = present->front().model;

    TokenConfig config;
    config.module_path = fixtures::PivCardEnv::kOpenScModule;
    config.options.name = "card";
    config.options.selector = selector;
    config.options.pin_source =
        std::make_shared<LiteralPinSourceForTests>(SecretString(first_->pin()));
    config.options.max_in_flight = 1;
    config.options.pcsc = true;
    absl::StatusOr<std::shared_ptr<Token>> token = registry_.Add(std::move(config));
    ASSERT_THAT(token, IsOk());
    token_ = *token;
    ASSERT_EQ(token_->state(), TokenState::kReady) << token_->Status().detail;
    watch_ = PcscTokenWatch::Start(registry_);
    ASSERT_NE(watch_, nullptr);
  }

  // How long, from now, until the token is in `state` (InfiniteDuration
  // when it is not within 5 s).
  absl::Duration TimeUntil(TokenState state) {
    const absl::Time began = absl::Now();
    while (absl::Now() - began < absl::Seconds(5)) {
      if (token_->state() == state) return absl::Now() - began;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return absl::InfiniteDuration();
  }

  void Record(const std::string& name, absl::Duration latency) {
    const std::string ms = absl::StrCat(absl::ToInt64Milliseconds(latency));
    RecordProperty(name, ms);
    std::printf("%s: %s ms\n", name.c_str(), ms.c_str());
  }

  // A lease proves the token can be used: a session logged in on the card.
  void ExpectUsable() {
    absl::StatusOr<SessionLease> lease = token_->Acquire(Deadline());
    EXPECT_THAT(lease, IsOk());
  }

  std::unique_ptr<fixtures::PivCardEnv> env_;
  std::unique_ptr<fixtures::VirtualPivCard> first_;
  std::unique_ptr<fixtures::VirtualPivCard> second_;
  TokenRegistry registry_;
  std::shared_ptr<Token> token_;
  std::unique_ptr<PcscTokenWatch> watch_;
};

TEST_F(PcscTokenWatchTest, NoPcscTokensNoMonitor) {
  TokenRegistry empty;
  EXPECT_EQ(PcscTokenWatch::Start(empty), nullptr);
}

TEST_F(PcscTokenWatchTest, APulledCardTakesItsTokenOutAndBackWithinASecond) {
  ASSERT_NO_FATAL_FAILURE(OpenTokenAndWatch());
  ExpectUsable();

  first_->Remove();
  const absl::Duration out = TimeUntil(TokenState::kAbsent);
  Record("token_absent_after_pull_ms", out);
  EXPECT_LT(out, absl::Seconds(1));
  EXPECT_THAT(token_->Status().detail, HasSubstr("removed from reader"));
  EXPECT_THAT(token_->Status().detail, HasSubstr(env_->pcscd().ReaderName(0)));

  // Calls fail at once, retryably, without waiting for the card.
  const absl::Time asked = absl::Now();
  absl::StatusOr<SessionLease> lease = token_->Acquire(Deadline());
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable) << lease.status();
  EXPECT_TRUE(IsRetryable(lease.status()));
  Record("acquire_while_absent_ms", absl::Now() - asked);

  ASSERT_THAT(first_->Insert(env_->pcscd().vpcd_port()), IsOk());
  const absl::Duration back = TimeUntil(TokenState::kReady);
  Record("token_ready_after_insert_ms", back);
  EXPECT_LT(back, absl::Seconds(1));
  ExpectUsable();
  EXPECT_EQ(token_->Status().description.serial, kFirstSerial);

  absl::StatusOr<virtual_piv::RetryCounts> counts = first_->ReadRetryCounts();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->pin, 3) << "recovery must not cost a PIN try";
}

TEST_F(PcscTokenWatchTest, AnotherCardInItsPlaceIsNeverUsedNorGivenThePin) {
  ASSERT_NO_FATAL_FAILURE(OpenTokenAndWatch());
  first_->Remove();
  ASSERT_LT(TimeUntil(TokenState::kAbsent), absl::Seconds(1));
  // vpcd reports a card's presence by polling (~400 ms): the second card
  // goes in once the first one's removal was seen.
  ASSERT_THAT(env_->pcscd().WaitForCard(false), IsOk());
  ASSERT_THAT(env_->Insert(*second_), IsOk());

  // The watch rescans on the insertion; the token stays absent and says why.
  const absl::Time began = absl::Now();
  while (absl::Now() - began < absl::Seconds(2) &&
         token_->Status().detail.find(kSecondSerial) == std::string::npos) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  const TokenStatus status = token_->Status();
  EXPECT_EQ(status.state, TokenState::kAbsent);
  EXPECT_THAT(status.detail, HasSubstr(absl::StrCat("serial ", kSecondSerial)));
  EXPECT_THAT(status.detail, HasSubstr(kFirstSerial));
  EXPECT_THAT(status.detail, Not(HasSubstr(first_->pin())));
  absl::StatusOr<SessionLease> lease = token_->Acquire(Deadline());
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable) << lease.status();
  // The first card's PIN was never presented to the second card: a wrong
  // PIN would have cost it a try.
  absl::StatusOr<virtual_piv::RetryCounts> counts = second_->ReadRetryCounts();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->pin, 3);

  // The right card back: the token is ready on it again.
  second_->Remove();
  ASSERT_THAT(env_->pcscd().WaitForCard(false), IsOk());
  ASSERT_THAT(first_->Insert(env_->pcscd().vpcd_port()), IsOk());
  EXPECT_LT(TimeUntil(TokenState::kReady), absl::Seconds(2));
  ExpectUsable();
  EXPECT_EQ(token_->Status().description.serial, kFirstSerial);
}

TEST_F(PcscTokenWatchTest, PcscdKilledAndRestartedTheTokenComesBack) {
  ASSERT_NO_FATAL_FAILURE(OpenTokenAndWatch());
  env_->pcscd().Kill();
  const absl::Duration out = TimeUntil(TokenState::kAbsent);
  Record("token_absent_after_pcscd_kill_ms", out);
  EXPECT_LT(out, absl::Seconds(1));
  EXPECT_THAT(token_->Status().detail, HasSubstr("pcscd is unavailable"));
  EXPECT_FALSE(watch_->MonitorStatus().pcscd_available);

  ASSERT_THAT(env_->pcscd().Restart(), IsOk());
  const absl::Duration back = TimeUntil(TokenState::kReady);
  Record("token_ready_after_pcscd_restart_ms", back);
  EXPECT_LT(back, absl::Seconds(5));
  EXPECT_TRUE(watch_->MonitorStatus().pcscd_available);
  ExpectUsable();
  absl::StatusOr<virtual_piv::RetryCounts> counts = first_->ReadRetryCounts();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->pin, 3);
}

}  // namespace
}  // namespace signet
