#include "appliance/dev/dev_environment.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/dev/private_file.h"
#include "appliance/server/config/config_validator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"

namespace signet::dev {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;

mode_t ModeOf(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return 0;
  return info.st_mode & 07777;
}

class DevEnvironmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<fixtures::TempDir> temp = fixtures::TempDir::Create("dev-env");
    ASSERT_THAT(temp, IsOk());
    temp_ = std::make_unique<fixtures::TempDir>(std::move(*temp));
    dir_ = temp_->File("dev");
  }

  absl::StatusOr<config::v1::Config> Prepare() {
    return PrepareDevEnvironment({.dir = dir_, .tcp_address = "127.0.0.1:9443", .uid = getuid()});
  }

  // What the token holds, through pkcs11-tool (not through the code under
  // test), logged in with the PIN from the PIN file.
  std::string ListObjects() {
    absl::StatusOr<std::string> pin = ReadWholeFile(dir_ + "/user.pin");
    EXPECT_THAT(pin, IsOk());
    while (!pin->empty() && pin->back() == '\n') pin->pop_back();
    absl::StatusOr<fixtures::CommandResult> listed = fixtures::RunCommandOk(
        {"pkcs11-tool", "--module", kDefaultSoftHsmModule, "--token-label", kDevTokenLabel,
         "--login", "--pin", *pin, "--list-objects"},
        {}, {absl::StrCat("SOFTHSM2_CONF=", dir_, "/softhsm/softhsm2.conf")});
    EXPECT_THAT(listed, IsOk());
    return listed.ok() ? listed->out : "";
  }

  fixtures::CommandResult Verify(const std::string& purpose, const std::string& certificate) {
    absl::StatusOr<fixtures::CommandResult> result =
        fixtures::RunCommand({"openssl", "verify", "-x509_strict", "-CAfile", dir_ + "/ca.pem",
                              "-purpose", purpose, certificate});
    EXPECT_THAT(result, IsOk());
    return result.value_or(fixtures::CommandResult{});
  }

  std::unique_ptr<fixtures::TempDir> temp_;
  std::string dir_;
};

TEST_F(DevEnvironmentTest, MakesTokenKeysCertificatesAndAValidConfig) {
  absl::StatusOr<config::v1::Config> config = Prepare();
  ASSERT_THAT(config, IsOk());
  EXPECT_THAT(server::ValidateConfig(*config), IsOk());

  EXPECT_EQ(ModeOf(dir_), 0700u);
  for (const char* secret :
       {"/user.pin", "/so.pin", "/tls/server.key", "/tls/client.key", "/signetd.textproto"}) {
    EXPECT_EQ(ModeOf(dir_ + secret), 0600u) << secret;
  }
  EXPECT_EQ(std::string(getenv("SOFTHSM2_CONF")), dir_ + "/softhsm/softhsm2.conf");

  const std::string objects = ListObjects();
  for (const char* label :
       {"demo-ca", "bank-signing", "bank-decryption", "customer-decryption", "audit", "tsa"}) {
    EXPECT_THAT(objects, HasSubstr(absl::StrCat("label:      ", label))) << objects;
  }
  // Certificates on the token beside their keys, and nothing else exported.
  EXPECT_THAT(objects, HasSubstr("Certificate Object"));

  fixtures::CommandResult signing = Verify("smimesign", dir_ + "/certs/bank-signing.pem");
  EXPECT_EQ(signing.exit_code, 0) << signing.out << signing.err;
  EXPECT_EQ(Verify("smimeencrypt", dir_ + "/certs/customer-decryption.pem").exit_code, 0);
  EXPECT_EQ(Verify("smimeencrypt", dir_ + "/certs/bank-decryption.pem").exit_code, 0);
  fixtures::CommandResult tsa = Verify("timestampsign", dir_ + "/certs/tsa.pem");
  EXPECT_EQ(tsa.exit_code, 0) << tsa.out << tsa.err;
  EXPECT_EQ(Verify("sslserver", dir_ + "/tls/server.pem").exit_code, 0);
  EXPECT_EQ(Verify("sslclient", dir_ + "/tls/client.pem").exit_code, 0);
  EXPECT_TRUE(FileExists(dir_ + "/audit-key.pem"));

  absl::StatusOr<std::string> written = ReadWholeFile(dir_ + "/signetd.textproto");
  ASSERT_THAT(written, IsOk());
  EXPECT_THAT(*written, HasSubstr(absl::StrCat("unix_uid: ", getuid())));
  EXPECT_THAT(*written, HasSubstr("127.0.0.1:9443"));
}

TEST_F(DevEnvironmentTest, ASecondStartReusesEverything) {
  ASSERT_THAT(Prepare(), IsOk());
  absl::StatusOr<std::string> ca = ReadWholeFile(dir_ + "/ca.pem");
  absl::StatusOr<std::string> signing = ReadWholeFile(dir_ + "/certs/bank-signing.pem");
  absl::StatusOr<std::string> pin = ReadWholeFile(dir_ + "/user.pin");
  absl::StatusOr<std::string> tls_key = ReadWholeFile(dir_ + "/tls/server.key");
  const std::string objects = ListObjects();

  absl::StatusOr<config::v1::Config> again = Prepare();
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(ReadWholeFile(dir_ + "/ca.pem").value_or(""), *ca);
  EXPECT_EQ(ReadWholeFile(dir_ + "/certs/bank-signing.pem").value_or(""), *signing);
  EXPECT_EQ(ReadWholeFile(dir_ + "/user.pin").value_or(""), *pin);
  EXPECT_EQ(ReadWholeFile(dir_ + "/tls/server.key").value_or(""), *tls_key);
  EXPECT_EQ(ListObjects(), objects);
}

TEST_F(DevEnvironmentTest, ALostPinFileIsReportedNotPapered) {
  ASSERT_THAT(Prepare(), IsOk());
  ASSERT_EQ(unlink((dir_ + "/user.pin").c_str()), 0);
  absl::Status status = Prepare().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("user.pin is missing"));
  EXPECT_THAT(status.message(), HasSubstr("remove " + dir_));
}

TEST_F(DevEnvironmentTest, ARemovedCertificateFileIsWrittenAgainFromTheToken) {
  ASSERT_THAT(Prepare(), IsOk());
  absl::StatusOr<std::string> customer = ReadWholeFile(dir_ + "/certs/customer-decryption.pem");
  ASSERT_EQ(unlink((dir_ + "/certs/customer-decryption.pem").c_str()), 0);
  ASSERT_THAT(Prepare(), IsOk());
  EXPECT_EQ(ReadWholeFile(dir_ + "/certs/customer-decryption.pem").value_or(""), *customer);
}

}  // namespace
}  // namespace signet::dev
