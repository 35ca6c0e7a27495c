// signetd's TCP listener: mutual TLS, a client certificate required, callers
// recognised by its subject.
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;

constexpr char kMail[] =
    "From: statements@bank.example\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Balance: 1,234.56 EUR.\r\n";

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

  // SignMail over TCP with the given client certificate ("" for none).
  static grpc::Status SignOverTls(const std::string& certificate, const std::string& key,
                                  std::string* signed_mail) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(env_->File("ca.pem"));
    if (!certificate.empty()) {
      options.pem_cert_chain = ReadFile(env_->File(certificate));
      options.pem_private_key = ReadFile(env_->File(key));
    }
    grpc::ChannelArguments arguments;
    arguments.SetSslTargetNameOverride("localhost");
    auto stub = v1::Mail::NewStub(
        grpc::CreateCustomChannel(env_->tcp_address(), grpc::SslCredentials(options), arguments));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
    auto stream = stub->SignMail(&context);
    v1::SignMailRequest request;
    request.mutable_header()->set_key("bank-signing");
    stream->Write(request);
    request.set_chunk(kMail);
    stream->Write(request);
    stream->WritesDone();
    v1::MailResponse response;
    while (stream->Read(&response)) {
      if (response.has_chunk()) signed_mail->append(response.chunk());
    }
    return stream->Finish();
  }

  static fixtures::SignetdEnv* env_;
};

fixtures::SignetdEnv* SignetdMtlsTest::env_ = nullptr;

TEST_F(SignetdMtlsTest, ConfiguredClientCertificateIsServed) {
  std::string signed_mail;
  grpc::Status status = SignOverTls("client-mx-out.pem", "client-mx-out.key", &signed_mail);
  ASSERT_THAT(status, IsOk());
  EXPECT_THAT(fixtures::OpensslSmimeVerify(signed_mail, env_->File("ca.pem")), IsOk());
  // The audit log names the caller its certificate identified.
  EXPECT_THAT(ReadFile(env_->AuditLogPath()), HasSubstr("mx-out"));
}

TEST_F(SignetdMtlsTest, WithoutAClientCertificateTheHandshakeFails) {
  std::string signed_mail;
  grpc::Status status = SignOverTls("", "", &signed_mail);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(signed_mail.empty());
}

TEST_F(SignetdMtlsTest, CertificateFromAnotherCaIsRefused) {
  std::string signed_mail;
  grpc::Status status = SignOverTls("stranger.pem", "stranger.key", &signed_mail);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(signed_mail.empty());
}

TEST_F(SignetdMtlsTest, ValidCertificateOfAnUnconfiguredCallerIsDenied) {
  std::string signed_mail;
  grpc::Status status = SignOverTls("client-unknown.pem", "client-unknown.key", &signed_mail);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("CN=unknown"));
}

}  // namespace
}  // namespace signet
