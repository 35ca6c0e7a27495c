// Recipient validation before encryption (issue #16) through signetd: the
// recipients' CA is configured (validation.recipient_trust_anchors_file)
// with a CRL file revoking one customer. EncryptMail and SignAndEncryptMail
// to the revoked customer are refused naming it, to a good one succeed and
// `openssl cms -decrypt` opens the result, and skipping the validation is
// for the caller whose configuration allows it, when it asks, only.
#include <grpcpp/grpcpp.h>
#include <openssl/pem.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/ossl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/errors.pb.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

using CallResult = fixtures::MailCallResult;
using fixtures::StreamMail;

constexpr int kKeyCompromise = 1;
constexpr char kMail[] =
    "From: Statements <statements@bank.example>\r\n"
    "To: customer@example.org\r\n"
    "Subject: Your statement\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Balance on 27 November: 1,234.56 EUR.\r\n";

// The unix socket's caller may not skip the validation; "mx-relay" (mTLS)
// may, when it asks.
constexpr char kCallers[] = R"pb(
  callers {
    name: "local-gateway"
    unix_uid: $UID
    grants { keys: "bank-signing" operations: SIGN_MAIL }
    grants { operations: ENCRYPT_MAIL }
  }
  callers {
    name: "mx-relay"
    certificate_subject: "CN=mx-relay"
    grants { keys: "bank-signing" operations: SIGN_MAIL }
    grants { operations: ENCRYPT_MAIL }
    encrypt_skip_recipient_validation: true
  }
)pb";

struct Recipients {
  fixtures::TempDir dir;
  std::string good_der;
  std::string revoked_der;
};

class SignetdRecipientCheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("signet-recipients");
    ASSERT_THAT(dir, IsOk());
    recipients_ = new Recipients{std::move(*dir)};
    const fixtures::TempDir& files = recipients_->dir;
    ASSERT_OK_AND_ASSIGN(fixtures::TestCa ca, fixtures::TestCa::Create("Customer CA"));
    ASSERT_OK_AND_ASSIGN(EvpPkeyPtr good_key, fixtures::GenerateKey("RSA:2048"));
    ASSERT_OK_AND_ASSIGN(EvpPkeyPtr revoked_key, fixtures::GenerateKey("RSA:2048"));
    ASSERT_OK_AND_ASSIGN(X509Ptr good, ca.Issue(good_key.get(), "Customer", "customer@example.org",
                                                {.for_encryption = true}));
    ASSERT_OK_AND_ASSIGN(X509Ptr revoked,
                         ca.Issue(revoked_key.get(), "Revoked Customer", "revoked@example.org",
                                  {.for_encryption = true}));
    ASSERT_OK_AND_ASSIGN(
        X509CrlPtr crl,
        ca.MakeCrl({.revoked = {{.certificate = revoked.get(), .reason = kKeyCompromise}}}));
    ASSERT_OK_AND_ASSIGN(std::string crl_pem, fixtures::ToPem(crl.get()));
    std::ofstream(files.File("customers.crl")) << crl_pem;
    ASSERT_THAT(fixtures::WritePem(files.File("customer-ca.pem"), ca.certificate()), IsOk());
    ASSERT_THAT(fixtures::WritePem(files.File("customer.pem"), good.get()), IsOk());
    ASSERT_THAT(fixtures::WritePrivateKeyPem(files.File("customer.key"), good_key.get()), IsOk());
    ASSERT_OK_AND_ASSIGN(recipients_->good_der, fixtures::ToDer(good.get()));
    ASSERT_OK_AND_ASSIGN(recipients_->revoked_der, fixtures::ToDer(revoked.get()));

    absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env = fixtures::SignetdEnv::Start(
        {.signetd_path = SIGNETD_PATH,
         .callers = kCallers,
         .extra_config = absl::StrCat("validation { recipient_trust_anchors_file: \"",
                                      files.File("customer-ca.pem"), "\" crl_files: \"",
                                      files.File("customers.crl"), "\" offline: true }"),
         .tcp = true,
         .client_names = {"mx-relay"}});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
  }

  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
    delete recipients_;
    recipients_ = nullptr;
  }

  static std::unique_ptr<v1::Mail::Stub> GatewayStub() {
    return v1::Mail::NewStub(fixtures::UnixChannel(*env_));
  }
  static std::unique_ptr<v1::Mail::Stub> RelayStub() {
    return v1::Mail::NewStub(fixtures::TlsChannel(*env_, "mx-relay"));
  }

  static v1::EncryptOptions Options(const std::vector<std::string>& recipients, bool skip) {
    v1::EncryptOptions options;
    for (const std::string& der : recipients) options.add_recipient_certificates(der);
    options.set_skip_recipient_validation(skip);
    return options;
  }
  static CallResult Encrypt(v1::Mail::Stub& stub, const std::vector<std::string>& recipients,
                            bool skip = false) {
    v1::EncryptMailRequest::Header header;
    *header.mutable_options() = Options(recipients, skip);
    return StreamMail<v1::EncryptMailRequest>(&v1::Mail::Stub::EncryptMail, stub, header, kMail);
  }
  static CallResult SignAndEncrypt(v1::Mail::Stub& stub, const std::vector<std::string>& recipients,
                                   bool skip = false) {
    v1::SignAndEncryptMailRequest::Header header;
    header.set_signing_key("bank-signing");
    *header.mutable_encrypt() = Options(recipients, skip);
    return StreamMail<v1::SignAndEncryptMailRequest>(&v1::Mail::Stub::SignAndEncryptMail, stub,
                                                     header, kMail);
  }

  // The revoked customer, second of the request's recipients, refused.
  static void ExpectRevokedRefused(const CallResult& result) {
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << result.status.error_message();
    EXPECT_THAT(result.status.error_message(),
                HasSubstr("recipient certificate 2 (CN=Revoked Customer, revoked@example.org)"));
    EXPECT_THAT(result.status.error_message(), HasSubstr("revoked (keyCompromise)"));
    v1::ErrorDetails details;
    ASSERT_TRUE(details.ParseFromString(result.status.error_details()));
    EXPECT_EQ(details.recipient_refusal().failure(), "REVOKED");
    EXPECT_EQ(details.recipient_refusal().index(), 1);
    EXPECT_EQ(details.recipient_refusal().subject(), "CN=Revoked Customer");
    EXPECT_THAT(details.recipient_refusal().email_addresses(), ElementsAre("revoked@example.org"));
    EXPECT_EQ(details.recipient_refusal().revocation_reason(), "keyCompromise");
    EXPECT_TRUE(result.body.empty());
  }

  // What `openssl cms -decrypt` makes of an encrypted mail with the good
  // customer's key.
  static std::string DecryptAsCustomer(const std::string& encrypted) {
    const std::string path = recipients_->dir.File("encrypted.eml");
    std::ofstream(path, std::ios::binary | std::ios::trunc) << encrypted;
    absl::StatusOr<fixtures::CommandResult> result = fixtures::RunCommand(
        {"openssl", "cms", "-decrypt", "-in", path, "-recip", recipients_->dir.File("customer.pem"),
         "-inkey", recipients_->dir.File("customer.key")});
    EXPECT_THAT(result, IsOk());
    if (!result.ok()) return {};
    EXPECT_EQ(result->exit_code, 0) << result->err;
    return result->out;
  }

  static fixtures::SignetdEnv* env_;
  static Recipients* recipients_;
};

fixtures::SignetdEnv* SignetdRecipientCheckTest::env_ = nullptr;
Recipients* SignetdRecipientCheckTest::recipients_ = nullptr;

TEST_F(SignetdRecipientCheckTest, AGoodRecipientGetsAMailItCanOpen) {
  CallResult result = Encrypt(*GatewayStub(), {recipients_->good_der});
  ASSERT_THAT(result.status, IsOk());
  EXPECT_THAT(DecryptAsCustomer(result.body), HasSubstr("Balance on 27 November"));

  result = SignAndEncrypt(*GatewayStub(), {recipients_->good_der});
  ASSERT_THAT(result.status, IsOk());
  EXPECT_THAT(DecryptAsCustomer(result.body), HasSubstr("Balance on 27 November"));
}

TEST_F(SignetdRecipientCheckTest, ARevokedRecipientIsRefusedByName) {
  ExpectRevokedRefused(Encrypt(*GatewayStub(), {recipients_->good_der, recipients_->revoked_der}));
  ExpectRevokedRefused(
      SignAndEncrypt(*GatewayStub(), {recipients_->good_der, recipients_->revoked_der}));
  // The refusal is in the call log with its reason.
  EXPECT_THAT(env_->DaemonLog(), HasSubstr("is refused: the certificate is revoked"));
}

TEST_F(SignetdRecipientCheckTest, RecipientAnchorsAreTheConfiguredOnesNotVerifyMails) {
  // The bank's own decryption certificate chains to trust_anchors_file, the
  // CAs VerifyMail trusts, but not to the recipient anchors set here.
  const std::string bank = fixtures::ReadFile(env_->File("decryption.pem"));
  ASSERT_FALSE(bank.empty());
  const auto* data = reinterpret_cast<const unsigned char*>(bank.data());
  BioPtr bio(BIO_new_mem_buf(data, static_cast<int>(bank.size())));
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(certificate);
  ASSERT_OK_AND_ASSIGN(std::string der, fixtures::ToDer(certificate.get()));
  CallResult result = Encrypt(*GatewayStub(), {der});
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ErrorDetails details;
  ASSERT_TRUE(details.ParseFromString(result.status.error_details()));
  EXPECT_EQ(details.recipient_refusal().failure(), "UNTRUSTED");
  EXPECT_EQ(details.recipient_refusal().index(), 0);
}

TEST_F(SignetdRecipientCheckTest, OnlyAnAllowedCallerMaySkipAndOnlyWhenItAsks) {
  // Not allowed: refused before anything else, whatever the recipients.
  CallResult result = Encrypt(*GatewayStub(), {recipients_->good_der}, /*skip=*/true);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(result.status.error_message(), HasSubstr("encrypt_skip_recipient_validation"));
  result = SignAndEncrypt(*GatewayStub(), {recipients_->good_der}, /*skip=*/true);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // Allowed but not asking: validated like everyone's.
  ExpectRevokedRefused(Encrypt(*RelayStub(), {recipients_->good_der, recipients_->revoked_der}));
  // Allowed and asking: encrypted, and the good customer still reads it.
  result = Encrypt(*RelayStub(), {recipients_->good_der, recipients_->revoked_der},
                   /*skip=*/true);
  ASSERT_THAT(result.status, IsOk());
  EXPECT_THAT(DecryptAsCustomer(result.body), HasSubstr("Balance on 27 November"));
  EXPECT_THAT(env_->DaemonLog(),
              HasSubstr("caller 'mx-relay' encrypts to 2 recipient certificate(s) without "
                        "validating them"));
}

// `signet encrypt --skip-recipient-validation` asks for the skip; the unix
// socket's caller may not, and is told which setting it lacks.
TEST_F(SignetdRecipientCheckTest, TheCliAsksForTheSkipOnlyWithItsFlag) {
  const std::string revoked = recipients_->dir.File("revoked.der");
  std::ofstream(revoked, std::ios::binary | std::ios::trunc) << recipients_->revoked_der;
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {SIGNET_PATH, "--socket",    env_->socket(),
                                     "encrypt",   "--recipient", revoked};
    argv.insert(argv.end(), extra.begin(), extra.end());
    absl::StatusOr<fixtures::CommandResult> result = fixtures::RunCommand(argv, kMail);
    EXPECT_THAT(result, IsOk());
    return result.value_or(fixtures::CommandResult{});
  };
  fixtures::CommandResult validated = run({});
  EXPECT_EQ(validated.exit_code, 1);
  EXPECT_THAT(validated.err, HasSubstr("revoked (keyCompromise)"));
  fixtures::CommandResult skipped = run({"--skip-recipient-validation"});
  EXPECT_EQ(skipped.exit_code, 1);
  EXPECT_THAT(skipped.err, HasSubstr("encrypt_skip_recipient_validation"));
  EXPECT_TRUE(skipped.out.empty());
}

TEST_F(SignetdRecipientCheckTest, TheAuditRecordSaysWhenValidationWasSkipped) {
  CallResult result = SignAndEncrypt(*RelayStub(), {recipients_->revoked_der}, /*skip=*/true);
  ASSERT_THAT(result.status, IsOk());
  ASSERT_THAT(SignAndEncrypt(*RelayStub(), {recipients_->good_der}).status, IsOk());
  const std::string audit = fixtures::ReadFile(env_->AuditLogPath());
  // Exactly the one skipped operation says so.
  size_t skipped = 0;
  for (size_t at = audit.find("\"recipient_validation_skipped\":true"); at != std::string::npos;
       at = audit.find("\"recipient_validation_skipped\":true", at + 1)) {
    ++skipped;
  }
  EXPECT_EQ(skipped, 1u) << audit;
  EXPECT_THAT(audit, HasSubstr("\"caller\":\"mx-relay\""));
  EXPECT_THAT(audit, Not(HasSubstr("BEGIN")));
}

}  // namespace
}  // namespace signet
