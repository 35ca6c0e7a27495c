// signet-milter end to end (issue #19): a private Postfix on loopback with
// smtpd_milters pointing at signet-milter, which calls a real signetd;
// Postfix relays to an SMTP sink. Outbound statements leave signed and
// encrypted and openssl opens them; a required encryption without a
// certificate is refused naming the recipient; inbound encrypted mail
// arrives decrypted with this host's Authentication-Results and without the
// forged one; with signetd down the mail is deferred (4xx) and nothing is
// delivered, and once signetd is back it is delivered signed.
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ossl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/directory.grpc.pb.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/postfix.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/smtp_sink.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCallers[] = R"pb(
  callers {
    name: "milter"
    unix_uid: $UID
    grants { keys: "bank-signing" operations: SIGN_MAIL }
    grants { keys: "bank-decryption" operations: DECRYPT_MAIL }
    grants { operations: [ ENCRYPT_MAIL, VERIFY_MAIL, LOOKUP_CERTIFICATES, PUBLISH_CERTIFICATES ] }
  }
)pb";

std::string Statement(absl::string_view to) {
  return absl::StrCat("From: Statements <statements@bank.example>\r\n", "To: <", to, ">\r\n",
                      "Subject: Your statement\r\n", "Message-ID: <statement-1@bank.example>\r\n",
                      "Date: Sun, 06 Dec 2026 01:00:00 +0000\r\n", "MIME-Version: 1.0\r\n",
                      "Content-Type: text/plain; charset=us-ascii\r\n", "\r\n",
                      "Balance on 6 December: 1,234.56 EUR.\r\n");
}

struct World {
  fixtures::TempDir dir;
  EvpPkeyPtr customer_key;
  X509Ptr customer_certificate;
  std::string customer_pem;
  std::string customer_key_pem;
  std::unique_ptr<fixtures::SmtpSink> sink;
  std::unique_ptr<fixtures::ChildProcess> milter;
  std::unique_ptr<fixtures::PostfixInstance> postfix;
};

class SignetMilterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A private Postfix runs its daemons as the postfix user: only root can.
    if (geteuid() != 0) return;
    ASSERT_OK_AND_ASSIGN(fixtures::TempDir dir, fixtures::TempDir::Create("signet-milter"));
    world_ = new World{std::move(dir)};
    // smtpd connects to the milter's socket as the postfix user.
    ASSERT_EQ(chmod(world_->dir.path().c_str(), 0755), 0);
    absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env = fixtures::SignetdEnv::Start(
        {.signetd_path = SIGNETD_PATH,
         .callers = kCallers,
         .extra_config = "validation { revocation: REVOCATION_OFF }\n"
                         "directory { store_path: \"$DIR/directory.db\" }"});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
    // The customer's certificate is from the bank's CA, which signetd
    // trusts for signers and recipients alike.
    ASSERT_OK_AND_ASSIGN(world_->customer_key, fixtures::GenerateKey("RSA:2048"));
    ASSERT_OK_AND_ASSIGN(
        world_->customer_certificate,
        env_->ca().Issue(world_->customer_key.get(), "Customer", "customer@example.org",
                         {.key_usage = "critical,digitalSignature,keyEncipherment"}));
    world_->customer_pem = world_->dir.File("customer.pem");
    world_->customer_key_pem = world_->dir.File("customer.key");
    ASSERT_THAT(fixtures::WritePem(world_->customer_pem, world_->customer_certificate.get()),
                IsOk());
    ASSERT_THAT(fixtures::WritePrivateKeyPem(world_->customer_key_pem, world_->customer_key.get()),
                IsOk());

    // The customer's certificate in signetd's directory.
    {
      auto directory = v1::Directory::NewStub(fixtures::UnixChannel(*env_));
      grpc::ClientContext context;
      v1::PublishRequest request;
      ASSERT_OK_AND_ASSIGN(std::string der, fixtures::ToDer(world_->customer_certificate.get()));
      request.set_certificate(der);
      v1::PublishResponse response;
      grpc::Status published = directory->Publish(&context, request, &response);
      ASSERT_TRUE(published.ok()) << published.error_message();
    }

    ASSERT_OK_AND_ASSIGN(world_->sink, fixtures::SmtpSink::Start(world_->dir.File("sink")));
    StartMilter();
    ASSERT_OK_AND_ASSIGN(world_->postfix,
                         fixtures::PostfixInstance::Start(
                             {.relay_port = world_->sink->port(),
                              .milters = absl::StrCat("unix:", world_->dir.File("milter.sock"))}));
  }

  static void StartMilter() {
    const std::string config = world_->dir.File("milter.textproto");
    std::ofstream(config) << absl::StrCat(
        "listen: \"unix:", world_->dir.File("milter.sock"), "\"\n", "listen_mode: 0666\n",
        "signetd { socket: \"", env_->socket(), "\" }\n", "authserv_id: \"mx.bank.example\"\n",
        "local_domains: \"bank.example\"\n", "signetd_timeout_seconds: 3\n", R"pb(
          outbound {
            signers { senders: "statements@bank.example" key: "bank-signing" }
            recipient_policies { domains: "*" action: SIGN_AND_ENCRYPT_IF_POSSIBLE }
            recipient_policies { domains: "regulator.example" action: MUST_ENCRYPT }
            on_missing_certificate: REJECT
          }
          inbound {
            rules { recipients: "bank.example" decrypt: true decryption_keys: "bank-decryption" }
          }
        )pb");
    ASSERT_OK_AND_ASSIGN(world_->milter,
                         fixtures::ChildProcess::Spawn({SIGNET_MILTER_PATH, "--config", config}, {},
                                                       world_->dir.File("milter.log")));
    for (int i = 0; i < 200 && !std::ifstream(world_->dir.File("milter.sock")); ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  static void TearDownTestSuite() {
    if (world_ != nullptr) {
      world_->postfix.reset();
      world_->milter.reset();
      world_->sink.reset();
    }
    delete env_;
    env_ = nullptr;
    delete world_;
    world_ = nullptr;
  }

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "a private Postfix needs root";
  }

  static fixtures::SignetdEnv* env_;
  static World* world_;
};

fixtures::SignetdEnv* SignetMilterTest::env_ = nullptr;
World* SignetMilterTest::world_ = nullptr;

TEST_F(SignetMilterTest, AStatementLeavesSignedAndEncryptedAndOpensslOpensIt) {
  const size_t before = world_->sink->Messages().size();
  ASSERT_OK_AND_ASSIGN(fixtures::SmtpReply reply,
                       world_->postfix->Submit("statements@bank.example", {"customer@example.org"},
                                               Statement("customer@example.org")));
  ASSERT_EQ(reply.code, 250) << reply.text << "\n"
                             << fixtures::ReadFile(world_->dir.File("milter.log"));
  ASSERT_OK_AND_ASSIGN(fixtures::SinkMessage delivered,
                       world_->sink->WaitForMessage(absl::Seconds(30)));
  EXPECT_GT(world_->sink->Messages().size(), before);
  // The envelope and the fields a reader sees stay; the content is sealed.
  EXPECT_THAT(delivered.data, HasSubstr("Message-ID: <statement-1@bank.example>"));
  EXPECT_THAT(delivered.data, HasSubstr("Subject: Your statement"));
  EXPECT_THAT(delivered.data, HasSubstr("application/pkcs7-mime"));
  EXPECT_THAT(delivered.data, Not(HasSubstr("1,234.56")));
  ASSERT_OK_AND_ASSIGN(std::string inner,
                       fixtures::OpensslSmimeDecrypt(delivered.data, world_->customer_pem,
                                                     world_->customer_key_pem));
  std::string content;
  EXPECT_THAT(fixtures::OpensslSmimeVerify(inner, env_->File("ca.pem"), &content), IsOk());
  EXPECT_THAT(content, HasSubstr("1,234.56"));
}

TEST_F(SignetMilterTest, RequiredEncryptionWithoutACertificateIsRefusedNamingTheRecipient) {
  const size_t before = world_->sink->Messages().size();
  ASSERT_OK_AND_ASSIGN(
      fixtures::SmtpReply reply,
      world_->postfix->Submit("statements@bank.example", {"auditor@regulator.example"},
                              Statement("auditor@regulator.example")));
  EXPECT_EQ(reply.code / 100, 5) << reply.text;
  EXPECT_THAT(reply.text, HasSubstr("auditor@regulator.example"));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(world_->sink->Messages().size(), before);
}

TEST_F(SignetMilterTest, InboundEncryptedMailArrivesDecryptedWithThisHostsResults) {
  const std::string entity =
      "Content-Type: text/plain; charset=us-ascii\r\n\r\nPlease close my account.\r\n";
  ASSERT_OK_AND_ASSIGN(std::string signed_mail,
                       fixtures::OpensslSmimeSign(entity, world_->customer_pem,
                                                  world_->customer_key_pem, /*detached=*/true));
  ASSERT_OK_AND_ASSIGN(std::string encrypted,
                       fixtures::OpensslSmimeEncrypt(signed_mail, env_->File("decryption.pem")));
  const std::string mail =
      absl::StrCat("From: Customer <customer@example.org>\r\n", "To: <secure@bank.example>\r\n",
                   "Subject: Account\r\n",
                   // Forged: claims this host's verdict before this host judged anything.
                   "Authentication-Results: mx.bank.example; smime=pass "
                   "header.smime-identifier=ceo@bank.example\r\n",
                   encrypted);
  ASSERT_OK_AND_ASSIGN(
      fixtures::SmtpReply reply,
      world_->postfix->Submit("customer@example.org", {"secure@bank.example"}, mail));
  ASSERT_EQ(reply.code, 250) << reply.text << "\n"
                             << fixtures::ReadFile(world_->dir.File("milter.log"));
  ASSERT_OK_AND_ASSIGN(fixtures::SinkMessage delivered,
                       world_->sink->WaitForMessage(absl::Seconds(30)));
  EXPECT_THAT(delivered.data, HasSubstr("Please close my account."));
  EXPECT_THAT(delivered.data, Not(HasSubstr("ceo@bank.example")));
  EXPECT_THAT(delivered.data, HasSubstr("Authentication-Results: mx.bank.example;"));
  EXPECT_THAT(delivered.data, HasSubstr("smime=pass"));
  EXPECT_THAT(delivered.data, HasSubstr("customer@example.org"));
}

TEST_F(SignetMilterTest, WithSignetdDownTheMailIsDeferredAndLaterDeliveredSigned) {
  ASSERT_THAT(env_->Stop(), IsOk());
  const size_t before = world_->sink->Messages().size();
  ASSERT_OK_AND_ASSIGN(
      fixtures::SmtpReply deferred,
      world_->postfix->Submit("statements@bank.example", {"someone@elsewhere.example"},
                              Statement("someone@elsewhere.example")));
  EXPECT_EQ(deferred.code / 100, 4) << deferred.text;
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(world_->sink->Messages().size(), before) << "nothing may leave unsigned";

  ASSERT_THAT(env_->Restart(SIGTERM), IsOk());
  ASSERT_OK_AND_ASSIGN(
      fixtures::SmtpReply accepted,
      world_->postfix->Submit("statements@bank.example", {"someone@elsewhere.example"},
                              Statement("someone@elsewhere.example")));
  ASSERT_EQ(accepted.code, 250) << accepted.text;
  ASSERT_OK_AND_ASSIGN(fixtures::SinkMessage delivered,
                       world_->sink->WaitForMessage(absl::Seconds(30)));
  // No certificate for that address: signed only, as the policy allows.
  EXPECT_THAT(delivered.data, HasSubstr("multipart/signed"));
  EXPECT_THAT(fixtures::OpensslSmimeVerify(delivered.data, env_->File("ca.pem")), IsOk());
}

}  // namespace
}  // namespace signet
