// signet-milter at the milter protocol level (issue #19): Debian's
// miltertest plays the MTA and sends what Postfix rarely or never does —
// several mails and aborted ones on one connection, bodies in 1-byte
// chunks, folded and odd header fields, forged Authentication-Results in
// several spellings, no queue id, clients that vanish mid-body, empty and
// 8-bit bodies, signetd stopped. The Lua scripts are in miltertest/; each
// asserts every reply and change and fails (non-zero exit) on a surprise.
// One signetd (SoftHSM) and one signet-milter serve the whole suite.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

// SIGN everywhere, so that a mail that is not refused shows a change; a
// small size limit, so that the limit can be hit to the byte.
constexpr char kPolicy[] = R"pb(
  outbound {
    signers { senders: "statements@bank.example" key: "bank-signing" }
    recipient_policies { domains: "*" action: SIGN }
    recipient_policies { domains: "regulator.example" action: MUST_ENCRYPT }
    recipient_policies { domains: "lists.example" action: NONE }
    on_missing_certificate: REJECT
  }
  inbound { rules { recipients: "bank.example" decrypt: true decryption_keys: "bank-decryption" } }
)pb";

// The customer's message inside the S/MIME layers: 8-bit UTF-8 text, so
// that a chunk boundary can fall inside a character.
constexpr char kEntity[] =
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Gr\xc3\xbc\xc3\x9f"
    "e aus K\xc3\xb6ln. Please close my account.\r\n"
    "Kontostand: 1.234,56 \xe2\x82\xac\r\n";

// Where miltertest is, or empty.
std::string FindMiltertest() {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path == nullptr ? "" : path, ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/miltertest");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

class SignetMilterProtocolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    miltertest_ = new std::string(FindMiltertest());
    if (miltertest_->empty()) return;
    absl::StatusOr<std::unique_ptr<fixtures::MilterWorld>> world =
        fixtures::MilterWorld::Start({.signetd_timeout_seconds = 3,
                                      .max_message_bytes = 65536,
                                      .policy = kPolicy,
                                      .postfix = false});
    ASSERT_THAT(world, IsOk());
    world_ = world->release();

    // The customer (whose certificate signetd's directory has: MUST_ENCRYPT
    // to it is possible, to auditor@regulator.example not) signs with a
    // certificate from the bank's CA, which signetd trusts, and encrypts to
    // the bank's decryption key.
    fixtures::SignetdEnv& signetd = world_->signetd();
    const std::string envelope_fields =
        "From: Customer <customer@example.org>\r\n"
        "To: <secure@bank.example>\r\n"
        "Message-ID: <account-1@example.org>\r\n";
    ASSERT_OK_AND_ASSIGN(
        std::string signed_mail,
        fixtures::OpensslSmimeSign(kEntity, world_->customer_pem(), world_->customer_key_pem(),
                                   /*detached=*/true));
    ASSERT_OK_AND_ASSIGN(std::string encrypted,
                         fixtures::OpensslSmimeEncrypt(kEntity, signetd.File("decryption.pem")));
    // An entity with nothing after its blank line: decrypted, the body
    // must become empty, not stay the ciphertext.
    ASSERT_OK_AND_ASSIGN(
        std::string encrypted_empty,
        fixtures::OpensslSmimeEncrypt("Content-Type: text/plain; charset=us-ascii\r\n\r\n",
                                      signetd.File("decryption.pem")));
    std::ofstream(world_->File("encrypted-empty.eml"), std::ios::binary)
        << envelope_fields << "Subject: Encrypted, empty\r\n"
        << encrypted_empty;
    std::ofstream(world_->File("entity.txt"), std::ios::binary) << kEntity;
    std::ofstream(world_->File("signed.eml"), std::ios::binary)
        << envelope_fields << "Subject: Signed\r\n"
        << signed_mail;
    std::ofstream(world_->File("encrypted.eml"), std::ios::binary)
        << envelope_fields << "Subject: Encrypted\r\n"
        << encrypted;
  }

  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
    delete miltertest_;
    miltertest_ = nullptr;
  }

  void SetUp() override {
    if (miltertest_->empty()) {
      GTEST_SKIP() << "miltertest is not installed (Debian package miltertest; "
                      "scripts/bootstrap installs it)";
    }
    ASSERT_NE(world_, nullptr);
  }

  static std::string MilterLog() { return world_->MilterLog(); }

  // Runs miltertest/<script> against the milter; it must exit 0, and the
  // milter must still be running afterwards.
  static void RunScript(const std::string& script) {
    const std::vector<std::string> argv = {
        *miltertest_,
        "-D",
        absl::StrCat("socket=", world_->MilterSocket()),
        "-D",
        absl::StrCat("lib=", SIGNET_MILTERTEST_DIR, "/lib.lua"),
        "-D",
        absl::StrCat("dir=", world_->dir()),
        "-D",
        absl::StrCat("script=", SIGNET_MILTERTEST_DIR, "/", script),
        "-s",
        absl::StrCat(SIGNET_MILTERTEST_DIR, "/run.lua")};
    absl::StatusOr<fixtures::CommandResult> run =
        fixtures::RunCommand(argv, {}, {}, absl::Seconds(240));
    ASSERT_THAT(run, IsOk()) << fixtures::FormatCommand(argv);
    EXPECT_EQ(run->exit_code, 0) << fixtures::FormatCommand(argv) << "\nstdout:\n"
                                 << run->out << "\nstderr:\n"
                                 << run->err << "\nsignet-milter's log:\n"
                                 << MilterLog();
    EXPECT_EQ(world_->milter().TryWait(), std::nullopt) << "signet-milter exited; its log:\n"
                                                        << MilterLog();
  }

  // signet-milter's log line for the mail with this queue id.
  static std::string LogLineFor(absl::string_view queue_id) {
    const std::string needle = absl::StrCat("queue id ", queue_id, ":");
    for (absl::string_view line : absl::StrSplit(MilterLog(), '\n')) {
      if (absl::StrContains(line, needle)) return std::string(line);
    }
    return "";
  }

  static std::string* miltertest_;
  static fixtures::MilterWorld* world_;
};

std::string* SignetMilterProtocolTest::miltertest_ = nullptr;
fixtures::MilterWorld* SignetMilterProtocolTest::world_ = nullptr;

TEST_F(SignetMilterProtocolTest, SeveralMailsOnOneConnectionEachGetTheirOwnResult) {
  RunScript("transactions.lua");
}

TEST_F(SignetMilterProtocolTest, AnAbortedMailLeavesNothingToTheNextOne) { RunScript("abort.lua"); }

TEST_F(SignetMilterProtocolTest, BodiesInTinyChunksAreReassembledExactly) {
  RunScript("chunks.lua");
}

TEST_F(SignetMilterProtocolTest, FoldedAndOddFieldsStayAndForgedResultsGo) {
  RunScript("headers.lua");
}

TEST_F(SignetMilterProtocolTest, MailsWithoutAQueueIdAreHandledAndLoggedWithADash) {
  RunScript("queue_id.lua");
  EXPECT_THAT(LogLineFor("MTQ-WITH"), HasSubstr("refused"));
  // The same refusal without the "i" macro: logged under "-".
  EXPECT_THAT(MilterLog(), HasSubstr("queue id -: 1 recipient(s), outbound MUST_ENCRYPT"));
}

TEST_F(SignetMilterProtocolTest, ClientsVanishingMidMailLeaveTheMilterServing) {
  RunScript("disconnect.lua");
}

TEST_F(SignetMilterProtocolTest, EmptyAnd8BitBodies) { RunScript("bodies.lua"); }

TEST_F(SignetMilterProtocolTest, OversizedMailIsRefusedAndTheNextOnePasses) {
  RunScript("oversized.lua");
}

// Last: it stops signetd (and starts it again).
TEST_F(SignetMilterProtocolTest, WithSignetdStoppedNothingPassesUnsignedOrEncrypted) {
  ASSERT_THAT(world_->signetd().Stop(), IsOk());
  RunScript("signetd_down.lua");
  // The scripts see a reply code; these say it is the 451 (deferred), not
  // a refusal.
  for (absl::string_view id : {"DOWN-SIGN", "DOWN-ENCRYPT", "DOWN-DECRYPT"}) {
    EXPECT_THAT(LogLineFor(id), HasSubstr("deferred: signetd")) << id << "\n" << MilterLog();
  }
  EXPECT_THAT(LogLineFor("DOWN-VERIFY"), HasSubstr("smime=temperror")) << MilterLog();
  ASSERT_THAT(world_->signetd().Restart(SIGTERM), IsOk());
  // Back: the same mail is signed.
  RunScript("signetd_back.lua");
}

}  // namespace
}  // namespace signet
