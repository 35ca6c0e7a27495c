// signetd's TCP listener: mutual TLS, a client certificate required, callers
// recognised by its subject.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_mail.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;

using fixtures::ReadFile;

class SignetdMtlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env =
        fixtures::SignetdEnv::Start({.signetd_path = SIGNETD_PATH, .tcp = true});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }

  // SignMail over TCP with the client certificate and key in these files
  // ("" for none).
  static fixtures::MailCallResult SignOverTls(const std::string& certificate,
                                              const std::string& key) {
    auto stub = v1::Mail::NewStub(fixtures::MtlsChannel(*env_, certificate, key));
    v1::SignMailRequest::Header header;
    header.set_key("bank-signing");
    return fixtures::StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *stub, header,
                                                     fixtures::ShortStatement().Text());
  }

  static fixtures::SignetdEnv* env_;
};

fixtures::SignetdEnv* SignetdMtlsTest::env_ = nullptr;

TEST_F(SignetdMtlsTest, ConfiguredClientCertificateIsServed) {
  fixtures::MailCallResult result = SignOverTls("client-mx-out.pem", "client-mx-out.key");
  ASSERT_THAT(result.status, IsOk());
  EXPECT_THAT(fixtures::OpensslSmimeVerify(result.body, env_->File("ca.pem")), IsOk());
  // The audit log names the caller its certificate identified.
  EXPECT_THAT(ReadFile(env_->AuditLogPath()), HasSubstr("mx-out"));
}

TEST_F(SignetdMtlsTest, WithoutAClientCertificateTheHandshakeFails) {
  fixtures::MailCallResult result = SignOverTls("", "");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << result.status.error_message();
  EXPECT_TRUE(result.body.empty());
}

TEST_F(SignetdMtlsTest, CertificateFromAnotherCaIsRefused) {
  fixtures::MailCallResult result = SignOverTls("stranger.pem", "stranger.key");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << result.status.error_message();
  EXPECT_TRUE(result.body.empty());
}

TEST_F(SignetdMtlsTest, ValidCertificateOfAnUnconfiguredCallerIsDenied) {
  fixtures::MailCallResult result = SignOverTls("client-unknown.pem", "client-unknown.key");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << result.status.error_message();
  EXPECT_THAT(result.status.error_message(), HasSubstr("CN=unknown"));
}

}  // namespace
}  // namespace signet
