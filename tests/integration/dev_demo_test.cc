// scripts/dev-demo, the demo scripts/run ends in, run as a user runs it:
// signetd --dev on a fresh directory, a statement signed and encrypted by the
// bank, decrypted and verified by the customer, checked by openssl, and the
// audit log verified; then again on the same directory, which must reuse the
// token. The statement's signature is time-stamped by the dev TSA (signetd
// itself, on the token's "tsa" key) and the verify step says "valid at".
// Also the dev loopback listener's mTLS with the material it writes.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/free_port.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_process.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;
using ::testing::Not;

using fixtures::ReadFile;

int Occurrences(absl::string_view text, absl::string_view needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != absl::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

class DevDemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<fixtures::TempDir> temp = fixtures::TempDir::Create("dev-demo");
    ASSERT_THAT(temp, IsOk());
    temp_ = std::make_unique<fixtures::TempDir>(std::move(*temp));
    dev_ = temp_->File("dev");
    absl::StatusOr<int> port = fixtures::FreePort();
    ASSERT_THAT(port, IsOk());
    listen_ = absl::StrCat("127.0.0.1:", *port);
    // Another port than the mTLS listener's for the dev TSA's HTTP.
    do {
      port = fixtures::FreePort();
      ASSERT_THAT(port, IsOk());
      tsa_listen_ = absl::StrCat("127.0.0.1:", *port);
    } while (tsa_listen_ == listen_);
  }

  // `listen`: the loopback mTLS address, `tsa_listen` the dev TSA's; "none"
  // for neither (the unix socket only; the statement is not time-stamped).
  fixtures::CommandResult RunDemo(const std::string& listen, const std::string& tsa_listen) {
    absl::StatusOr<fixtures::CommandResult> result = fixtures::RunCommand(
        {SIGNET_SOURCE_DIR "/scripts/dev-demo", SIGNET_BUILD_DIR, dev_, "--once"}, {},
        {"SIGNET_DEV_LISTEN=" + listen, "SIGNET_DEV_TSA_LISTEN=" + tsa_listen}, absl::Seconds(180));
    EXPECT_THAT(result, IsOk());
    return result.value_or(fixtures::CommandResult{});
  }

  std::unique_ptr<fixtures::TempDir> temp_;
  std::string dev_;
  std::string listen_;
  std::string tsa_listen_;
};

TEST_F(DevDemoTest, TheStatementGoesThroughSignedEncryptedDecryptedAndVerified) {
  fixtures::CommandResult demo = RunDemo(listen_, tsa_listen_);
  ASSERT_EQ(demo.exit_code, 0) << demo.out << demo.err << ReadFile(dev_ + "/signetd.log");
  const std::string output = demo.out + demo.err;
  EXPECT_THAT(output, HasSubstr("signer:     CN=Example Bank Statements,O=Example Bank"));
  EXPECT_THAT(output, HasSubstr("chain:      trusted"));
  // Stamped by the dev TSA, and the stamp judged valid against the demo CA.
  EXPECT_THAT(output, HasSubstr("signet: sign-encrypt: time-stamped by CN=Signet Demo TSA,O=Signet "
                                "Demo at "));
  EXPECT_THAT(output, HasSubstr("time-stamp: valid at "));
  EXPECT_THAT(output, HasSubstr("(time-stamped by CN=Signet Demo TSA,O=Signet Demo;"));
  EXPECT_THAT(output, HasSubstr("the verified text is the statement that was sent"));
  EXPECT_THAT(output, HasSubstr("audit log verified"));
  // The closing summary is printed once, not repeated.
  for (const char* heading : {"== what is where\n", "== try next (another terminal)\n",
                              "# the same over TCP with mutual TLS:\n"}) {
    EXPECT_EQ(Occurrences(output, heading), 1) << heading << " in\n" << output;
  }
  EXPECT_EQ(Occurrences(output, "the statement as sent, decrypted and verified"), 1) << output;

  const std::string sent = ReadFile(dev_ + "/demo/statement.sent.eml");
  EXPECT_THAT(sent, HasSubstr("smime-type=authEnveloped-data"));
  EXPECT_THAT(sent, Not(HasSubstr("3,254.17 EUR")));
  EXPECT_THAT(ReadFile(dev_ + "/demo/statement.decrypted.eml"), HasSubstr("3,254.17 EUR"));

  // The daemon's log names the PIN file, never the PIN.
  std::string pin = ReadFile(dev_ + "/user.pin");
  while (!pin.empty() && pin.back() == '\n') pin.pop_back();
  ASSERT_EQ(pin.size(), 24u);
  const std::string log = ReadFile(dev_ + "/signetd.log");
  EXPECT_THAT(log, HasSubstr("creating token 'signet-dev'"));
  EXPECT_THAT(log, Not(HasSubstr(pin)));
  EXPECT_THAT(log, HasSubstr("signetd: stopped"));
}

TEST_F(DevDemoTest, ASecondRunReusesTheTokenAndAppendsToTheAuditLog) {
  // No TCP listener and no HTTP TSA: a port picked once could be taken by
  // another test between the two runs.
  ASSERT_EQ(RunDemo("none", "none").exit_code, 0) << ReadFile(dev_ + "/signetd.log");
  const std::string ca = ReadFile(dev_ + "/ca.pem");
  const std::string pin = ReadFile(dev_ + "/user.pin");
  fixtures::CommandResult again = RunDemo("none", "none");
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err << ReadFile(dev_ + "/signetd.log");
  EXPECT_EQ(ReadFile(dev_ + "/ca.pem"), ca);
  EXPECT_EQ(ReadFile(dev_ + "/user.pin"), pin);
  const std::string log = ReadFile(dev_ + "/signetd.log");
  EXPECT_THAT(log, Not(HasSubstr("creating token")));
  EXPECT_THAT(log, Not(HasSubstr("generating key")));
  // Two runs, each publishing the customer's certificate (a second time
  // changes nothing but is still recorded), signing once and decrypting once.
  EXPECT_THAT(again.out + again.err, HasSubstr("records:          6"));
  // The directory's store is reused too: one certificate, published.
  EXPECT_THAT(again.out + again.err, HasSubstr("from published"));
}

TEST_F(DevDemoTest, TheLoopbackListenerTakesTheDevClientCertificateOnly) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<fixtures::ChildProcess> daemon,
                       fixtures::StartSignetd({SIGNETD_PATH, "--dev", dev_, "--listen", listen_,
                                               "--tsa-listen", "none"},
                                              {}, temp_->File("signetd.log"), absl::Seconds(60)));
  auto tokens_over_tcp = [&](const std::string& certificate, const std::string& key) {
    absl::StatusOr<fixtures::CommandResult> result = fixtures::RunCommand(
        {SIGNET_PATH, "--server", listen_, "--tls-name", "localhost", "--ca", dev_ + "/ca.pem",
         "--cert", certificate, "--key-file", key, "--timeout", "10", "tokens"});
    EXPECT_THAT(result, IsOk());
    return result.value_or(fixtures::CommandResult{});
  };
  // The dev client may not list tokens (READ_KEYS is the local user's), so
  // the policy answers PERMISSION_DENIED: TLS let it in.
  fixtures::CommandResult client =
      tokens_over_tcp(dev_ + "/tls/client.pem", dev_ + "/tls/client.key");
  EXPECT_EQ(client.exit_code, 1) << client.out << client.err;
  EXPECT_THAT(client.err, HasSubstr("PERMISSION_DENIED"));
  // The server's own certificate is not a client certificate.
  fixtures::CommandResult server =
      tokens_over_tcp(dev_ + "/tls/server.pem", dev_ + "/tls/server.key");
  EXPECT_NE(server.exit_code, 0);
  EXPECT_THAT(server.err, Not(HasSubstr("PERMISSION_DENIED")));
  // SIGHUP does not stop the daemon (it reloads nothing; it says so).
  ASSERT_THAT(daemon->Kill(SIGHUP), IsOk());
  const absl::Time hup_deadline = absl::Now() + absl::Seconds(10);
  while (!absl::StrContains(ReadFile(temp_->File("signetd.log")), "SIGHUP ignored") &&
         absl::Now() < hup_deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(ReadFile(temp_->File("signetd.log")), HasSubstr("SIGHUP ignored"));
  EXPECT_FALSE(daemon->TryWait().has_value());
  EXPECT_THAT(tokens_over_tcp(dev_ + "/tls/client.pem", dev_ + "/tls/client.key").err,
              HasSubstr("PERMISSION_DENIED"));
  ASSERT_THAT(daemon->Kill(SIGTERM), IsOk());
  EXPECT_EQ(daemon->Wait().value_or(-1), 0);
}

}  // namespace
}  // namespace signet
