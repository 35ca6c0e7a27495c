// The signet command and time-stamps (issue #17), as separate processes
// against a signetd that is its own TSA (the fixture's TSA key, certified by
// the bank CA with the critical timeStamping usage): `signet timestamp`
// over gRPC and over HTTP to signetd's listener, its output judged by
// `openssl ts -verify`; `signet sign --timestamp` with a key whose TSA is
// that listener, and `signet verify` of the result saying "valid at"; a
// best-effort stamp from a TSA that is down is a one-line warning.
#include <algorithm>
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/free_port.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/test_mail.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr char kPolicy[] = "1.3.6.1.4.1.99999.17.1";
constexpr char kData[] = "Statement for November: 3 transfers.\n";

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

struct Suite {
  std::unique_ptr<fixtures::SignetdEnv> env;
  std::string tsa_url;
  std::string down_url;
};

class SignetTimestampCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_ = new Suite;
    ASSERT_OK_AND_ASSIGN(int port, fixtures::FreePort());
    suite_->tsa_url = absl::StrCat("http://127.0.0.1:", port, "/");
    const std::string callers =
        "callers { name: \"cli\" unix_uid: $UID"
        " grants { operations: TIMESTAMP }"
        " grants { keys: \"bank-signing\" operations: SIGN_MAIL }"
        " grants { keys: \"other-signing\" operations: SIGN_DIGEST }"
        " grants { operations: VERIFY_MAIL } }\n";
    const std::string tsa =
        absl::StrCat("timestamp_authority { key: \"tsa\" http_address: \"127.0.0.1:", port,
                     "\" policies: \"", kPolicy,
                     "\" include_tsa_name: true serial_file: \"$DIR/tsa.serial\""
                     // A test machine's clock need not be NTP-synchronised.
                     " allow_unsynchronized_clock: true }\n"
                     "validation { tsa_trust_anchors_file: \"$DIR/ca.pem\" }\n");
    // bank-signing stamps with signetd's own TSA, trusted through the bank
    // CA that certified it; other-signing, best effort, with a TSA that is
    // down (nothing listens on its port).
    auto stamping = [](const std::string& url, const char* mode) {
      return absl::StrCat("timestamps { tsa_urls: \"", url, "\" mode: ", mode,
                          " timeout_seconds: 2 tsa_trust_anchors_file: \"$DIR/ca.pem\" }");
    };
    ASSERT_OK_AND_ASSIGN(int closed_port, fixtures::FreePort());
    suite_->down_url = absl::StrCat("http://127.0.0.1:", closed_port, "/");
    ASSERT_OK_AND_ASSIGN(
        suite_->env,
        fixtures::SignetdEnv::Start(
            {.signetd_path = SIGNETD_PATH,
             .callers = callers,
             .extra_config = tsa,
             .key_config = {{"bank-signing", stamping(suite_->tsa_url, "TIMESTAMP_REQUIRED")},
                            {"other-signing", stamping(suite_->down_url, "TIMESTAMP_BEST_EFFORT")}},
             .tsa_key = true}));
    WriteFile(suite_->env->File("data.txt"), kData);
  }
  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(suite_->env, nullptr); }

  static fixtures::SignetdEnv& env() { return *suite_->env; }

  static fixtures::CommandResult Signet(std::vector<std::string> args,
                                        const std::string& stdin_data = "") {
    args.insert(args.begin(), {SIGNET_PATH, "--socket", env().socket()});
    absl::StatusOr<fixtures::CommandResult> result =
        fixtures::RunCommand(args, stdin_data, {}, absl::Seconds(120));
    EXPECT_THAT(result, IsOk());
    return result.ok() ? *result : fixtures::CommandResult{};
  }

  // `openssl ts -verify` of a reply over data.txt, with the bank CA.
  static fixtures::CommandResult OpensslVerify(const std::string& reply) {
    absl::StatusOr<fixtures::CommandResult> result =
        fixtures::RunCommand({"openssl", "ts", "-verify", "-data", env().File("data.txt"), "-in",
                              reply, "-CAfile", env().File("ca.pem")},
                             "", {}, absl::Seconds(60));
    EXPECT_THAT(result, IsOk());
    return result.ok() ? *result : fixtures::CommandResult{};
  }

  static Suite* suite_;
};

Suite* SignetTimestampCliTest::suite_ = nullptr;

// The summary on stderr: status, time, serial and the TSA's name.
void ExpectGranted(const fixtures::CommandResult& result) {
  EXPECT_THAT(result.err, HasSubstr("time-stamp granted for "));
  EXPECT_THAT(result.err, MatchesRegex("(.|\n)*  time:   20[0-9-]+ [0-9:]+ UTC\n(.|\n)*"));
  EXPECT_THAT(result.err, MatchesRegex("(.|\n)*  serial: [0-9A-F]+\n(.|\n)*"));
  EXPECT_THAT(result.err, HasSubstr("  tsa:    CN="));
  EXPECT_THAT(result.err, HasSubstr(absl::StrCat("  policy: ", kPolicy, "\n")));
}

TEST_F(SignetTimestampCliTest, TimestampsAFileThroughSignetdThatOpensslVerifies) {
  const std::string reply = env().File("grpc.tsr");
  fixtures::CommandResult result = Signet({"timestamp", env().File("data.txt"), reply});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, IsEmpty());
  ExpectGranted(result);
  fixtures::CommandResult verified = OpensslVerify(reply);
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_THAT(verified.out, HasSubstr("Verification: OK"));
}

TEST_F(SignetTimestampCliTest, TimestampsOverHttpWithTheUrlToStdout) {
  // No signetd socket is needed with --url: a closed one proves it.
  absl::StatusOr<fixtures::CommandResult> result =
      fixtures::RunCommand({SIGNET_PATH, "--socket", "/nonexistent.sock", "timestamp", "--digest",
                            "sha384", "--url", suite_->tsa_url, env().File("data.txt")},
                           "", {}, absl::Seconds(60));
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->exit_code, 0) << result->err;
  ExpectGranted(*result);
  WriteFile(env().File("http.tsr"), result->out);
  fixtures::CommandResult verified = OpensslVerify(env().File("http.tsr"));
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_THAT(verified.out, HasSubstr("Verification: OK"));
  // Not over other data.
  WriteFile(env().File("other.txt"), "Statement for December.\n");
  absl::StatusOr<fixtures::CommandResult> other =
      fixtures::RunCommand({"openssl", "ts", "-verify", "-data", env().File("other.txt"), "-in",
                            env().File("http.tsr"), "-CAfile", env().File("ca.pem")},
                           "", {}, absl::Seconds(60));
  ASSERT_THAT(other, IsOk());
  EXPECT_NE(other->exit_code, 0);
}

TEST_F(SignetTimestampCliTest, ARefusalExitsOneNamingTheFailureAndWritesNothing) {
  const std::string reply = env().File("refused.tsr");
  fixtures::CommandResult result =
      Signet({"timestamp", "--policy", "1.2.3.4", env().File("data.txt"), reply});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("signet: timestamp: "));
  EXPECT_THAT(result.err, HasSubstr("rejection"));
  EXPECT_THAT(result.err, HasSubstr("unacceptedPolicy"));
  EXPECT_FALSE(std::ifstream(reply).good());
}

TEST_F(SignetTimestampCliTest, SignTimestampThenVerifySaysValidAt) {
  WriteFile(env().File("mail.eml"), fixtures::TestMail{}.Text());
  fixtures::CommandResult signed_mail = Signet({"sign", "--key", "bank-signing", "--timestamp",
                                                env().File("mail.eml"), env().File("signed.eml")});
  ASSERT_EQ(signed_mail.exit_code, 0) << signed_mail.err;
  EXPECT_THAT(signed_mail.err, MatchesRegex("signet: sign: time-stamped by CN=[^\n]+ at "
                                            "20[0-9-]+ [0-9:]+ UTC \\(serial [0-9A-F]+\\)\n"));

  fixtures::CommandResult verified = Signet({"verify", env().File("signed.eml"), "/dev/null"});
  ASSERT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_THAT(verified.err, MatchesRegex("(.|\n)*  time-stamp: valid at 20[0-9-]+ [0-9:]+ UTC "
                                         "\\(time-stamped by CN=[^\n]+\\)\n(.|\n)*"));
  EXPECT_THAT(verified.err, Not(HasSubstr("WARNING")));

  // Without --timestamp the key (not configured "always") does not stamp,
  // and signet says nothing about stamps.
  fixtures::CommandResult plain =
      Signet({"sign", "--key", "bank-signing", env().File("mail.eml"), env().File("plain.eml")});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_THAT(plain.err, IsEmpty());
  verified = Signet({"verify", env().File("plain.eml"), "/dev/null"});
  ASSERT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_THAT(verified.err, Not(HasSubstr("time-stamp")));
}

TEST_F(SignetTimestampCliTest, ABestEffortStampThatFailedIsAWarningWithTheProblem) {
  const std::string out = env().File("digest.p7s");
  fixtures::CommandResult result = Signet({"sign-digest", "--key", "other-signing", "--digest-hex",
                                           std::string(64, 'a'), "--timestamp", out});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("signet: sign-digest: WARNING: the signature is NOT "
                                    "time-stamped: "));
  // The problem names the TSA that was asked.
  EXPECT_THAT(result.err, HasSubstr(suite_->down_url));
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  std::ifstream signature(out, std::ios::binary);
  EXPECT_TRUE(signature.good());
}

}  // namespace
}  // namespace signet
