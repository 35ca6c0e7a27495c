#include "appliance/server/token_health.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/health_client.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::server {
namespace {

using ::signet::matchers::IsOk;

using fixtures::CheckHealth;
using fixtures::ServingStatus;

// Records what TokenHealth publishes.
class RecordingHealth : public grpc::HealthCheckServiceInterface {
 public:
  void SetServingStatus(const std::string& service, bool serving) override {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.emplace_back(service, serving);
    if (!shut_down_) status_[service] = serving;
  }
  void SetServingStatus(bool serving) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [service, status] : status_) status = serving;
  }
  void Shutdown() override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [service, status] : status_) status = false;
    shut_down_ = true;
  }

  // -1: never set.
  int Status(const std::string& service) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = status_.find(service);
    return it == status_.end() ? -1 : it->second;
  }
  int Calls(const std::string& service) {
    std::lock_guard<std::mutex> lock(mutex_);
    int n = 0;
    for (const auto& call : calls_) n += call.first == service;
    return n;
  }
  size_t TotalCalls() {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_.size();
  }
  bool shut_down() {
    std::lock_guard<std::mutex> lock(mutex_);
    return shut_down_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<std::string, bool>> calls_;
  std::map<std::string, bool> status_;
  bool shut_down_ = false;
};

// Token states a test changes while TokenHealth reads them.
class FakeTokens {
 public:
  void Set(const std::string& name, TokenState state) {
    std::lock_guard<std::mutex> lock(mutex_);
    states_[name] = state;
  }
  std::vector<TokenStatus> List() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++reads_;
    std::vector<TokenStatus> list;
    for (const auto& [name, state] : states_) {
      TokenStatus status;
      status.name = name;
      status.state = state;
      list.push_back(status);
    }
    return list;
  }
  TokenHealth::StateReader Reader() {
    return [this] { return List(); };
  }
  int reads() {
    std::lock_guard<std::mutex> lock(mutex_);
    return reads_;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, TokenState> states_;
  int reads_ = 0;
};

// Polls `condition` for up to 5 s.
template <typename Condition>
bool Eventually(Condition condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

const TokenHealthOptions kFast = {.publish_interval = absl::Milliseconds(10),
                                  .rescan_interval = absl::Milliseconds(30)};

TEST(TokenHealthTest, ServiceNameNamesTheToken) {
  EXPECT_EQ(TokenHealth::ServiceName("bank-hsm"), "signet.token.bank-hsm");
}

TEST(TokenHealthTest, PublishesEveryTokenBeforeTheConstructorReturns) {
  RecordingHealth health;
  FakeTokens tokens;
  tokens.Set("ready", TokenState::kReady);
  tokens.Set("absent", TokenState::kAbsent);
  tokens.Set("recovering", TokenState::kRecovering);
  tokens.Set("locked", TokenState::kLockedOut);
  // A long interval: only the constructor's own publication counts here.
  TokenHealth token_health(&health, tokens.Reader(), nullptr, {.publish_interval = absl::Hours(1)});
  EXPECT_EQ(health.Status("signet.token.ready"), 1);
  EXPECT_EQ(health.Status("signet.token.absent"), 0);
  EXPECT_EQ(health.Status("signet.token.recovering"), 0);
  EXPECT_EQ(health.Status("signet.token.locked"), 0);
  // The overall status is the server's, not touched while serving.
  EXPECT_EQ(health.Status(""), -1);
}

TEST(TokenHealthTest, FollowsStateChangesPeriodically) {
  RecordingHealth health;
  FakeTokens tokens;
  tokens.Set("usb", TokenState::kReady);
  TokenHealth token_health(&health, tokens.Reader(), nullptr, kFast);
  ASSERT_EQ(health.Status("signet.token.usb"), 1);
  tokens.Set("usb", TokenState::kAbsent);
  EXPECT_TRUE(Eventually([&] { return health.Status("signet.token.usb") == 0; }));
  tokens.Set("usb", TokenState::kReady);
  EXPECT_TRUE(Eventually([&] { return health.Status("signet.token.usb") == 1; }));
  tokens.Set("usb", TokenState::kLockedOut);
  EXPECT_TRUE(Eventually([&] { return health.Status("signet.token.usb") == 0; }));
}

TEST(TokenHealthTest, TheAuditLogHasItsOwnName) {
  RecordingHealth health;
  FakeTokens tokens;
  tokens.Set("hsm", TokenState::kReady);
  std::atomic<bool> writable{true};
  TokenHealthOptions options = kFast;
  options.audit_writable = [&writable] { return writable.load(); };
  TokenHealth token_health(&health, tokens.Reader(), nullptr, options);
  ASSERT_EQ(health.Status("signet.audit"), 1);
  writable = false;
  EXPECT_TRUE(Eventually([&] { return health.Status("signet.audit") == 0; }));
  // The tokens are not affected.
  EXPECT_EQ(health.Status("signet.token.hsm"), 1);
}

TEST(TokenHealthTest, WithoutAnAuditCheckThereIsNoAuditName) {
  RecordingHealth health;
  FakeTokens tokens;
  tokens.Set("hsm", TokenState::kReady);
  TokenHealth token_health(&health, tokens.Reader(), nullptr, kFast);
  EXPECT_EQ(health.Status("signet.audit"), -1);
  EXPECT_EQ(health.Status("signet.pcscd"), -1);
  EXPECT_EQ(health.Status("signet.revocation"), -1);
}

TEST(TokenHealthTest, RevocationHasItsOwnName) {
  RecordingHealth health;
  FakeTokens tokens;
  tokens.Set("hsm", TokenState::kReady);
  std::atomic<bool> fresh{true};
  TokenHealthOptions options = kFast;
  options.revocation_fresh = [&fresh] { return fresh.load(); };
  TokenHealth token_health(&health, tokens.Reader(), nullptr, options);
  ASSERT_EQ(health.Status("signet.revocation"), 1);
  fresh = false;
  EXPECT_TRUE(Eventually([&] { return health.Status("signet.revocation") == 0; }));
  // Stale CRLs do not take the tokens out of service.
  EXPECT_EQ(health.Status("signet.token.hsm"), 1);
  fresh = true;
  EXPECT_TRUE(Eventually([&] { return health.Status("signet.revocation") == 1; }));
}

TEST(TokenHealthTest, PcscdHasItsOwnName) {
  RecordingHealth health;
  FakeTokens tokens;
  tokens.Set("usb", TokenState::kReady);
  std::atomic<bool> available{true};
  TokenHealthOptions options = kFast;
  options.pcscd_available = [&available] { return available.load(); };
  TokenHealth token_health(&health, tokens.Reader(), nullptr, options);
  ASSERT_EQ(health.Status("signet.pcscd"), 1);
  available = false;
  EXPECT_TRUE(Eventually([&] { return health.Status("signet.pcscd") == 0; }));
  available = true;
  EXPECT_TRUE(Eventually([&] { return health.Status("signet.pcscd") == 1; }));
}

TEST(TokenHealthTest, PublishesOnlyChanges) {
  RecordingHealth health;
  FakeTokens tokens;
  tokens.Set("hsm", TokenState::kReady);
  TokenHealth token_health(&health, tokens.Reader(), nullptr, kFast);
  // Many periods pass with the same state: Watch streams get no repeats.
  ASSERT_TRUE(Eventually([&] { return tokens.reads() >= 10; }));
  EXPECT_EQ(health.Calls("signet.token.hsm"), 1);
  // Recovering and absent are both NOT_SERVING: one change, not two.
  tokens.Set("hsm", TokenState::kRecovering);
  ASSERT_TRUE(Eventually([&] { return health.Status("signet.token.hsm") == 0; }));
  tokens.Set("hsm", TokenState::kAbsent);
  const int reads = tokens.reads();
  ASSERT_TRUE(Eventually([&] { return tokens.reads() >= reads + 5; }));
  EXPECT_EQ(health.Calls("signet.token.hsm"), 2);
}

TEST(TokenHealthTest, RescanRunsAtItsOwnIntervalAndItsResultIsPublished) {
  RecordingHealth health;
  FakeTokens tokens;
  tokens.Set("usb", TokenState::kAbsent);
  std::atomic<int> rescans{0};
  // The rescan finds the token again, as the registry's Rescan() would.
  TokenHealth token_health(
      &health, tokens.Reader(),
      [&] {
        ++rescans;
        tokens.Set("usb", TokenState::kReady);
      },
      kFast);
  EXPECT_EQ(health.Status("signet.token.usb"), 0);
  EXPECT_EQ(rescans.load(), 0) << "the first rescan waits for its interval";
  EXPECT_TRUE(Eventually([&] { return health.Status("signet.token.usb") == 1; }));
  EXPECT_GE(rescans.load(), 1);
  // Rescans are rarer than publications.
  ASSERT_TRUE(Eventually([&] { return tokens.reads() >= 30; }));
  EXPECT_LT(rescans.load() * 2, tokens.reads());
}

TEST(TokenHealthTest, ShutdownTurnsEverythingNotServingAndStopsPublishing) {
  RecordingHealth health;
  FakeTokens tokens;
  tokens.Set("hsm", TokenState::kReady);
  TokenHealth token_health(&health, tokens.Reader(), nullptr, kFast);
  token_health.Shutdown();
  EXPECT_EQ(health.Status(""), 0);
  EXPECT_EQ(health.Status("signet.token.hsm"), 0);
  EXPECT_TRUE(health.shut_down());
  const size_t calls = health.TotalCalls();
  const int reads = tokens.reads();
  tokens.Set("hsm", TokenState::kAbsent);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(tokens.reads(), reads) << "the thread still runs";
  EXPECT_EQ(health.TotalCalls(), calls);
  token_health.Shutdown();  // idempotent
}

TEST(TokenHealthTest, DestructorStopsAtOnceWithoutWaitingForTheInterval) {
  RecordingHealth health;
  FakeTokens tokens;
  tokens.Set("hsm", TokenState::kReady);
  const absl::Time start = absl::Now();
  {
    TokenHealth token_health(
        &health, tokens.Reader(), [] {},
        {.publish_interval = absl::Hours(1), .rescan_interval = absl::Hours(1)});
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  // The destructor leaves the published states alone.
  EXPECT_EQ(health.Status("signet.token.hsm"), 1);
  EXPECT_FALSE(health.shut_down());
}

TEST(TokenHealthTest, WithoutAHealthServiceItDoesNothing) {
  FakeTokens tokens;
  tokens.Set("hsm", TokenState::kReady);
  TokenHealth token_health(nullptr, tokens.Reader(), nullptr, kFast);
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(tokens.reads(), 0);
  token_health.Shutdown();
}

// gRPC's own health service, in process, answering grpc.health.v1 Check.
TEST(TokenHealthTest, GrpcDefaultHealthServiceAnswersPerToken) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // A callback service, so that the server needs no polled completion queue.
  grpc::CallbackGenericService unimplemented;
  builder.RegisterCallbackGenericService(&unimplemented);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_NE(server->GetHealthCheckService(), nullptr);
  std::shared_ptr<grpc::Channel> channel = server->InProcessChannel(grpc::ChannelArguments());

  FakeTokens tokens;
  tokens.Set("hsm", TokenState::kReady);
  tokens.Set("usb", TokenState::kAbsent);
  auto token_health = std::make_unique<TokenHealth>(server->GetHealthCheckService(),
                                                    tokens.Reader(), nullptr, kFast);

  auto check = [&](const std::string& service) { return CheckHealth(channel, service); };
  fixtures::HealthReply reply = check("");
  ASSERT_THAT(reply.status, IsOk());
  EXPECT_EQ(reply.serving, ServingStatus::kServing) << "an absent token leaves the server serving";
  reply = check("signet.token.hsm");
  ASSERT_THAT(reply.status, IsOk());
  EXPECT_EQ(reply.serving, ServingStatus::kServing);
  reply = check("signet.token.usb");
  ASSERT_THAT(reply.status, IsOk());
  EXPECT_EQ(reply.serving, ServingStatus::kNotServing);
  EXPECT_EQ(check("signet.token.nope").status.error_code(), grpc::StatusCode::NOT_FOUND);

  tokens.Set("usb", TokenState::kReady);
  EXPECT_TRUE(
      Eventually([&] { return check("signet.token.usb").serving == ServingStatus::kServing; }));

  token_health->Shutdown();
  EXPECT_EQ(check("").serving, ServingStatus::kNotServing);
  EXPECT_EQ(check("signet.token.hsm").serving, ServingStatus::kNotServing);
  EXPECT_EQ(check("signet.token.usb").serving, ServingStatus::kNotServing);
  token_health.reset();
  server->Shutdown();
}

}  // namespace
}  // namespace signet::server
