// signetd under load while its smartcard is pulled, put back, replaced by
// another card, and while pcscd is killed and restarted (issue #6). Real
// parts throughout: a private pcscd with the vpcd driver, virtual PIV cards
// as separate programs, OpenSC's module inside signetd, and callers that
// talk to signetd over gRPC only.
//
// What must hold, whatever happens to the card: every call returns (none
// hangs, none is lost), with a signature or with UNAVAILABLE (retryable);
// every signature is the right card's and verifies with openssl; the other
// card is never asked to sign and never given a PIN; the right card's PIN
// retry counter is full at the end. And it is quick: the token is out of
// service within a second of its card leaving, and serving again within a
// second of its card being seen.
//
// The token is selected by a pkcs11: URI that both cards match (OpenSC names
// each PIV token after its certificate, so the labels would not), so that
// only the serial signetd pinned keeps the other card out.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/keys.grpc.pb.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/health_client.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/piv_card_env.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_config_builder.h"
#include "tests/fixtures/signetd_process.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/test_mail.h"
#include "tests/fixtures/test_pki.h"
#include "tests/fixtures/virtual_piv/virtual_piv.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::IsOkAndHolds;

using fixtures::MailCallResult;
using fixtures::ReadFile;
using fixtures::ServingStatus;
using fixtures::StreamMail;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRightSerial[] = "00000000000000e1";
constexpr char kOtherSerial[] = "00000000000000e2";
constexpr int kCallers = 3;

// What every caller signs, with the card's 9A key.
std::string LoadMail() {
  return fixtures::TestMail{.from = "PIV Holder <piv-9a@signet.test>",
                            .subject = "Signed while the card came and went",
                            .body = "Signed with the PIV authentication key.\r\n"}
      .Text();
}

// Commands sent to a card, by their first bytes.
constexpr char kGeneralAuthenticate[] = "0087";
constexpr char kVerifyPin[] = "0020008008";

struct CallRecord {
  absl::Time began;
  absl::Time ended;
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  std::string body;
};

class SignetdHotplugTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(env_, fixtures::PivCardEnv::Start("signetd-hotplug"));
    ASSERT_THAT(fixtures::WritePem(env_->File("ca.pem"), env_->ca().certificate()), IsOk());
    ASSERT_OK_AND_ASSIGN(right_, MakeCard(kRightSerial, "123456"));
    ASSERT_OK_AND_ASSIGN(other_, MakeCard(kOtherSerial, "654321"));
    ASSERT_THAT(env_->Insert(*right_), IsOk());

    ASSERT_THAT(fixtures::WritePinFile(env_->File("card.pin"), right_->pin()), IsOk());
    fixtures::SignetdConfigBuilder config(env_->dir());
    config
        .Token({.name = "piv",
                .module = fixtures::PivCardEnv::kOpenScModule,
                .selector = "uri: \"pkcs11:model=PKCS%2315%20emulated\"",
                .pin_file = env_->File("card.pin"),
                .pcsc = true})
        .Key({.name = "piv-signing",
              .token = "piv",
              .id_hex = "01",
              .sender_address = "piv-9a@signet.test"})
        .Key({.name = "piv-audit", .token = "piv", .id_hex = "04"})
        .LocalCaller("card-holder", {{.keys = {"piv-signing"}, .operations = {"SIGN_MAIL"}},
                                     {.keys = {"*"}, .operations = {"READ_KEYS"}}})
        .Audit("piv-audit");
    ASSERT_THAT(config.WriteTo(env_->File("signetd.textproto")), IsOk());
    ASSERT_OK_AND_ASSIGN(
        daemon_,
        fixtures::StartSignetd({SIGNETD_PATH, "--config", env_->File("signetd.textproto")},
                               env_->ChildEnv(), env_->File("signetd.log"), absl::Seconds(60)));
    channel_ = fixtures::UnixChannel(env_->File("signetd.sock"));
    ASSERT_EQ(TokenHealth(), ServingStatus::kServing) << DaemonLog();
  }

  void TearDown() override {
    StopLoad();
    if (daemon_ != nullptr) {
      EXPECT_THAT(daemon_->Kill(SIGTERM), IsOk());
      absl::StatusOr<int> exit_code = daemon_->Wait();
      EXPECT_THAT(exit_code, IsOkAndHolds(0)) << DaemonLog();
    }
    if (HasFailure()) std::fprintf(stderr, "signetd log:\n%s\n", DaemonLog().c_str());
  }

  absl::StatusOr<std::unique_ptr<fixtures::VirtualPivCard>> MakeCard(const std::string& serial,
                                                                     const std::string& pin) {
    fixtures::VirtualPivOptions options;
    options.serial = serial;
    options.pin = pin;
    // The 9A key signs; 9E signs the audit log's checkpoints.
    options.keys = {{0x9A, "RSA:2048", false}, {0x9E, "EC:P-256", false}};
    options.verbose = true;  // the APDU log shows what each card was asked
    return env_->MakeCard(options);
  }

  std::string DaemonLog() const { return env_ ? ReadFile(env_->File("signetd.log")) : ""; }

  ServingStatus TokenHealth() const {
    return fixtures::CheckHealth(channel_, "signet.token.piv").serving;
  }

  v1::Token TokenInfo() const {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListTokensResponse response;
    grpc::Status status =
        v1::Keys::NewStub(channel_)->ListTokens(&context, v1::ListTokensRequest(), &response);
    EXPECT_THAT(status, IsOk());
    return response.tokens_size() == 1 ? response.tokens(0) : v1::Token();
  }

  // How long from now until the token's health is `wanted` (infinite when
  // not within 5 s).
  // How long until `service` (the card token's by default) reports `wanted`.
  absl::Duration TimeUntilHealth(ServingStatus wanted,
                                 const std::string& service = "signet.token.piv") const {
    const absl::Time began = absl::Now();
    while (absl::Now() - began < absl::Seconds(5)) {
      if (fixtures::CheckHealth(channel_, service).serving == wanted) return absl::Now() - began;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return absl::InfiniteDuration();
  }

  void Record(const std::string& name, absl::Duration latency) {
    const std::string ms = absl::StrCat(absl::ToInt64Milliseconds(latency));
    RecordProperty(name, ms);
    std::printf("%s: %s ms\n", name.c_str(), ms.c_str());
  }

  // kCallers threads sign mails back to back until StopLoad().
  void StartLoad() {
    for (int i = 0; i < kCallers; ++i) {
      callers_.emplace_back([this] {
        std::unique_ptr<v1::Mail::Stub> stub = v1::Mail::NewStub(channel_);
        v1::SignMailRequest::Header header;
        header.set_key("piv-signing");
        const std::string mail = LoadMail();
        while (!stop_.load()) {
          CallRecord record;
          record.began = absl::Now();
          MailCallResult result =
              StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *stub, header, mail);
          record.ended = absl::Now();
          record.code = result.status.error_code();
          record.message = result.status.error_message();
          record.body = std::move(result.body);
          // A caller that is refused waits a little, as a client would.
          const bool refused = record.code != grpc::StatusCode::OK;
          {
            std::lock_guard<std::mutex> lock(records_mutex_);
            records_.push_back(std::move(record));
          }
          if (refused) absl::SleepFor(absl::Milliseconds(20));
        }
      });
    }
  }

  void StopLoad() {
    stop_ = true;
    for (std::thread& caller : callers_) caller.join();
    callers_.clear();
  }

  std::vector<CallRecord> Records() {
    std::lock_guard<std::mutex> lock(records_mutex_);
    return records_;
  }

  // Signatures made after `since`.
  int SignedSince(absl::Time since) {
    int signed_calls = 0;
    for (const CallRecord& record : Records()) {
      if (record.began > since && record.code == grpc::StatusCode::OK) ++signed_calls;
    }
    return signed_calls;
  }

  // Waits until a call that began after `since` has signed.
  bool WaitForSignature(absl::Time since, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (SignedSince(since) > 0) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

  // What must hold of every call, whatever the card did.
  void CheckEveryCall() {
    const std::vector<CallRecord> records = Records();
    int ok = 0;
    int unavailable = 0;
    const CallRecord* sample = nullptr;
    for (const CallRecord& record : records) {
      // None hangs: a call ends in much less than its 60 s deadline.
      EXPECT_LT(record.ended - record.began, absl::Seconds(10));
      if (record.code == grpc::StatusCode::OK) {
        ++ok;
        EXPECT_THAT(record.body, HasSubstr("Subject: Signed while the card came and went"));
        sample = &record;
      } else {
        EXPECT_EQ(record.code, grpc::StatusCode::UNAVAILABLE) << record.message;
        EXPECT_THAT(record.message, Not(HasSubstr(right_->pin())));
        ++unavailable;
      }
    }
    std::printf("%zu calls: %d signed, %d UNAVAILABLE\n", records.size(), ok, unavailable);
    EXPECT_GT(ok, 0);
    // A signature from the load verifies, with the right card's
    // certificate (the other card's key never signed, below).
    ASSERT_NE(sample, nullptr);
    std::string content;
    absl::Status verified =
        fixtures::OpensslSmimeVerify(sample->body, env_->File("ca.pem"), &content);
    EXPECT_THAT(verified, IsOk());
  }

  void CheckTheCards() {
    // The other card was never asked to sign, nor given a PIN.
    const std::string other_log = ReadFile(other_->log_path());
    EXPECT_EQ(other_->CountCommands(kGeneralAuthenticate), 0);
    EXPECT_EQ(other_->CountCommands(kVerifyPin), 0);
    for (fixtures::VirtualPivCard* card : {right_.get(), other_.get()}) {
      absl::StatusOr<virtual_piv::RetryCounts> counts = card->ReadRetryCounts();
      // A card that was never put in never wrote its counters.
      if (card == other_.get() && absl::IsNotFound(counts.status()) && other_log.empty()) {
        continue;
      }
      ASSERT_THAT(counts, IsOk());
      EXPECT_EQ(counts->pin, 3) << "card " << card->serial();
    }
  }

  // Pulls the right card under load: out of service within a second, calls
  // meanwhile fail at once; back within a second of going back in.
  void PullAndPutBack(const std::string& phase) {
    const absl::Time pulled = absl::Now();
    right_->Remove();
    const absl::Duration out = TimeUntilHealth(ServingStatus::kNotServing);
    Record(absl::StrCat(phase, "_not_serving_after_pull_ms"), out);
    EXPECT_LT(out, absl::Seconds(1));
    // A call cut off by the pull may take the token out of service before
    // pcscd reports the removal (it polls the reader); then it is absent.
    v1::Token absent = TokenInfo();
    while (absent.state() != v1::ABSENT && absl::Now() - pulled < absl::Seconds(1)) {
      absl::SleepFor(absl::Milliseconds(10));
      absent = TokenInfo();
    }
    Record(absl::StrCat(phase, "_absent_after_pull_ms"), absl::Now() - pulled);
    EXPECT_EQ(absent.state(), v1::ABSENT) << absent.state_detail();
    // Calls that start while the card is out end at once.
    const absl::Time out_since = absl::Now();
    absl::SleepFor(absl::Milliseconds(500));
    for (const CallRecord& record : Records()) {
      if (record.began > out_since) {
        EXPECT_EQ(record.code, grpc::StatusCode::UNAVAILABLE) << record.message;
        EXPECT_LT(record.ended - record.began, absl::Milliseconds(300));
      }
    }
    ASSERT_THAT(right_->Insert(env_->pcscd().vpcd_port()), IsOk());
    const absl::Time inserted = absl::Now();
    const absl::Duration back = TimeUntilHealth(ServingStatus::kServing);
    // vpcd reports a card by polling it (~400 ms); signetd then has a
    // second.
    Record(absl::StrCat(phase, "_serving_after_insert_ms"), back);
    EXPECT_LT(back, absl::Milliseconds(1400));
    EXPECT_TRUE(WaitForSignature(inserted, absl::Seconds(5))) << "signing did not resume";
  }

  std::unique_ptr<fixtures::PivCardEnv> env_;
  std::unique_ptr<fixtures::VirtualPivCard> right_;
  std::unique_ptr<fixtures::VirtualPivCard> other_;
  std::unique_ptr<fixtures::ChildProcess> daemon_;
  std::shared_ptr<grpc::Channel> channel_;

  std::atomic<bool> stop_{false};
  std::vector<std::thread> callers_;
  std::mutex records_mutex_;
  std::vector<CallRecord> records_;
};

TEST_F(SignetdHotplugTest, CardPulledAndPutBackUnderLoad) {
  StartLoad();
  ASSERT_TRUE(WaitForSignature(absl::InfinitePast(), absl::Seconds(10)));
  PullAndPutBack("first");
  PullAndPutBack("second");
  StopLoad();
  CheckEveryCall();
  CheckTheCards();
  // One login at start and one per return: the PIN went to the card three
  // times, and never in vain.
  EXPECT_EQ(right_->CountCommands(kVerifyPin), 3);
}

TEST_F(SignetdHotplugTest, ACardWithAnotherSerialIsNeverUsed) {
  StartLoad();
  ASSERT_TRUE(WaitForSignature(absl::InfinitePast(), absl::Seconds(10)));
  right_->Remove();
  EXPECT_LT(TimeUntilHealth(ServingStatus::kNotServing), absl::Seconds(1));
  ASSERT_THAT(env_->pcscd().WaitForCard(false), IsOk());
  ASSERT_THAT(env_->Insert(*other_), IsOk());

  // The token says which card is in its place, and stays out of service.
  const absl::Time deadline = absl::Now() + absl::Seconds(3);
  v1::Token token = TokenInfo();
  while (!absl::StrContains(token.state_detail(), kOtherSerial) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    token = TokenInfo();
  }
  EXPECT_EQ(token.state(), v1::ABSENT);
  EXPECT_THAT(token.state_detail(), HasSubstr(kOtherSerial));
  EXPECT_THAT(token.state_detail(), HasSubstr(kRightSerial));
  const absl::Time other_in = absl::Now();
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(TokenHealth(), ServingStatus::kNotServing);
  EXPECT_EQ(SignedSince(other_in), 0) << "a call was signed while the other card was in";

  other_->Remove();
  ASSERT_THAT(env_->pcscd().WaitForCard(false), IsOk());
  PullAndPutBack("after_other_card");
  StopLoad();
  CheckEveryCall();
  CheckTheCards();
}

TEST_F(SignetdHotplugTest, PcscdKilledAndRestartedUnderLoad) {
  StartLoad();
  ASSERT_TRUE(WaitForSignature(absl::InfinitePast(), absl::Seconds(10)));
  // The monitor may connect to pcscd just after signetd started serving.
  EXPECT_LT(TimeUntilHealth(ServingStatus::kServing, "signet.pcscd"), absl::Seconds(1));

  env_->pcscd().Kill();
  EXPECT_LT(TimeUntilHealth(ServingStatus::kNotServing), absl::Seconds(1));
  EXPECT_EQ(fixtures::CheckHealth(channel_, "signet.pcscd").serving, ServingStatus::kNotServing);
  EXPECT_THAT(TokenInfo().state_detail(), HasSubstr("pcscd is unavailable"));

  ASSERT_THAT(env_->pcscd().Restart(), IsOk());
  const absl::Time restarted = absl::Now();
  const absl::Duration back = TimeUntilHealth(ServingStatus::kServing);
  Record("serving_after_pcscd_restart_ms", back);
  EXPECT_LT(back, absl::Seconds(3));
  EXPECT_TRUE(WaitForSignature(restarted, absl::Seconds(5))) << "signing did not resume";
  EXPECT_EQ(fixtures::CheckHealth(channel_, "signet.pcscd").serving, ServingStatus::kServing);
  StopLoad();
  CheckEveryCall();
  CheckTheCards();
}

}  // namespace
}  // namespace signet
