// signetd under load and at its limits: per-caller rate limits, deadlines
// while the token is slow, and SIGTERM with calls in flight (none lost).
// The token is slowed down by the fault-injecting module in front of SoftHSM.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_mail.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

struct Signed {
  grpc::Status status;
  std::string mail;
};

Signed SignMail(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout) {
  auto stub = v1::Mail::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  auto stream = stub->SignMail(&context);
  v1::SignMailRequest request;
  request.mutable_header()->set_key("bank-signing");
  stream->Write(request);
  request.set_chunk(fixtures::ShortStatement().Text());
  stream->Write(request);
  stream->WritesDone();
  Signed result;
  v1::MailResponse response;
  while (stream->Read(&response)) {
    if (response.has_chunk()) result.mail += response.chunk();
  }
  result.status = stream->Finish();
  return result;
}

Signed SignMail(const fixtures::SignetdEnv& env, absl::Duration timeout) {
  return SignMail(fixtures::UnixChannel(env), timeout);
}

std::vector<Signed> SignConcurrently(const fixtures::SignetdEnv& env, int calls,
                                     absl::Duration timeout,
                                     std::function<void()> meanwhile = nullptr) {
  // Connected before the calls start, so that `meanwhile` races the calls,
  // not connection set-up (which a loaded CI machine can make slow).
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < calls; ++i) {
    channels.push_back(fixtures::UnixChannel(env));
    channels.back()->GetState(/*try_to_connect=*/true);
    EXPECT_TRUE(channels.back()->WaitForConnected(std::chrono::system_clock::now() +
                                                  std::chrono::seconds(10)));
  }
  std::vector<Signed> results(static_cast<size_t>(calls));
  std::vector<std::thread> threads;
  for (int i = 0; i < calls; ++i) {
    threads.emplace_back([&, i] {
      results[static_cast<size_t>(i)] = SignMail(channels[static_cast<size_t>(i)], timeout);
    });
  }
  if (meanwhile) meanwhile();
  for (std::thread& thread : threads) thread.join();
  return results;
}

TEST(SignetdLoadTest, CallerOverItsRateLimitIsRefused) {
  absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env =
      fixtures::SignetdEnv::Start({.signetd_path = SIGNETD_PATH,
                                   .extra_config = "limits { requests_per_second: 0.2 burst: 2 }"});
  ASSERT_THAT(env, IsOk());
  EXPECT_THAT(SignMail(**env, absl::Seconds(30)).status, IsOk());
  EXPECT_THAT(SignMail(**env, absl::Seconds(30)).status, IsOk());
  Signed third = SignMail(**env, absl::Seconds(30));
  EXPECT_EQ(third.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(third.status.error_message(), ::testing::HasSubstr("rate limit"));
}

TEST(SignetdLoadTest, CallsPastTheirDeadlineEndCleanlyAndTheRestSucceed) {
  // Two operations in flight, 400 ms each: of eight calls with a 1 s
  // deadline, the late ones cannot make it.
  absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env =
      fixtures::SignetdEnv::Start({.signetd_path = SIGNETD_PATH,
                                   .module_path = SIGNET_FAULT_PKCS11_PATH,
                                   .extra_env = {"SIGNET_FAULT_LATENCY=C_Sign=400000"}});
  ASSERT_THAT(env, IsOk());
  std::vector<Signed> results = SignConcurrently(**env, 8, absl::Seconds(1));
  int succeeded = 0;
  int late = 0;
  for (const Signed& result : results) {
    if (result.status.ok()) {
      ++succeeded;
      EXPECT_THAT(fixtures::OpensslSmimeVerify(result.mail, (*env)->File("ca.pem")), IsOk());
    } else {
      EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
          << result.status.error_message();
      EXPECT_TRUE(result.mail.empty());
      ++late;
    }
  }
  EXPECT_GE(succeeded, 2);
  EXPECT_GE(late, 1);
  // The daemon is fine afterwards.
  EXPECT_THAT(SignMail(**env, absl::Seconds(30)).status, IsOk());
}

TEST(SignetdLoadTest, SigtermLetsCallsInFlightFinish) {
  absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env =
      fixtures::SignetdEnv::Start({.signetd_path = SIGNETD_PATH,
                                   .module_path = SIGNET_FAULT_PKCS11_PATH,
                                   .extra_env = {"SIGNET_FAULT_LATENCY=C_Sign=300000"},
                                   .extra_args = {"--log-level", "debug"}});
  ASSERT_THAT(env, IsOk());
  absl::StatusOr<int> exit_code;
  std::vector<Signed> results = SignConcurrently(**env, 4, absl::Seconds(30), [&] {
    absl::SleepFor(absl::Milliseconds(150));
    exit_code = (*env)->Stop();
  });
  // None lost: each call got its signed mail.
  for (const Signed& result : results) {
    ASSERT_THAT(result.status, IsOk()) << result.status.error_message() << "\n"
                                       << (*env)->DaemonLog();
    EXPECT_THAT(fixtures::OpensslSmimeVerify(result.mail, (*env)->File("ca.pem")), IsOk());
  }
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_EQ(*exit_code, 0) << (*env)->DaemonLog();
}

}  // namespace
}  // namespace signet
