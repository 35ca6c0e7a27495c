// The sender check of VerifyMail (issue #16) through signetd: a mail signed
// by statements@bank.example whose outer From: was rewritten afterwards is
// reported as such, refused when the request asks, and refused for a caller
// whose configuration requires the check whatever its requests say. The
// mail's From: address never reaches the daemon's log.
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/errors.pb.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

using CallResult = fixtures::MailCallResult;
using fixtures::StreamMail;

constexpr char kFrom[] = "From: Statements <statements@bank.example>\r\n";
constexpr char kMail[] =
    "From: Statements <statements@bank.example>\r\n"
    "To: customer@example.org\r\n"
    "Subject: Your statement\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Balance on 27 November: 1,234.56 EUR.\r\n";
// Distinctive, so that the log can be searched for it.
constexpr char kForgedAddress[] = "support-7d3e91@evil.example";

// The unix socket's caller signs and verifies without the requirement; the
// mTLS caller "mx-in" verifies only, with it.
constexpr char kCallers[] = R"pb(
  callers {
    name: "local-gateway"
    unix_uid: $UID
    grants { keys: "bank-signing" operations: SIGN_MAIL }
    grants { operations: VERIFY_MAIL }
  }
  callers {
    name: "mx-in"
    certificate_subject: "CN=mx-in"
    grants { operations: VERIFY_MAIL }
    verify_require_sender_match: true
  }
)pb";

class SignetdSenderCheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env =
        fixtures::SignetdEnv::Start({.signetd_path = SIGNETD_PATH,
                                     .callers = kCallers,
                                     .tcp = true,
                                     .client_names = {"mx-in"},
                                     .extra_args = {"--log-level", "debug"}});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
    v1::SignMailRequest::Header header;
    header.set_key("bank-signing");
    CallResult signed_mail =
        StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *GatewayStub(), header, kMail);
    ASSERT_THAT(signed_mail.status, IsOk());
    signed_mail_ = new std::string(signed_mail.body);
  }

  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
    delete signed_mail_;
    signed_mail_ = nullptr;
  }

  static std::unique_ptr<v1::Mail::Stub> GatewayStub() {
    return v1::Mail::NewStub(fixtures::UnixChannel(*env_));
  }
  static std::unique_ptr<v1::Mail::Stub> MxInStub() {
    return v1::Mail::NewStub(fixtures::TlsChannel(*env_, "mx-in"));
  }

  static CallResult Verify(v1::Mail::Stub& stub, const std::string& mail,
                           bool require_sender_match) {
    v1::VerifyMailRequest::Header header;
    header.set_require_trusted_chain(true);
    header.set_require_sender_match(require_sender_match);
    return StreamMail<v1::VerifyMailRequest>(&v1::Mail::Stub::VerifyMail, stub, header, mail);
  }

  // The signed mail with its outer From: replaced by `from_fields`.
  static std::string WithFrom(const std::string& from_fields) {
    return absl::StrReplaceAll(*signed_mail_, {{kFrom, from_fields}});
  }
  static std::string Forged() {
    return WithFrom(absl::StrCat("From: Statements <", kForgedAddress, ">\r\n"));
  }

  static void ExpectSenderMismatch(const CallResult& result, const std::string& message) {
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << result.status.error_message();
    v1::ErrorDetails details;
    ASSERT_TRUE(details.ParseFromString(result.status.error_details()));
    EXPECT_EQ(details.verify_failure(), "SENDER_MISMATCH");
    EXPECT_THAT(result.status.error_message(), HasSubstr(message));
    EXPECT_THAT(result.status.error_message(), Not(HasSubstr(kForgedAddress)));
    EXPECT_TRUE(result.body.empty());
  }

  static fixtures::SignetdEnv* env_;
  static std::string* signed_mail_;
};

fixtures::SignetdEnv* SignetdSenderCheckTest::env_ = nullptr;
std::string* SignetdSenderCheckTest::signed_mail_ = nullptr;

TEST_F(SignetdSenderCheckTest, ReportsTheFromAndWhetherItIsTheSigners) {
  CallResult result = Verify(*GatewayStub(), *signed_mail_, false);
  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(result.header.from_address(), "statements@bank.example");
  EXPECT_EQ(result.header.from_problem(), "");
  ASSERT_EQ(result.header.signers_size(), 1);
  EXPECT_TRUE(result.header.signers(0).from_matches_signer());

  // The phishing case: still a valid signature, but not from the From.
  result = Verify(*GatewayStub(), Forged(), false);
  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(result.header.from_address(), kForgedAddress);
  ASSERT_EQ(result.header.signers_size(), 1);
  EXPECT_FALSE(result.header.signers(0).from_matches_signer());
  EXPECT_EQ(result.header.signers(0).chain_status(), v1::TRUSTED);

  result =
      Verify(*GatewayStub(),
             WithFrom("From: statements@bank.example\r\nFrom: statements@bank.example\r\n"), false);
  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(result.header.from_address(), "");
  EXPECT_THAT(result.header.from_problem(), HasSubstr("2 From: fields"));
  EXPECT_FALSE(result.header.signers(0).from_matches_signer());
}

TEST_F(SignetdSenderCheckTest, TheRequestCanRequireTheCheck) {
  EXPECT_THAT(Verify(*GatewayStub(), *signed_mail_, true).status, IsOk());
  ExpectSenderMismatch(Verify(*GatewayStub(), Forged(), true),
                       "the certificate names statements@bank.example");
  ExpectSenderMismatch(Verify(*GatewayStub(), WithFrom(""), true), "the mail has no From: field");
}

TEST_F(SignetdSenderCheckTest, TheCallersConfigurationRequiresItWhateverTheRequestSays) {
  CallResult result = Verify(*MxInStub(), *signed_mail_, false);
  ASSERT_THAT(result.status, IsOk());
  EXPECT_TRUE(result.header.signers(0).from_matches_signer());
  ExpectSenderMismatch(Verify(*MxInStub(), Forged(), false), "is not the signer's");
  ExpectSenderMismatch(
      Verify(*MxInStub(), WithFrom("From: a@bank.example, b@bank.example\r\n"), false),
      "names 2 authors");
}

TEST_F(SignetdSenderCheckTest, TheFromAddressIsNeverLogged) {
  ExpectSenderMismatch(Verify(*GatewayStub(), Forged(), true), "is not the signer's");
  ExpectSenderMismatch(Verify(*MxInStub(), Forged(), false), "is not the signer's");
  const std::string log = env_->DaemonLog();
  // The refusals are there, without the address.
  EXPECT_THAT(log, HasSubstr("status=INVALID_ARGUMENT")) << log;
  EXPECT_THAT(log, HasSubstr("is not the signer")) << log;
  EXPECT_THAT(log, Not(HasSubstr(kForgedAddress)));
  EXPECT_THAT(log, Not(HasSubstr("support-7d3e91")));
}

}  // namespace
}  // namespace signet
