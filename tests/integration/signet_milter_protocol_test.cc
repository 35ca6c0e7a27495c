// signet-milter at the milter protocol level (issue #19): Debian's
// miltertest plays the MTA and sends what Postfix rarely or never does —
// several mails and aborted ones on one connection, bodies in 1-byte
// chunks, folded and odd header fields, forged Authentication-Results in
// several spellings, no queue id, clients that vanish mid-body, empty and
// 8-bit bodies, signetd stopped. The Lua scripts are in miltertest/; each
// asserts every reply and change and fails (non-zero exit) on a surprise.
// One signetd (SoftHSM) and one signet-milter serve the whole suite.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ossl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/directory.grpc.pb.h"
#include "tests/fixtures/cms_verifiers.h"
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
using ::testing::HasSubstr;

constexpr char kCallers[] = R"pb(
  callers {
    name: "milter"
    unix_uid: $UID
    grants { keys: "bank-signing" operations: SIGN_MAIL }
    grants { keys: "bank-decryption" operations: DECRYPT_MAIL }
    grants { operations: [ ENCRYPT_MAIL, VERIFY_MAIL, LOOKUP_CERTIFICATES, PUBLISH_CERTIFICATES ] }
  }
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

struct World {
  fixtures::TempDir dir;
  std::string miltertest;
  std::unique_ptr<fixtures::ChildProcess> milter;
};

class SignetMilterProtocolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string miltertest = FindMiltertest();
    if (miltertest.empty()) return;
    ASSERT_OK_AND_ASSIGN(fixtures::TempDir dir, fixtures::TempDir::Create("milter-protocol"));
    world_ = new World{std::move(dir), miltertest};
    absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env = fixtures::SignetdEnv::Start(
        {.signetd_path = SIGNETD_PATH,
         .callers = kCallers,
         .extra_config = "validation { revocation: REVOCATION_OFF }\n"
                         "directory { store_path: \"$DIR/directory.db\" }"});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();

    // The customer signs with a certificate from the bank's CA, which
    // signetd trusts, and encrypts to the bank's decryption key.
    ASSERT_OK_AND_ASSIGN(EvpPkeyPtr key, fixtures::GenerateKey("RSA:2048"));
    ASSERT_OK_AND_ASSIGN(
        X509Ptr certificate,
        env_->ca().Issue(key.get(), "Customer", "customer@example.org",
                         {.key_usage = "critical,digitalSignature,keyEncipherment"}));
    const std::string certificate_pem = world_->dir.File("customer.pem");
    const std::string key_pem = world_->dir.File("customer.key");
    ASSERT_THAT(fixtures::WritePem(certificate_pem, certificate.get()), IsOk());
    ASSERT_THAT(fixtures::WritePrivateKeyPem(key_pem, key.get()), IsOk());

    const std::string envelope_fields =
        "From: Customer <customer@example.org>\r\n"
        "To: <secure@bank.example>\r\n"
        "Message-ID: <account-1@example.org>\r\n";
    ASSERT_OK_AND_ASSIGN(std::string signed_mail,
                         fixtures::OpensslSmimeSign(kEntity, certificate_pem, key_pem,
                                                    /*detached=*/true));
    ASSERT_OK_AND_ASSIGN(std::string encrypted,
                         fixtures::OpensslSmimeEncrypt(kEntity, env_->File("decryption.pem")));
    // An entity with nothing after its blank line: decrypted, the body
    // must become empty, not stay the ciphertext.
    ASSERT_OK_AND_ASSIGN(
        std::string encrypted_empty,
        fixtures::OpensslSmimeEncrypt("Content-Type: text/plain; charset=us-ascii\r\n\r\n",
                                      env_->File("decryption.pem")));
    std::ofstream(world_->dir.File("encrypted-empty.eml"), std::ios::binary)
        << envelope_fields << "Subject: Encrypted, empty\r\n"
        << encrypted_empty;
    std::ofstream(world_->dir.File("entity.txt"), std::ios::binary) << kEntity;
    std::ofstream(world_->dir.File("signed.eml"), std::ios::binary)
        << envelope_fields << "Subject: Signed\r\n"
        << signed_mail;
    std::ofstream(world_->dir.File("encrypted.eml"), std::ios::binary)
        << envelope_fields << "Subject: Encrypted\r\n"
        << encrypted;

    // customer@example.org in signetd's directory: MUST_ENCRYPT to it is
    // possible, to auditor@regulator.example not.
    {
      auto directory = v1::Directory::NewStub(fixtures::UnixChannel(*env_));
      grpc::ClientContext context;
      v1::PublishRequest request;
      ASSERT_OK_AND_ASSIGN(std::string der, fixtures::ToDer(certificate.get()));
      request.set_certificate(der);
      v1::PublishResponse response;
      grpc::Status published = directory->Publish(&context, request, &response);
      ASSERT_TRUE(published.ok()) << published.error_message();
    }
    StartMilter();
  }

  static void StartMilter() {
    const std::string config = world_->dir.File("milter.textproto");
    std::ofstream(config) << absl::StrCat(
        "listen: \"unix:", world_->dir.File("milter.sock"), "\"\n", "signetd { socket: \"",
        env_->socket(), "\" }\n", "authserv_id: \"mx.bank.example\"\n",
        "local_domains: \"bank.example\"\n", "signetd_timeout_seconds: 5\n",
        "max_message_bytes: 65536\n", R"pb(
          outbound {
            signers { senders: "statements@bank.example" key: "bank-signing" }
            recipient_policies { domains: "*" action: SIGN }
            recipient_policies { domains: "regulator.example" action: MUST_ENCRYPT }
            recipient_policies { domains: "lists.example" action: NONE }
            on_missing_certificate: REJECT
          }
          inbound {
            rules { recipients: "bank.example" decrypt: true decryption_keys: "bank-decryption" }
          }
        )pb");
    ASSERT_OK_AND_ASSIGN(world_->milter,
                         fixtures::ChildProcess::Spawn({SIGNET_MILTER_PATH, "--config", config}, {},
                                                       world_->dir.File("milter.log")));
    // The scripts' mt.connect retries until the socket is there.
  }

  static void TearDownTestSuite() {
    if (world_ != nullptr) world_->milter.reset();
    delete env_;
    env_ = nullptr;
    delete world_;
    world_ = nullptr;
  }

  void SetUp() override {
    if (world_ == nullptr) {
      GTEST_SKIP() << "miltertest is not installed (Debian package miltertest; "
                      "scripts/bootstrap installs it)";
    }
    ASSERT_NE(env_, nullptr);
    ASSERT_NE(world_->milter, nullptr);
  }

  static std::string MilterLog() { return fixtures::ReadFile(world_->dir.File("milter.log")); }

  // Runs miltertest/<script> against the milter; it must exit 0, and the
  // milter must still be running afterwards.
  static void RunScript(const std::string& script) {
    const std::vector<std::string> argv = {
        world_->miltertest,
        "-D",
        absl::StrCat("socket=unix:", world_->dir.File("milter.sock")),
        "-D",
        absl::StrCat("lib=", SIGNET_MILTERTEST_DIR, "/lib.lua"),
        "-D",
        absl::StrCat("dir=", world_->dir.path()),
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
    EXPECT_EQ(world_->milter->TryWait(), std::nullopt) << "signet-milter exited; its log:\n"
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

  static fixtures::SignetdEnv* env_;
  static World* world_;
};

fixtures::SignetdEnv* SignetMilterProtocolTest::env_ = nullptr;
World* SignetMilterProtocolTest::world_ = nullptr;

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
  ASSERT_THAT(env_->Stop(), IsOk());
  RunScript("signetd_down.lua");
  // The scripts see a reply code; these say it is the 451 (deferred), not
  // a refusal.
  for (absl::string_view id : {"DOWN-SIGN", "DOWN-ENCRYPT", "DOWN-DECRYPT"}) {
    EXPECT_THAT(LogLineFor(id), HasSubstr("deferred: signetd")) << id << "\n" << MilterLog();
  }
  EXPECT_THAT(LogLineFor("DOWN-VERIFY"), HasSubstr("smime=temperror")) << MilterLog();
  ASSERT_THAT(env_->Restart(SIGTERM), IsOk());
  // Back: the same mail is signed.
  RunScript("signetd_back.lua");
}

}  // namespace
}  // namespace signet
