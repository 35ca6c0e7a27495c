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
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "appliance/audit/audit_key.h"
#include "appliance/audit/verifier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/keys.grpc.pb.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/pcscd.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
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

constexpr char kOpenScModule[] = "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so";
constexpr char kSerial[] = "5349474e45543031";

// The certificates' addresses are piv-<reference>@signet.test.
constexpr char kMail[] =
    "From: PIV Holder <piv-9a@signet.test>\r\n"
    "To: customer@example.org\r\n"
    "Subject: Signed on a smartcard\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Signed with the PIV authentication key.\r\n";
constexpr char kEntity[] =
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Signed with the PIV authentication key.\r\n";
constexpr char kSecretEntity[] =
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "For the card holder only.\r\n";

constexpr char kConfig[] = R"pb(
  listeners { unix { path: "$DIR/signetd.sock" } }
  tokens {
    name: "piv"
    module: "$MODULE"
    serial: "$SERIAL"
    pin { file: "$DIR/card.pin" }
    max_in_flight: 1
  }
  keys {
    name: "piv-signing"
    token: "piv"
    id_hex: "01"
    purpose: SIGN
    sender_addresses: "piv-9a@signet.test"
  }
  keys {
    name: "piv-digital-signature"
    token: "piv"
    id_hex: "02"
    purpose: SIGN
    sender_addresses: "piv-9c@signet.test"
  }
  keys { name: "piv-decryption" token: "piv" id_hex: "03" purpose: DECRYPT }
  keys { name: "piv-audit" token: "piv" id_hex: "04" purpose: SIGN }
  callers {
    name: "card-holder"
    unix_uid: $UID
    grants { keys: "piv-signing" operations: SIGN_MAIL }
    grants { keys: "piv-digital-signature" operations: SIGN_MAIL }
    grants { keys: "piv-decryption" operations: DECRYPT_MAIL }
    grants { keys: "*" operations: READ_KEYS }
  }
  audit { path: "$DIR/audit.log" checkpoint_key: "piv-audit" }
  trust_anchors_file: "$DIR/ca.pem"
)pb";

using fixtures::ReadFile;

// How many commands in the card's APDU log start with `header` (hex, lower
// case). GENERAL AUTHENTICATE is 0087 <algorithm> <key>: a chained command
// ends with one whose class byte is 00 (earlier links have 10), so a
// signature or decryption is one "0087..." line.
int CountApdus(const std::string& card_log, const std::string& header) {
  int count = 0;
  std::istringstream lines(card_log);
  for (std::string line; std::getline(lines, line);) {
    if (absl::StartsWith(line, absl::StrCat("apdu> ", header))) ++count;
  }
  return count;
}

constexpr char kSignWith9a[] = "0087079a";     // RSA-2048, PIV authentication
constexpr char kDecryptWith9d[] = "0087079d";  // RSA-2048, key management
constexpr char kSignWith9c[] = "0087119c";     // ECC P-256, digital signature
constexpr char kSignWith9e[] = "0087119e";     // ECC P-256, card authentication
constexpr char kVerifyPin[] = "0020008008";    // VERIFY with the 8-byte PIN

class SignetdPivTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("signetd-piv");
    ASSERT_THAT(dir, IsOk());
    dir_ = new fixtures::TempDir(*std::move(dir));
    // What OpenSC shows comes from the card in the reader, not from a cache
    // of an earlier run's card.
    std::ofstream(dir_->File("opensc.conf"))
        << "app default {\n  framework pkcs15 {\n    use_file_caching = no;\n  }\n}\n";
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create("PIV Test CA");
    ASSERT_THAT(ca, IsOk());
    ca_ = new fixtures::TestCa(*std::move(ca));
    ASSERT_THAT(fixtures::WritePem(dir_->File("ca.pem"), ca_->certificate()), IsOk());

    absl::StatusOr<std::unique_ptr<fixtures::Pcscd>> pcscd =
        fixtures::Pcscd::Start(dir_->File("pcscd"));
    ASSERT_THAT(pcscd, IsOk());
    pcscd_ = pcscd->release();
    fixtures::VirtualPivOptions options;
    options.serial = kSerial;
    // Every APDU in the card's log: the tests look there for the card's own
    // signatures and decryptions.
    options.verbose = true;
    absl::StatusOr<std::unique_ptr<fixtures::VirtualPivCard>> card =
        fixtures::VirtualPivCard::Create(dir_->File("card"), *ca_, options);
    ASSERT_THAT(card, IsOk());
    card_ = card->release();
    ASSERT_THAT(card_->Insert(pcscd_->vpcd_port()), IsOk());
    ASSERT_THAT(pcscd_->WaitForCard(true), IsOk());

    const std::string pin_path = dir_->File("card.pin");
    std::ofstream(pin_path) << card_->pin() << "\n";
    ASSERT_EQ(chmod(pin_path.c_str(), 0600), 0);
    const std::string config = absl::StrReplaceAll(kConfig, {{"$DIR", dir_->path()},
                                                             {"$MODULE", kOpenScModule},
                                                             {"$SERIAL", card_->serial()},
                                                             {"$UID", std::to_string(getuid())}});
    std::ofstream(dir_->File("signetd.textproto")) << config;

    // PCSCLITE_CSOCK_NAME is in this process's environment (the Pcscd
    // fixture put it there); passed on explicitly all the same.
    absl::StatusOr<std::unique_ptr<fixtures::ChildProcess>> daemon =
        fixtures::ChildProcess::Spawn({SIGNETD_PATH, "--config", dir_->File("signetd.textproto")},
                                      Env(), dir_->File("signetd.log"));
    ASSERT_THAT(daemon, IsOk());
    daemon_ = daemon->release();
    // Opening the card, logging in and finding the keys goes through pcscd
    // and the card program: allow more than for SoftHSM.
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (!absl::StrContains(DaemonLog(), "signetd: serving")) {
      std::optional<int> code = daemon_->TryWait();
      ASSERT_FALSE(code.has_value()) << "signetd exited with " << *code << ":\n" << DaemonLog();
      ASSERT_LT(absl::Now(), deadline) << "signetd did not serve within 60 s:\n" << DaemonLog();
      absl::SleepFor(absl::Milliseconds(20));
    }
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
            audit::VerifyAuditLog(dir_->File("audit.log"), *key);
        EXPECT_THAT(report, IsOk());
        if (report.ok()) {
          EXPECT_EQ(report->records, key_operations_);
          EXPECT_GE(report->checkpoints, 2u);  // when the log opened and closed
          EXPECT_TRUE(report->closed);
          EXPECT_EQ(report->unsigned_records, 0u);
          // The checkpoints were signed on the card.
          EXPECT_EQ(CountApdus(CardLog(), kSignWith9e), static_cast<int>(report->checkpoints));
        }
      }
      // signetd logged in once, and presented the PIN once more right before
      // each 9C signature, always the right PIN: the card's counter is still
      // full.
      EXPECT_EQ(CountApdus(CardLog(), kVerifyPin), 1 + CountApdus(CardLog(), kSignWith9c));
      absl::StatusOr<virtual_piv::RetryCounts> counts = card_->ReadRetryCounts();
      EXPECT_THAT(counts, IsOk());
      if (counts.ok()) {
        EXPECT_EQ(counts->pin, 3);
      }
    }
    delete card_;
    card_ = nullptr;
    delete pcscd_;
    pcscd_ = nullptr;
    delete ca_;
    ca_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(daemon_, nullptr) << "signetd did not start"; }

  static std::vector<std::string> Env() {
    return {absl::StrCat("OPENSC_CONF=", dir_->File("opensc.conf")), pcscd_->EnvVar()};
  }

  static std::string DaemonLog() { return ReadFile(dir_->File("signetd.log")); }
  static std::string CardLog() { return ReadFile(card_->log_path()); }

  static std::shared_ptr<grpc::Channel> Channel() {
    return grpc::CreateChannel(absl::StrCat("unix:", dir_->File("signetd.sock")),
                               grpc::InsecureChannelCredentials());
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

  static fixtures::TempDir* dir_;
  static fixtures::TestCa* ca_;
  static fixtures::Pcscd* pcscd_;
  static fixtures::VirtualPivCard* card_;
  static fixtures::ChildProcess* daemon_;
  // Key operations this process asked for: each must have its audit record.
  static uint64_t key_operations_;
};

fixtures::TempDir* SignetdPivTest::dir_ = nullptr;
fixtures::TestCa* SignetdPivTest::ca_ = nullptr;
fixtures::Pcscd* SignetdPivTest::pcscd_ = nullptr;
fixtures::VirtualPivCard* SignetdPivTest::card_ = nullptr;
fixtures::ChildProcess* SignetdPivTest::daemon_ = nullptr;
uint64_t SignetdPivTest::key_operations_ = 0;

TEST_F(SignetdPivTest, SignMailWithTheCardVerifiesWithOpenssl) {
  const int card_signatures = CountApdus(CardLog(), kSignWith9a);
  v1::SignMailRequest::Header header;
  header.set_key("piv-signing");
  MailCallResult result =
      StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *Stub(), header, kMail);
  ++key_operations_;
  ASSERT_THAT(result.status, IsOk()) << result.status.error_message() << "\n" << DaemonLog();
  EXPECT_EQ(CountApdus(CardLog(), kSignWith9a), card_signatures + 1);
  EXPECT_THAT(result.body, HasSubstr("Subject: Signed on a smartcard\r\n"));
  std::string content;
  absl::Status verified = fixtures::OpensslSmimeVerify(result.body, dir_->File("ca.pem"), &content);
  EXPECT_THAT(verified, IsOk());
  EXPECT_EQ(content, kEntity);

  // The signer is the card's 9A certificate, carried in the signature.
  absl::StatusOr<fixtures::SmimeParts> parts = fixtures::SplitSmimeWithOpenssl(result.body);
  ASSERT_THAT(parts, IsOk());
  std::ofstream(dir_->File("signed.der"), std::ios::binary) << parts->cms_der;
  absl::StatusOr<fixtures::CommandResult> certs = fixtures::RunCommand(
      {"openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", dir_->File("signed.der")});
  ASSERT_THAT(certs, IsOk());
  EXPECT_THAT(certs->out, ContainsRegex(absl::StrCat("CN ?= ?Virtual PIV ", kSerial, " 9A")));
}

TEST_F(SignetdPivTest, SignMailWithThePinAlwaysKeyTwiceVerifiesWithOpenssl) {
  // The digital signature key wants the PIN right before every signature:
  // two mails in a row, each with its own VERIFY on the card.
  for (int i = 1; i <= 2; ++i) {
    SCOPED_TRACE(absl::StrCat("mail ", i));
    const std::string body =
        absl::StrCat("Signed with the PIV digital signature key, mail ", i, ".\r\n");
    const std::string mail = absl::StrCat(
        "From: PIV Holder <piv-9c@signet.test>\r\n"
        "To: customer@example.org\r\n"
        "Subject: Signed with the PIN-always key\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n",
        body);
    const int card_signatures = CountApdus(CardLog(), kSignWith9c);
    const int pin_checks = CountApdus(CardLog(), kVerifyPin);
    v1::SignMailRequest::Header header;
    header.set_key("piv-digital-signature");
    MailCallResult result =
        StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *Stub(), header, mail);
    ++key_operations_;
    ASSERT_THAT(result.status, IsOk()) << result.status.error_message() << "\n" << DaemonLog();
    EXPECT_EQ(CountApdus(CardLog(), kSignWith9c), card_signatures + 1);
    EXPECT_EQ(CountApdus(CardLog(), kVerifyPin), pin_checks + 1);
    std::string content;
    absl::Status verified =
        fixtures::OpensslSmimeVerify(result.body, dir_->File("ca.pem"), &content);
    EXPECT_THAT(verified, IsOk());
    EXPECT_EQ(content, absl::StrCat("Content-Type: text/plain; charset=us-ascii\r\n\r\n", body));

    // The signer is the card's 9C certificate.
    absl::StatusOr<fixtures::SmimeParts> parts = fixtures::SplitSmimeWithOpenssl(result.body);
    ASSERT_THAT(parts, IsOk());
    std::ofstream(dir_->File("signed-9c.der"), std::ios::binary) << parts->cms_der;
    absl::StatusOr<fixtures::CommandResult> certs =
        fixtures::RunCommand({"openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in",
                              dir_->File("signed-9c.der")});
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
    const int card_decryptions = CountApdus(CardLog(), kDecryptWith9d);
    MailCallResult result = Decrypt(*encrypted);
    ASSERT_THAT(result.status, IsOk()) << result.status.error_message() << "\n" << DaemonLog();
    EXPECT_EQ(CountApdus(CardLog(), kDecryptWith9d), card_decryptions + 1);
    EXPECT_EQ(result.header.authenticated(), c.authenticated);
    EXPECT_THAT(result.body, HasSubstr(kSecretEntity));
  }
}

}  // namespace
}  // namespace signet
