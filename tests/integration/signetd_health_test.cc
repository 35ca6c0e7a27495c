// signetd's grpc.health.v1 service, over gRPC against the daemon as a
// separate process: "signet.token.<name>" per configured token, SERVING
// while the token is ready; "" SERVING while the daemon serves, whatever its
// tokens do, and NOT_SERVING once shutdown starts.
//
// A token the test can take away from another process: SoftHSM2 behind
// `p11-kit server`, which signetd reaches through p11-kit-client.so (a
// network HSM's connection). Killing the server is the token going away;
// restarting it, the token coming back. A second token that is configured
// but not present stands for an unplugged USB token.
#include <grpcpp/grpcpp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/health_client.h"
#include "tests/fixtures/p11kit_server.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/softhsm.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using fixtures::CheckHealth;
using fixtures::ServingStatus;
using fixtures::ServingStatusName;

constexpr char kCallers[] = R"pb(
  callers {
    name: "local-gateway"
    unix_uid: $UID
    grants { keys: "other-signing" keys: "remote-signing" operations: SIGN_DIGEST }
    grants { keys: "*" operations: READ_KEYS }
  }
)pb";

EvpPkeyPtr PublicKeyFromPem(const std::string& pem) {
  BioPtr bio = ReadBio(pem);
  return EvpPkeyPtr(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

class SignetdHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The remote token: its own SoftHSM2 directory, served by p11-kit.
    absl::StatusOr<std::unique_ptr<fixtures::SoftHsm>> remote = fixtures::SoftHsm::Create();
    ASSERT_THAT(remote, IsOk());
    remote_hsm_ = std::move(*remote);
    absl::StatusOr<fixtures::TokenInfo> token = remote_hsm_->InitTokenWithKeys(
        "remote-hsm", {{.label = "remote-signing", .id_hex = "21", .key_type = "EC:prime256v1"}});
    ASSERT_THAT(token, IsOk());
    absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("signetd-health");
    ASSERT_THAT(dir, IsOk());
    dir_ = std::make_unique<fixtures::TempDir>(std::move(*dir));
    // Its certificate (SignDigest needs one), from a CA of its own.
    absl::StatusOr<std::string> pem = remote_hsm_->ExportPublicKeyPem(*token, "21");
    ASSERT_THAT(pem, IsOk());
    EvpPkeyPtr public_key = PublicKeyFromPem(*pem);
    ASSERT_NE(public_key, nullptr);
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create("Remote CA");
    ASSERT_THAT(ca, IsOk());
    absl::StatusOr<X509Ptr> certificate =
        ca->Issue(public_key.get(), "Remote signing", "statements@bank.example");
    ASSERT_THAT(certificate, IsOk());
    ASSERT_THAT(fixtures::WritePem(dir_->File("remote-signing.pem"), certificate->get()), IsOk());
    { std::ofstream(dir_->File("remote.pin")) << token->user_pin << "\n"; }
    chmod(dir_->File("remote.pin").c_str(), 0600);
    absl::StatusOr<std::unique_ptr<fixtures::P11KitServer>> server =
        fixtures::P11KitServer::Start(fixtures::SoftHsm::ModulePath(), "pkcs11:token=remote-hsm",
                                      dir_->path(), {remote_hsm_->EnvVar()});
    ASSERT_THAT(server, IsOk());
    p11kit_ = std::move(*server);

    const std::string extra_config = absl::StrCat(
        // One operation at a time: p11-kit 0.24's client strands concurrent
        // callers when its connection dies (tests/fixtures/p11kit_server.h).
        "tokens { name: \"remote\" module: \"", fixtures::P11KitServer::ClientModulePath(),
        "\" label: \"remote-hsm\" pin { file: \"", dir_->File("remote.pin"),
        "\" } max_in_flight: 1 }\n",
        // Configured, never present.
        "tokens { name: \"usb\" module: \"", fixtures::SoftHsm::ModulePath(),
        "\" label: \"usb-token\" pin { file: \"$DIR/user.pin\" } max_in_flight: 1 }\n",
        "keys { name: \"remote-signing\" token: \"remote\" label: \"remote-signing\" "
        "purpose: SIGN certificate_chain_file: \"",
        dir_->File("remote-signing.pem"), "\" allow_imported: true }\n");
    absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env =
        fixtures::SignetdEnv::Start({.signetd_path = SIGNETD_PATH,
                                     .callers = kCallers,
                                     .extra_config = extra_config,
                                     .extra_env = {p11kit_->EnvVar()}});
    ASSERT_THAT(env, IsOk());
    env_ = std::move(*env);
    channel_ = fixtures::UnixChannel(*env_);
  }

  void TearDown() override {
    channel_.reset();
    env_.reset();  // before the server and the token it uses
    p11kit_.reset();
    remote_hsm_.reset();
    dir_.reset();
  }

  ServingStatus Health(const std::string& service) {
    fixtures::HealthReply reply = CheckHealth(channel_, service);
    EXPECT_THAT(reply.status, IsOk())
        << service << ": " << reply.status.error_code() << " " << reply.status.error_message();
    return reply.serving;
  }

  // Polls until `service` reports `wanted`; how long it took, or nullopt
  // after `limit`.
  std::optional<absl::Duration> WaitFor(const std::string& service, ServingStatus wanted,
                                        absl::Duration limit) {
    const absl::Time start = absl::Now();
    while (Health(service) != wanted) {
      if (absl::Now() - start > limit) return std::nullopt;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return absl::Now() - start;
  }

  grpc::Status SignDigest(const std::string& key) {
    auto stub = v1::Mail::NewStub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::SignDigestRequest request;
    request.set_key(key);
    request.set_digest_algorithm(v1::SHA256);
    request.set_digest(std::string(32, '\x11'));
    v1::SignDigestResponse response;
    return stub->SignDigest(&context, request, &response);
  }

  std::unique_ptr<fixtures::SoftHsm> remote_hsm_;
  std::unique_ptr<fixtures::TempDir> dir_;
  std::unique_ptr<fixtures::P11KitServer> p11kit_;
  std::unique_ptr<fixtures::SignetdEnv> env_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(SignetdHealthTest, EachTokenHasItsOwnStatusAndTheServerStaysServing) {
  EXPECT_EQ(Health(""), ServingStatus::kServing) << "an absent token must not take signetd out";
  EXPECT_EQ(Health("signet.token.bank-hsm"), ServingStatus::kServing);
  EXPECT_EQ(Health("signet.token.remote"), ServingStatus::kServing);
  EXPECT_EQ(Health("signet.token.usb"), ServingStatus::kNotServing);
  // The audit log can be written, so key operations go on.
  EXPECT_EQ(Health("signet.audit"), ServingStatus::kServing);
  // Names that are no token's are unknown to the health service.
  EXPECT_EQ(CheckHealth(channel_, "signet.token.nope").status.error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(CheckHealth(channel_, "signet.token.").status.error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(SignetdHealthTest, TokenGoesNotServingWhenItIsLostAndServingWhenItIsBack) {
  grpc::Status before = SignDigest("remote-signing");
  ASSERT_THAT(before, IsOk());
  ASSERT_EQ(Health("signet.token.remote"), ServingStatus::kServing);

  // The token goes away. The token layer notices at the next operation on
  // it (nothing polls a ready token), and health follows within ~1 s.
  p11kit_->Kill();
  grpc::Status lost = SignDigest("remote-signing");
  EXPECT_EQ(lost.error_code(), grpc::StatusCode::UNAVAILABLE) << lost.error_message();
  std::optional<absl::Duration> down =
      WaitFor("signet.token.remote", ServingStatus::kNotServing, absl::Seconds(1));
  ASSERT_TRUE(down.has_value()) << "signet.token.remote still SERVING 1 s after the loss";
  // The rest of the appliance is unaffected.
  EXPECT_EQ(Health(""), ServingStatus::kServing);
  EXPECT_EQ(Health("signet.token.bank-hsm"), ServingStatus::kServing);
  grpc::Status other = SignDigest("other-signing");
  EXPECT_THAT(other, IsOk());
  // Still lost a while later (the periodic rescan finds nothing).
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_EQ(Health("signet.token.remote"), ServingStatus::kNotServing);

  // Back: seen by the daemon's periodic rescan, without any call.
  ASSERT_THAT(p11kit_->Restart(), IsOk());
  std::optional<absl::Duration> up =
      WaitFor("signet.token.remote", ServingStatus::kServing, absl::Seconds(5));
  ASSERT_TRUE(up.has_value()) << "signet.token.remote not SERVING 5 s after it came back\n"
                              << env_->DaemonLog();
  grpc::Status after = SignDigest("remote-signing");
  EXPECT_THAT(after, IsOk());
  // The absent USB token stayed as it was throughout.
  EXPECT_EQ(Health("signet.token.usb"), ServingStatus::kNotServing);
}

TEST_F(SignetdHealthTest, ShutdownTurnsTheServerNotServingAtOnce) {
  std::future<absl::StatusOr<int>> stopped;
  absl::Time start;
  {
    fixtures::HealthWatch watch(channel_, "");
    ServingStatus first = ServingStatus::kUnknown;
    ASSERT_TRUE(watch.Next(&first));
    ASSERT_EQ(first, ServingStatus::kServing) << ServingStatusName(first);

    start = absl::Now();
    stopped = std::async(std::launch::async, [this] { return env_->Stop(); });
    ServingStatus next = ServingStatus::kUnknown;
    ASSERT_TRUE(watch.Next(&next)) << "the watch ended with " << watch.Finish().error_message();
    EXPECT_EQ(next, ServingStatus::kNotServing) << ServingStatusName(next);
    EXPECT_LT(absl::Now() - start, absl::Seconds(2));
    // The watcher goes, as a load balancer that saw NOT_SERVING may: gRPC
    // 1.51's health service never ends a Watch stream itself, so one left
    // open would hold the shutdown for its whole grace period (30 s).
  }
  absl::StatusOr<int> code = stopped.get();
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 0) << env_->DaemonLog();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << env_->DaemonLog();
}

}  // namespace
}  // namespace signet
