// A client in another language: Python with Debian's python3-grpcio, its
// stubs generated from proto/ alone, signs and decrypts through signetd.
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;

constexpr char kMail[] =
    "From: statements@bank.example\r\n"
    "Subject: Statement\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Balance: 1,234.56 EUR.\r\n";

using fixtures::ReadFile;

class PythonClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env =
        fixtures::SignetdEnv::Start({.signetd_path = SIGNETD_PATH});
    ASSERT_THAT(env, IsOk());
    env_ = std::move(*env);
    stubs_ = env_->File("stubs");
    // The stubs come from the .proto files and Debian's plugins, nothing else.
    absl::StatusOr<fixtures::CommandResult> generated = fixtures::RunCommand(
        {"sh", "-c",
         absl::StrCat("mkdir -p ", stubs_, " && protoc -I ", SIGNET_PROTO_DIR,
                      " --python_out=", stubs_, " --grpc_python_out=", stubs_,
                      " --plugin=protoc-gen-grpc_python=$(command -v grpc_python_plugin) ",
                      SIGNET_PROTO_DIR, "/signet/v1/*.proto")});
    ASSERT_THAT(generated, IsOk());
    ASSERT_EQ(generated->exit_code, 0) << generated->err;
  }

  fixtures::CommandResult Run(const std::string& operation, const std::string& key,
                              const std::string& input, const std::string& output) {
    absl::StatusOr<fixtures::CommandResult> result =
        fixtures::RunCommand({"/usr/bin/python3", SIGNET_PYTHON_CLIENT, stubs_, env_->socket(),
                              operation, key, input, output});
    EXPECT_THAT(result, IsOk());
    return result.value_or(fixtures::CommandResult{});
  }

  std::unique_ptr<fixtures::SignetdEnv> env_;
  std::string stubs_;
};

TEST_F(PythonClientTest, SignsAndDecryptsThroughTheApi) {
  const std::string mail_path = env_->File("mail.eml");
  std::ofstream(mail_path, std::ios::binary) << kMail;
  fixtures::CommandResult signed_result =
      Run("sign", "bank-signing", mail_path, env_->File("signed.eml"));
  ASSERT_EQ(signed_result.exit_code, 0) << signed_result.out << signed_result.err;
  std::string content;
  absl::Status verified = fixtures::OpensslSmimeVerify(ReadFile(env_->File("signed.eml")),
                                                       env_->File("ca.pem"), &content);
  EXPECT_THAT(verified, IsOk());
  EXPECT_THAT(content, HasSubstr("1,234.56 EUR"));

  absl::StatusOr<std::string> encrypted =
      fixtures::OpensslSmimeEncrypt("Content-Type: text/plain\r\n\r\nsecret balance\r\n",
                                    env_->File("decryption.pem"), "aes-256-gcm", true);
  ASSERT_THAT(encrypted, IsOk());
  std::ofstream(env_->File("encrypted.eml"), std::ios::binary) << *encrypted;
  fixtures::CommandResult decrypted =
      Run("decrypt", "bank-decryption", env_->File("encrypted.eml"), env_->File("decrypted.eml"));
  ASSERT_EQ(decrypted.exit_code, 0) << decrypted.out << decrypted.err;
  EXPECT_THAT(ReadFile(env_->File("decrypted.eml")), HasSubstr("secret balance"));

  // gRPC errors reach the Python client with their code.
  fixtures::CommandResult denied =
      Run("sign", "other-signing", mail_path, env_->File("denied.eml"));
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_THAT(denied.out, HasSubstr("PERMISSION_DENIED"));
}

}  // namespace
}  // namespace signet
