// A Daemon in this process, on the development token that `signetd --dev`
// uses (appliance/dev): it serves on its unix socket, signs a statement, and
// its shutdown leaves an audit log that verifies and is closed.
#include "appliance/server/daemon.h"

#include <unistd.h>

#include "appliance/audit/audit_key.h"
#include "appliance/audit/verifier.h"
#include "appliance/dev/dev_environment.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"

namespace signet::server {
namespace {

using ::signet::matchers::IsOk;
using ::testing::HasSubstr;

constexpr char kStatement[] =
    "From: Statements <statements@bank.example>\r\n"
    "To: customer@example.org\r\n"
    "Subject: Your statement\r\n"
    "\r\n"
    "Balance: 1,234.56 EUR.\r\n";

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("signet-daemon");
    ASSERT_THAT(dir, IsOk());
    dir_.emplace(std::move(*dir));
    absl::StatusOr<config::v1::Config> config =
        // No TCP and no TSA listener: the fixed dev ports would collide
        // between this suite's tests when ctest runs them at once.
        dev::PrepareDevEnvironment(
            {.dir = dir_->File("dev"), .tcp_address = "", .tsa_address = "", .uid = getuid()});
    ASSERT_THAT(config, IsOk());
    config_ = *config;
  }

  grpc::Status Sign(const std::string& mail) {
    auto stub = v1::Mail::NewStub(grpc::CreateChannel("unix:" + dir_->File("dev/signetd.sock"),
                                                      grpc::InsecureChannelCredentials()));
    v1::SignMailRequest::Header header;
    header.set_key("bank-signing");
    fixtures::MailCallResult result =
        fixtures::StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *stub, header, mail);
    if (result.status.ok()) signed_ = result.body;
    return result.status;
  }

  std::optional<fixtures::TempDir> dir_;
  config::v1::Config config_;
  std::string signed_;
};

TEST_F(DaemonTest, ServesSignsAndShutsDownWithItsAuditLogClosed) {
  absl::StatusOr<std::unique_ptr<Daemon>> daemon = Daemon::Start(config_);
  ASSERT_THAT(daemon, IsOk());
  EXPECT_EQ((*daemon)->listeners(), 1);
  ASSERT_THAT(Sign(kStatement), IsOk());
  EXPECT_THAT(signed_, HasSubstr("multipart/signed"));
  (*daemon)->Shutdown();
  // Idempotent, and the destructor after it does nothing more.
  (*daemon)->Shutdown();
  daemon->reset();

  absl::StatusOr<audit::AuditPublicKey> key =
      audit::AuditPublicKey::Parse(fixtures::ReadFile(dir_->File("dev/audit-key.pem")));
  ASSERT_THAT(key, IsOk());
  absl::StatusOr<audit::AuditReport> report =
      audit::VerifyAuditLog(dir_->File("dev/audit.log"), *key);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->records, 1u);
  EXPECT_TRUE(report->closed);
}

TEST_F(DaemonTest, AfterShutdownTheSocketIsGone) {
  absl::StatusOr<std::unique_ptr<Daemon>> daemon = Daemon::Start(config_);
  ASSERT_THAT(daemon, IsOk());
  (*daemon)->Shutdown();
  EXPECT_NE(access(dir_->File("dev/signetd.sock").c_str(), F_OK), 0);
  EXPECT_EQ(Sign(kStatement).error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace signet::server
