// signetd on a smartcard, end to end (issue #6): a private pcscd with the
// vpcd reader driver, the virtual PIV card in its reader, OpenSC's
// opensc-pkcs11.so as signetd's module, and the daemon as a separate process
// talked to over gRPC only. It signs an S/MIME mail with the card's PIV
// authentication key (9A) and with its digital signature key (9C), and
// decrypts mails that openssl encrypted to the card's key management
// certificate (9D); openssl checks the signatures, and the audit log, whose
// checkpoints the card authentication key (9E) signs, is verified when the
// daemon has stopped.
//
// OpenSC's PIV emulation gives the keys CKA_ID 01 (9A), 02 (9C), 03 (9D) and
// 04 (9E). 9C, the digital signature key, is CKA_ALWAYS_AUTHENTICATE: the
// card signs with it only right after a VERIFY of the PIN, so signetd
// presents the PIN before each of its signatures (a context-specific login).
// The keys' certificates are the ones on the card (the config names no
// certificate_chain_file).
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "appliance/audit/audit_key.h"
#include "appliance/audit/verifier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/keys.grpc.pb.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/piv_card_env.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_config_builder.h"
#include "tests/fixtures/signetd_process.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/test_mail.h"
#include "tests/fixtures/test_pki.h"
#include "tests/fixtures/virtual_piv/virtual_piv.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::IsOkAndHolds;

using fixtures::MailCallResult;
using fixtures::StreamMail;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSerial[] = "5349474e45543031";

// The certificates' addresses are piv-<reference>@signet.test.
fixtures::TestMail MailFor9a() {
  return {.from = "PIV Holder <piv-9a@signet.test>",
          .subject = "Signed on a smartcard",
          .body = "Signed with the PIV authentication key.\r\n"};
}
constexpr char kSecretEntity[] =
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "For the card holder only.\r\n";

using fixtures::ReadFile;

// Commands the card was sent, by their first bytes: GENERAL AUTHENTICATE is
// 0087 <algorithm> <key>, so each is one signature or decryption.
constexpr char kSignWith9a[] = "0087079a";     // RSA-2048, PIV authentication
constexpr char kDecryptWith9d[] = "0087079d";  // RSA-2048, key management
constexpr char kSignWith9c[] = "0087119c";     // ECC P-256, digital signature
constexpr char kSignWith9e[] = "0087119e";     // ECC P-256, card authentication
constexpr char kVerifyPin[] = "0020008008";    // VERIFY with the 8-byte PIN

class SignetdPivTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<fixtures::PivCardEnv> env,
                         fixtures::PivCardEnv::Start("signetd-piv"));
    env_ = env.release();
    ASSERT_THAT(fixtures::WritePem(env_->File("ca.pem"), env_->ca().certificate()), IsOk());
    fixtures::VirtualPivOptions options;
    options.serial = kSerial;
    // Every APDU in the card's log: the tests look there for the card's own
    // signatures and decryptions.
    options.verbose = true;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<fixtures::VirtualPivCard> card, env_->MakeCard(options));
    card_ = card.release();
    ASSERT_THAT(env_->Insert(*card_), IsOk());

    ASSERT_THAT(fixtures::WritePinFile(env_->File("card.pin"), card_->pin()), IsOk());
    fixtures::SignetdConfigBuilder config(env_->dir());
    config
        .Token({.name = "piv",
                .module = fixtures::PivCardEnv::kOpenScModule,
                .selector = absl::StrCat("serial: \"", card_->serial(), "\""),
                .pin_file = env_->File("card.pin")})
        .Key({.name = "piv-signing",
              .token = "piv",
              .id_hex = "01",
              .sender_address = "piv-9a@signet.test"})
        .Key({.name = "piv-digital-signature",
              .token = "piv",
              .id_hex = "02",
              .sender_address = "piv-9c@signet.test"})
        .Key({.name = "piv-decryption", .token = "piv", .id_hex = "03", .purpose = "DECRYPT"})
        .Key({.name = "piv-audit", .token = "piv", .id_hex = "04"})
        .LocalCaller("card-holder",
                     {{.keys = {"piv-signing"}, .operations = {"SIGN_MAIL"}},
                      {.keys = {"piv-digital-signature"}, .operations = {"SIGN_MAIL"}},
                      {.keys = {"piv-decryption"}, .operations = {"DECRYPT_MAIL"}},
                      {.keys = {"*"}, .operations = {"READ_KEYS"}}})
        .Audit("piv-audit");
    ASSERT_THAT(config.WriteTo(env_->File("signetd.textproto")), IsOk());

    // Opening the card, logging in and finding the keys goes through pcscd
    // and the card program: allow more than for SoftHSM.
    ASSERT_OK_AND_ASSIGN(
        std::unique_ptr<fixtures::ChildProcess> daemon,
        fixtures::StartSignetd({SIGNETD_PATH, "--config", env_->File("signetd.textproto")},
                               env_->ChildEnv(), env_->File("signetd.log"), absl::Seconds(60)));
    daemon_ = daemon.release();
  }

  static void TearDownTestSuite() {
    if (daemon_ != nullptr) {
      // SIGTERM: the audit log gets its closing checkpoint, signed on the
      // card, and the daemon exits 0.
      EXPECT_THAT(daemon_->Kill(SIGTERM), IsOk());
      absl::StatusOr<int> exit_code = daemon_->Wait();
      EXPECT_THAT(exit_code, IsOkAndHolds(0))
          << (exit_code.ok() ? absl::StrCat("exit ", *exit_code) : exit_code.status().ToString())
          << "\n"
          << DaemonLog();
      delete daemon_;
      daemon_ = nullptr;

      absl::StatusOr<audit::AuditPublicKey> key =
          audit::AuditPublicKey::Parse(ReadFile(card_->CertificatePath(0x9E)));
      EXPECT_THAT(key, IsOk());
      if (key.ok()) {
        absl::StatusOr<audit::AuditReport> report =
            audit::VerifyAuditLog(env_->File("audit.log"), *key);
        EXPECT_THAT(report, IsOk());
        if (report.ok()) {
          EXPECT_EQ(report->records, key_operations_);
          EXPECT_GE(report->checkpoints, 2u);  // when the log opened and closed
          EXPECT_TRUE(report->closed);
          EXPECT_EQ(report->unsigned_records, 0u);
          // The checkpoints were signed on the card.
          EXPECT_EQ(card_->CountCommands(kSignWith9e), static_cast<int>(report->checkpoints));
        }
      }
      // signetd logged in once, and presented the PIN once more right before
      // each 9C signature, always the right PIN: the card's counter is still
      // full.
      EXPECT_EQ(card_->CountCommands(kVerifyPin), 1 + card_->CountCommands(kSignWith9c));
      absl::StatusOr<virtual_piv::RetryCounts> counts = card_->ReadRetryCounts();
      EXPECT_THAT(counts, IsOk());
      if (counts.ok()) {
        EXPECT_EQ(counts->pin, 3);
      }
    }
    delete card_;
    card_ = nullptr;
    delete env_;
    env_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(daemon_, nullptr) << "signetd did not start"; }

  static std::string DaemonLog() { return ReadFile(env_->File("signetd.log")); }

  static std::shared_ptr<grpc::Channel> Channel() {
    return fixtures::UnixChannel(env_->File("signetd.sock"));
  }
  std::unique_ptr<v1::Mail::Stub> Stub() { return v1::Mail::NewStub(Channel()); }

  MailCallResult Decrypt(const std::string& mail) {
    v1::DecryptMailRequest::Header header;
    header.set_key("piv-decryption");
    MailCallResult result =
        StreamMail<v1::DecryptMailRequest>(&v1::Mail::Stub::DecryptMail, *Stub(), header, mail);
    ++key_operations_;
    return result;
  }

  static fixtures::PivCardEnv* env_;
  static fixtures::VirtualPivCard* card_;
  static fixtures::ChildProcess* daemon_;
  // Key operations this process asked for: each must have its audit record.
  static uint64_t key_operations_;
};

fixtures::PivCardEnv* SignetdPivTest::env_ = nullptr;
fixtures::VirtualPivCard* SignetdPivTest::card_ = nullptr;
fixtures::ChildProcess* SignetdPivTest::daemon_ = nullptr;
uint64_t SignetdPivTest::key_operations_ = 0;

TEST_F(SignetdPivTest, SignMailWithTheCardVerifiesWithOpenssl) {
  const int card_signatures = card_->CountCommands(kSignWith9a);
  v1::SignMailRequest::Header header;
  header.set_key("piv-signing");
  MailCallResult result = StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *Stub(),
                                                          header, MailFor9a().Text());
  ++key_operations_;
  ASSERT_THAT(result.status, IsOk()) << result.status.error_message() << "\n" << DaemonLog();
  EXPECT_EQ(card_->CountCommands(kSignWith9a), card_signatures + 1);
  EXPECT_THAT(result.body, HasSubstr("Subject: Signed on a smartcard\r\n"));
  std::string content;
  absl::Status verified = fixtures::OpensslSmimeVerify(result.body, env_->File("ca.pem"), &content);
  EXPECT_THAT(verified, IsOk());
  EXPECT_EQ(content, MailFor9a().Entity());

  // The signer is the card's 9A certificate, carried in the signature.
  absl::StatusOr<fixtures::SmimeParts> parts = fixtures::SplitSmimeWithOpenssl(result.body);
  ASSERT_THAT(parts, IsOk());
  std::ofstream(env_->File("signed.der"), std::ios::binary) << parts->cms_der;
  absl::StatusOr<fixtures::CommandResult> certs = fixtures::RunCommand(
      {"openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", env_->File("signed.der")});
  ASSERT_THAT(certs, IsOk());
  EXPECT_THAT(certs->out, ContainsRegex(absl::StrCat("CN ?= ?Virtual PIV ", kSerial, " 9A")));
}

TEST_F(SignetdPivTest, SignMailWithThePinAlwaysKeyTwiceVerifiesWithOpenssl) {
  // The digital signature key wants the PIN right before every signature:
  // two mails in a row, each with its own VERIFY on the card.
  for (int i = 1; i <= 2; ++i) {
    SCOPED_TRACE(absl::StrCat("mail ", i));
    const fixtures::TestMail mail{
        .from = "PIV Holder <piv-9c@signet.test>",
        .subject = "Signed with the PIN-always key",
        .body = absl::StrCat("Signed with the PIV digital signature key, mail ", i, ".\r\n")};
    const int card_signatures = card_->CountCommands(kSignWith9c);
    const int pin_checks = card_->CountCommands(kVerifyPin);
    v1::SignMailRequest::Header header;
    header.set_key("piv-digital-signature");
    MailCallResult result =
        StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *Stub(), header, mail.Text());
    ++key_operations_;
    ASSERT_THAT(result.status, IsOk()) << result.status.error_message() << "\n" << DaemonLog();
    EXPECT_EQ(card_->CountCommands(kSignWith9c), card_signatures + 1);
    EXPECT_EQ(card_->CountCommands(kVerifyPin), pin_checks + 1);
    std::string content;
    absl::Status verified =
        fixtures::OpensslSmimeVerify(result.body, env_->File("ca.pem"), &content);
    EXPECT_THAT(verified, IsOk());
    EXPECT_EQ(content, mail.Entity());

    // The signer is the card's 9C certificate.
    absl::StatusOr<fixtures::SmimeParts> parts = fixtures::SplitSmimeWithOpenssl(result.body);
    ASSERT_THAT(parts, IsOk());
    std::ofstream(env_->File("signed-9c.der"), std::ios::binary) << parts->cms_der;
    absl::StatusOr<fixtures::CommandResult> certs =
        fixtures::RunCommand({"openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in",
                              env_->File("signed-9c.der")});
    ASSERT_THAT(certs, IsOk());
    EXPECT_THAT(certs->out, ContainsRegex(absl::StrCat("CN ?= ?Virtual PIV ", kSerial, " 9C")));
  }
  // No recovery on the way: the token never failed.
  EXPECT_THAT(DaemonLog(), Not(HasSubstr("is being re-opened")));
}

TEST_F(SignetdPivTest, ListKeysShowsTheKeyThatWantsThePinBeforeEachUse) {
  std::unique_ptr<v1::Keys::Stub> keys = v1::Keys::NewStub(Channel());
  grpc::ClientContext context;
  v1::ListKeysResponse response;
  grpc::Status status = keys->ListKeys(&context, v1::ListKeysRequest(), &response);
  ASSERT_THAT(status, IsOk());
  std::map<std::string, bool> always_authenticate;
  for (const v1::Key& key : response.keys())
    always_authenticate[key.name()] = key.always_authenticate();
  // Only the card's 9C key says CKA_ALWAYS_AUTHENTICATE (OpenSC reads it
  // from the PIV profile).
  EXPECT_THAT(always_authenticate,
              ::testing::UnorderedElementsAre(::testing::Pair("piv-signing", false),
                                              ::testing::Pair("piv-digital-signature", true),
                                              ::testing::Pair("piv-decryption", false),
                                              ::testing::Pair("piv-audit", false)));
}

TEST_F(SignetdPivTest, DecryptMailOpensWhatOpensslEncryptedToTheCard) {
  // What Signet itself sends (AES-256-GCM, RSA-OAEP with SHA-256), and what
  // older mail clients send (AES-256-CBC, PKCS#1 v1.5 key transport).
  struct Case {
    std::string cipher;
    bool oaep;
    bool authenticated;
  };
  for (const Case& c : {Case{"aes-256-gcm", true, true}, Case{"aes-256-cbc", false, false}}) {
    SCOPED_TRACE(absl::StrCat(c.cipher, c.oaep ? " RSA-OAEP" : " RSA PKCS#1 v1.5"));
    absl::StatusOr<std::string> encrypted = fixtures::OpensslSmimeEncrypt(
        kSecretEntity, card_->CertificatePath(0x9D), c.cipher, c.oaep);
    ASSERT_THAT(encrypted, IsOk());
    const int card_decryptions = card_->CountCommands(kDecryptWith9d);
    MailCallResult result = Decrypt(*encrypted);
    ASSERT_THAT(result.status, IsOk()) << result.status.error_message() << "\n" << DaemonLog();
    EXPECT_EQ(card_->CountCommands(kDecryptWith9d), card_decryptions + 1);
    EXPECT_EQ(result.header.authenticated(), c.authenticated);
    EXPECT_THAT(result.body, HasSubstr(kSecretEntity));
  }
}

}  // namespace
}  // namespace signet
