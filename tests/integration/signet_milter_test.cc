// signet-milter end to end (issue #19): a private Postfix on loopback with
// smtpd_milters pointing at signet-milter, which calls a real signetd;
// Postfix relays to an SMTP sink (milter_test_world.h). Outbound statements
// leave signed and encrypted and openssl opens them; a customer who writes
// with gpgsm gets statements gpgsm opens; a required encryption without a
// certificate is refused naming the recipient; inbound encrypted mail
// arrives decrypted with this host's Authentication-Results and without the
// forged one; with signetd down the mail is deferred (4xx) and nothing is
// delivered, and once signetd is back it is delivered signed. The faults
// (signetd killed under a queue, odd and large mail) are in
// signet_milter_fault_test.cc.
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "appliance/cms/smime_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_pki.h"
#include "tests/integration/milter_test_world.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

class SignetMilterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    absl::StatusOr<std::unique_ptr<fixtures::MilterWorld>> world = fixtures::MilterWorld::Start();
    ASSERT_THAT(world, IsOk());
    world_ = world->release();
  }

  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "a private Postfix needs root";
    ASSERT_NE(world_, nullptr);
  }

  static fixtures::MilterWorld* world_;
};

fixtures::MilterWorld* SignetMilterTest::world_ = nullptr;

TEST_F(SignetMilterTest, AStatementLeavesSignedAndEncryptedAndOpensslOpensIt) {
  fixtures::SmtpSink& sink = world_->sink();
  const size_t before = sink.Messages().size();
  ASSERT_OK_AND_ASSIGN(fixtures::SmtpReply reply,
                       world_->postfix().Submit("statements@bank.example", {"customer@example.org"},
                                                fixtures::StatementMail("customer@example.org")));
  ASSERT_EQ(reply.code, 250) << reply.text << "\n" << world_->MilterLog();
  ASSERT_OK_AND_ASSIGN(fixtures::SinkMessage delivered, sink.WaitForMessage(absl::Seconds(30)));
  EXPECT_GT(sink.Messages().size(), before);
  // The envelope and the fields a reader sees stay; the content is sealed.
  EXPECT_THAT(delivered.data, HasSubstr("Message-ID: <statement-1@bank.example>"));
  EXPECT_THAT(delivered.data, HasSubstr("Subject: Your statement"));
  EXPECT_THAT(delivered.data, HasSubstr("application/pkcs7-mime"));
  EXPECT_THAT(delivered.data, Not(HasSubstr("1,234.56")));
  ASSERT_OK_AND_ASSIGN(std::string content, world_->OpenAsCustomer(delivered.data));
  EXPECT_THAT(content, HasSubstr("1,234.56"));
}

TEST_F(SignetMilterTest, ACustomerWhoWritesWithGpgsmGetsStatementsGpgsmOpens) {
  // Gina's mail client is gpgsm. It reads neither OAEP nor AES-GCM, and says
  // so in the SMIMECapabilities of what it signs.
  fixtures::SignetdEnv& signetd = world_->signetd();
  ASSERT_OK_AND_ASSIGN(fixtures::GpgsmHome gpgsm, fixtures::GpgsmHome::Create());
  ASSERT_THAT(gpgsm.TrustRoot(signetd.ca().certificate()), IsOk());
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr key, fixtures::GenerateKey("RSA:2048"));
  ASSERT_OK_AND_ASSIGN(
      X509Ptr certificate,
      signetd.ca().Issue(key.get(), "Gina", "gina@example.net",
                         {.key_usage = "critical,digitalSignature,keyEncipherment"}));
  ASSERT_THAT(gpgsm.ImportPrivateKey(key.get(), certificate.get()), IsOk());

  // Her signed mail to the bank is verified on the way in, and signetd keeps
  // her certificate with those capabilities.
  const std::string entity =
      "Content-Type: text/plain; charset=us-ascii\r\n\r\nPlease send my statements by mail.\r\n";
  ASSERT_OK_AND_ASSIGN(std::string signature,
                       gpgsm.Sign(entity, certificate.get(), /*detached=*/true));
  const std::string mail = absl::StrCat(
      "From: Gina <gina@example.net>\r\nTo: <statements@bank.example>\r\n"
      "Subject: Statements\r\nMIME-Version: 1.0\r\n",
      cms::MultipartSignedEntity(entity, signature, cms::DigestAlgorithm::kSha256));
  ASSERT_OK_AND_ASSIGN(
      fixtures::SmtpReply reply,
      world_->postfix().Submit("gina@example.net", {"statements@bank.example"}, mail));
  ASSERT_EQ(reply.code, 250) << reply.text << "\n" << world_->MilterLog();
  ASSERT_OK_AND_ASSIGN(fixtures::SinkMessage inbound,
                       world_->sink().WaitForMessage(absl::Seconds(30)));
  EXPECT_THAT(inbound.data, HasSubstr("smime=pass"));
  EXPECT_THAT(inbound.data, HasSubstr("body.smime-identifier=gina@example.net"));

  // Her statement leaves signed and encrypted in what gpgsm reads, and gpgsm
  // opens it and trusts the bank's signature.
  ASSERT_OK_AND_ASSIGN(reply,
                       world_->postfix().Submit("statements@bank.example", {"gina@example.net"},
                                                fixtures::StatementMail("gina@example.net")));
  ASSERT_EQ(reply.code, 250) << reply.text << "\n" << world_->MilterLog();
  ASSERT_OK_AND_ASSIGN(fixtures::SinkMessage statement,
                       world_->sink().WaitForMessage(absl::Seconds(30)));
  EXPECT_THAT(statement.data, HasSubstr("application/pkcs7-mime"));
  ASSERT_OK_AND_ASSIGN(fixtures::SmimeParts sealed,
                       fixtures::SplitSmimeWithOpenssl(statement.data));
  ASSERT_OK_AND_ASSIGN(std::string opened, gpgsm.Decrypt(sealed.cms_der));
  ASSERT_OK_AND_ASSIGN(fixtures::SmimeParts signed_parts, fixtures::SplitSmimeWithOpenssl(opened));
  ASSERT_TRUE(signed_parts.detached_content.has_value()) << opened;
  EXPECT_THAT(*signed_parts.detached_content, HasSubstr("1,234.56"));
  EXPECT_THAT(gpgsm.Verify(signed_parts.cms_der, signed_parts.detached_content), IsOk());
}

TEST_F(SignetMilterTest, RequiredEncryptionWithoutACertificateIsRefusedNamingTheRecipient) {
  const size_t before = world_->sink().Messages().size();
  ASSERT_OK_AND_ASSIGN(
      fixtures::SmtpReply reply,
      world_->postfix().Submit("statements@bank.example", {"auditor@regulator.example"},
                               fixtures::StatementMail("auditor@regulator.example")));
  EXPECT_EQ(reply.code / 100, 5) << reply.text;
  EXPECT_THAT(reply.text, HasSubstr("auditor@regulator.example"));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(world_->sink().Messages().size(), before);
}

TEST_F(SignetMilterTest, InboundEncryptedMailArrivesDecryptedWithThisHostsResults) {
  const std::string entity =
      "Content-Type: text/plain; charset=us-ascii\r\n\r\nPlease close my account.\r\n";
  ASSERT_OK_AND_ASSIGN(std::string signed_mail,
                       fixtures::OpensslSmimeSign(entity, world_->customer_pem(),
                                                  world_->customer_key_pem(), /*detached=*/true));
  ASSERT_OK_AND_ASSIGN(
      std::string encrypted,
      fixtures::OpensslSmimeEncrypt(signed_mail, world_->signetd().File("decryption.pem")));
  const std::string mail =
      absl::StrCat("From: Customer <customer@example.org>\r\n", "To: <secure@bank.example>\r\n",
                   "Subject: Account\r\n",
                   // Forged: claims this host's verdict before this host judged anything.
                   "Authentication-Results: mx.bank.example; smime=pass "
                   "header.smime-identifier=ceo@bank.example\r\n",
                   encrypted);
  ASSERT_OK_AND_ASSIGN(
      fixtures::SmtpReply reply,
      world_->postfix().Submit("customer@example.org", {"secure@bank.example"}, mail));
  ASSERT_EQ(reply.code, 250) << reply.text << "\n" << world_->MilterLog();
  ASSERT_OK_AND_ASSIGN(fixtures::SinkMessage delivered,
                       world_->sink().WaitForMessage(absl::Seconds(30)));
  EXPECT_THAT(delivered.data, HasSubstr("Please close my account."));
  EXPECT_THAT(delivered.data, Not(HasSubstr("ceo@bank.example")));
  EXPECT_THAT(delivered.data, HasSubstr("Authentication-Results: mx.bank.example;"));
  EXPECT_THAT(delivered.data, HasSubstr("smime=pass"));
  EXPECT_THAT(delivered.data, HasSubstr("customer@example.org"));
}

TEST_F(SignetMilterTest, WithSignetdDownTheMailIsDeferredAndLaterDeliveredSigned) {
  fixtures::SignetdEnv& signetd = world_->signetd();
  ASSERT_THAT(signetd.Stop(), IsOk());
  const size_t before = world_->sink().Messages().size();
  ASSERT_OK_AND_ASSIGN(
      fixtures::SmtpReply deferred,
      world_->postfix().Submit("statements@bank.example", {"someone@elsewhere.example"},
                               fixtures::StatementMail("someone@elsewhere.example")));
  EXPECT_EQ(deferred.code / 100, 4) << deferred.text;
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(world_->sink().Messages().size(), before) << "nothing may leave unsigned";

  ASSERT_THAT(signetd.Restart(SIGTERM), IsOk());
  ASSERT_OK_AND_ASSIGN(
      fixtures::SmtpReply accepted,
      world_->postfix().Submit("statements@bank.example", {"someone@elsewhere.example"},
                               fixtures::StatementMail("someone@elsewhere.example")));
  ASSERT_EQ(accepted.code, 250) << accepted.text;
  ASSERT_OK_AND_ASSIGN(fixtures::SinkMessage delivered,
                       world_->sink().WaitForMessage(absl::Seconds(30)));
  // No certificate for that address: signed only, as the policy allows.
  EXPECT_THAT(delivered.data, HasSubstr("multipart/signed"));
  EXPECT_THAT(fixtures::OpensslSmimeVerify(delivered.data, world_->ca_pem()), IsOk());
}

}  // namespace
}  // namespace signet
