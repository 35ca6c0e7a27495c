// signet-milter's faults end to end (issue #19), each test with a world of
// its own (milter_test_world.h): signetd killed while mail flows through a
// queue; mail that is odd or large (empty, refused for its missing From;
// 8-bit; over the limit; to 1,000 recipients; with a 40 MiB attachment);
// mail from a local program (non_smtpd_milters) while signetd is down.
// Through all of them no mail leaves other than the policy says, and none
// is lost.
#include <unistd.h>

#include <map>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/integration/milter_test_world.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::testing::HasSubstr;

// The mails the sink got after the first `skip`.
std::vector<fixtures::SinkMessage> DeliveredSince(fixtures::SmtpSink& sink, size_t skip) {
  std::vector<fixtures::SinkMessage> all = sink.Messages();
  return {all.begin() + static_cast<std::ptrdiff_t>(std::min(skip, all.size())), all.end()};
}

// The body of a MIME entity (after its first empty line).
std::string BodyOf(const std::string& entity) {
  size_t end = entity.find("\r\n\r\n");
  if (end != std::string::npos) return entity.substr(end + 4);
  end = entity.find("\n\n");
  return end == std::string::npos ? "" : entity.substr(end + 2);
}

class SignetMilterFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "a private Postfix needs root";
  }

  void StartWorld(fixtures::MilterWorldOptions options = {}) {
    absl::StatusOr<std::unique_ptr<fixtures::MilterWorld>> world =
        fixtures::MilterWorld::Start(std::move(options));
    ASSERT_THAT(world, IsOk());
    world_ = *std::move(world);
  }

  // Hands `mail` to the gateway's Postfix and returns what it delivered.
  fixtures::SinkMessage SendThrough(const std::vector<std::string>& recipients,
                                    const std::string& mail) {
    absl::StatusOr<fixtures::SmtpReply> reply =
        world_->postfix().Submit("statements@bank.example", recipients, mail);
    EXPECT_THAT(reply, IsOk());
    if (!reply.ok()) return {};
    EXPECT_EQ(reply->code, 250) << reply->text << "\n" << world_->MilterLog();
    if (reply->code != 250) return {};
    absl::StatusOr<fixtures::SinkMessage> delivered =
        world_->sink().WaitForMessage(absl::Seconds(120));
    EXPECT_THAT(delivered, IsOk());
    return delivered.ok() ? *std::move(delivered) : fixtures::SinkMessage{};
  }

  std::unique_ptr<fixtures::MilterWorld> world_;
};

TEST_F(SignetMilterFaultTest, SignetdKilledUnderAQueueDefersAndEveryMailLeavesSignedOnce) {
  ASSERT_NO_FATAL_FAILURE(StartWorld());
  fixtures::SmtpSink& sink = world_->sink();
  // The bank's internal MTA: a Postfix without the milter that relays to the
  // gateway, keeping in its queue what the gateway defers.
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<fixtures::PostfixInstance> upstream,
      fixtures::PostfixInstance::Start({.relay_port = world_->postfix().smtp_port()}));
  auto submit = [&](int n) {
    const std::string to = absl::StrCat("customer", n, "@elsewhere.example");
    absl::StatusOr<fixtures::SmtpReply> reply =
        upstream->Submit("statements@bank.example", {to}, fixtures::StatementMail(to));
    ASSERT_THAT(reply, IsOk());
    ASSERT_EQ(reply->code, 250) << reply->text;
  };

  constexpr int kMails = 20;
  for (int n = 0; n < kMails / 2; ++n) ASSERT_NO_FATAL_FAILURE(submit(n));
  // Mail is flowing: signetd dies, the rest comes while it is down.
  ASSERT_THAT(sink.WaitForMessage(absl::Seconds(60)), IsOk());
  ASSERT_THAT(world_->signetd().Stop(SIGKILL), IsOk());
  for (int n = kMails / 2; n < kMails; ++n) ASSERT_NO_FATAL_FAILURE(submit(n));
  // The gateway answers 4xx, so the internal MTA keeps the mail.
  ASSERT_OK_AND_ASSIGN(std::string deferred,
                       upstream->WaitForLog("451 4.7.0 signet-milter", absl::Seconds(60)));
  EXPECT_THAT(deferred, HasSubstr("status=deferred"));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> queued, upstream->QueueIds());
  EXPECT_FALSE(queued.empty());

  ASSERT_THAT(world_->signetd().Restart(SIGKILL), IsOk());
  ASSERT_THAT(upstream->Flush(), IsOk());
  ASSERT_THAT(upstream->WaitForEmptyQueue(absl::Seconds(120)), IsOk()) << upstream->Log();
  ASSERT_THAT(world_->postfix().WaitForEmptyQueue(absl::Seconds(60)), IsOk());

  // Every mail arrived once, and each is signed by the bank.
  std::map<std::string, int> arrivals;
  for (const fixtures::SinkMessage& message : DeliveredSince(sink, 0)) {
    ASSERT_EQ(message.recipients.size(), 1u);
    ++arrivals[message.recipients[0]];
    EXPECT_THAT(message.data, HasSubstr("multipart/signed"));
    EXPECT_THAT(fixtures::OpensslSmimeVerify(message.data, world_->ca_pem()), IsOk())
        << message.recipients[0];
  }
  EXPECT_EQ(arrivals.size(), static_cast<size_t>(kMails));
  for (const auto& [recipient, count] : arrivals) EXPECT_EQ(count, 1) << recipient;
  EXPECT_THAT(world_->MilterLog(), HasSubstr("deferred: signetd"));
}

TEST_F(SignetMilterFaultTest, AnEmptyMailIsRefusedForItsMissingFromNotKeptInTheQueue) {
  // The statements key signs only for statements@bank.example, and an empty
  // mail has no From: to show it is from there. No retry can mend that, so
  // the mail is refused at once (it would otherwise wait in every queue
  // before it for days), and nothing leaves unsigned.
  ASSERT_NO_FATAL_FAILURE(StartWorld());
  ASSERT_OK_AND_ASSIGN(
      fixtures::SmtpReply reply,
      world_->postfix().Submit("statements@bank.example", {"someone@elsewhere.example"}, ""));
  EXPECT_EQ(reply.code, 554) << reply.text;
  EXPECT_THAT(reply.text, HasSubstr("5.7.1"));
  EXPECT_THAT(reply.text, HasSubstr("has no From"));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> queued, world_->postfix().QueueIds());
  EXPECT_TRUE(queued.empty());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(world_->sink().Messages().empty());
}

TEST_F(SignetMilterFaultTest, AnEightBitMailLeavesSignedInSevenBitsWithItsTextIntact) {
  ASSERT_NO_FATAL_FAILURE(StartWorld());
  const std::string text = "Grüße aus Zürich: Kontostand 1.234,56 €\r\n";
  const std::string mail = absl::StrCat(
      "From: Statements <statements@bank.example>\r\nTo: <kunde@elsewhere.example>\r\n"
      "Subject: Kontoauszug\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
      text);
  const fixtures::SinkMessage delivered = SendThrough({"kunde@elsewhere.example"}, mail);
  // Re-encoded before signing: no relay may turn the signed bytes into
  // quoted-printable on the way (RFC 8551 section 3.1.2).
  EXPECT_FALSE(std::any_of(delivered.data.begin(), delivered.data.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x80;
  })) << delivered.data;
  std::string content;
  ASSERT_THAT(fixtures::OpensslSmimeVerify(delivered.data, world_->ca_pem(), &content), IsOk());
  EXPECT_THAT(content, HasSubstr("Content-Transfer-Encoding: base64"));
  std::string decoded;
  ASSERT_TRUE(absl::Base64Unescape(BodyOf(content), &decoded)) << content;
  EXPECT_EQ(decoded, text);
}

TEST_F(SignetMilterFaultTest, AMailOverTheLimitIsRefusedWithAClearReply) {
  ASSERT_NO_FATAL_FAILURE(StartWorld({.max_message_bytes = 1 << 20}));
  std::string mail = fixtures::StatementMail("someone@elsewhere.example");
  while (mail.size() <= (2 << 20)) mail += "Another line of the statement, to make it large.\r\n";
  ASSERT_OK_AND_ASSIGN(
      fixtures::SmtpReply reply,
      world_->postfix().Submit("statements@bank.example", {"someone@elsewhere.example"}, mail));
  EXPECT_EQ(reply.code, 552) << reply.text;
  EXPECT_THAT(reply.text, HasSubstr("5.3.4"));
  EXPECT_THAT(reply.text, HasSubstr("too large"));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(world_->sink().Messages().empty());
}

TEST_F(SignetMilterFaultTest, AThousandRecipientsGetOneSignedCopy) {
  ASSERT_NO_FATAL_FAILURE(StartWorld());
  std::vector<std::string> recipients;
  for (int n = 0; n < 1000; ++n) recipients.push_back(absl::StrCat("c", n, "@elsewhere.example"));
  const fixtures::SinkMessage delivered =
      SendThrough(recipients, fixtures::StatementMail("undisclosed-recipients:;"));
  // No certificate for any of them: signed, not encrypted, as the policy
  // allows; one copy for all, every recipient kept.
  // (Postfix's queue manager sorts them.)
  EXPECT_THAT(delivered.recipients, ::testing::UnorderedElementsAreArray(recipients));
  EXPECT_THAT(delivered.data, HasSubstr("multipart/signed"));
  EXPECT_THAT(fixtures::OpensslSmimeVerify(delivered.data, world_->ca_pem()), IsOk());
  EXPECT_THAT(world_->MilterLog(), HasSubstr("1000 recipient(s)"));
}

TEST_F(SignetMilterFaultTest, AFortyMebibyteAttachmentLeavesSignedAndEncrypted) {
  // 40 MiB in base64 is 54 MiB of mail: within signet-milter's and
  // signetd's default limits (64 MiB), which is the point. Signing and
  // encrypting it takes seconds, and under the sanitizers on a loaded
  // machine tens of them: Postfix waits for the milter up to 300 s (its
  // default) rather than the fixture's 30.
  ASSERT_NO_FATAL_FAILURE(StartWorld(
      {.signetd_timeout_seconds = 120, .postfix_main_cf = {"milter_content_timeout = 300s"}}));
  std::string attachment(size_t{40} << 20, '\0');
  std::mt19937_64 random(19);
  for (char& c : attachment) c = static_cast<char>(random());
  std::string encoded;
  for (size_t offset = 0; offset < attachment.size(); offset += 57) {
    absl::StrAppend(&encoded, absl::Base64Escape(absl::string_view(attachment).substr(offset, 57)),
                    "\r\n");
  }
  const std::string mail = absl::StrCat(
      "From: Statements <statements@bank.example>\r\nTo: <customer@example.org>\r\n"
      "Subject: Your yearly statement\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
      "--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nAttached.\r\n"
      "--b1\r\nContent-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"statements-2026.bin\"\r\n\r\n",
      encoded, "--b1--\r\n");
  const fixtures::SinkMessage delivered = SendThrough({"customer@example.org"}, mail);
  EXPECT_TRUE(absl::StrContains(delivered.data, "application/pkcs7-mime"));
  ASSERT_OK_AND_ASSIGN(std::string content, world_->OpenAsCustomer(delivered.data));
  // Compared, not matched: a failure must not print 54 MiB.
  EXPECT_TRUE(absl::StrContains(content, encoded));
}

TEST_F(SignetMilterFaultTest, MailFromALocalProgramWaitsInTheMaildropWhileSignetdIsDown) {
  // non_smtpd_milters: mail that a program hands to Postfix's sendmail
  // (postdrop, pickup, cleanup) rather than over SMTP.
  ASSERT_NO_FATAL_FAILURE(StartWorld({.postfix_main_cf = {"non_smtpd_milters = $smtpd_milters"}}));
  fixtures::PostfixInstance& postfix = world_->postfix();
  ASSERT_THAT(world_->signetd().Stop(), IsOk());
  const std::vector<std::string> sendmail = {
      "/usr/sbin/sendmail",      "-C", postfix.config_dir(),  "-f",
      "statements@bank.example", "-i", "customer@example.org"};
  ASSERT_OK_AND_ASSIGN(
      fixtures::CommandResult handed,
      fixtures::RunCommand(sendmail, fixtures::StatementMail("customer@example.org")));
  EXPECT_EQ(handed.exit_code, 0) << handed.err;
  // cleanup is told 4xx: the mail stays in the maildrop queue, and nothing
  // leaves.
  ASSERT_OK_AND_ASSIGN(std::string log,
                       postfix.WaitForLog("milter-reject: END-OF-MESSAGE", absl::Seconds(30)));
  EXPECT_THAT(log, HasSubstr("4.7.0 signet-milter: signetd"));
  EXPECT_TRUE(world_->sink().Messages().empty());

  // Back: pickup (woken now rather than at its next minute) takes it again,
  // and it leaves signed and encrypted.
  ASSERT_THAT(world_->signetd().Restart(SIGTERM), IsOk());
  ASSERT_THAT(fixtures::RunCommandOk(
                  {"/usr/sbin/postkick", "-c", postfix.config_dir(), "public", "pickup", "W"}),
              IsOk());
  ASSERT_OK_AND_ASSIGN(fixtures::SinkMessage delivered,
                       world_->sink().WaitForMessage(absl::Seconds(60)));
  ASSERT_OK_AND_ASSIGN(std::string content, world_->OpenAsCustomer(delivered.data));
  EXPECT_THAT(content, HasSubstr("1,234.56"));
  EXPECT_EQ(world_->sink().Messages().size(), 1u);
}

}  // namespace
}  // namespace signet
