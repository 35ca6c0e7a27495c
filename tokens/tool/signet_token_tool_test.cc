// Runs the signet-token binary as an operator would, against SoftHSM tokens
// made per test with the real command-line tools.
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ossl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/softhsm.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/validity_margin.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using fixtures::CommandResult;
using fixtures::KeySpec;
using fixtures::RunCommand;
using fixtures::SoftHsm;
using fixtures::TempDir;
using fixtures::TokenInfo;
using ::testing::HasSubstr;
using ::testing::Not;

// Distinctive, so that a PIN in any output is found by a substring search
// and cannot occur there by chance (in a serial or a hex id).
constexpr char kUserPin[] = "user-pin-4815162342";
constexpr char kSoPin[] = "so-pin-2718281828";
constexpr char kWrongPin[] = "wrong-pin-3141592653";
constexpr char kLabel[] = "tool-test";

EvpPkeyPtr ParsePem(const std::string& pem) {
  BioPtr bio = ReadBio(pem);
  return EvpPkeyPtr(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

// A certificate for `subject_key`, issued by a throwaway CA, as DER.
std::string CertificateDer(EVP_PKEY* subject_key, const std::string& common_name) {
  EvpPkeyPtr ca_key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  if (!ca_key || !cert) return "";
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -fixtures::kValidityMarginSeconds);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(X509_get_issuer_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Test CA"), -1, -1, 0);
  X509_set_pubkey(cert.get(), subject_key);
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) <= 0) return "";
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert.get(), &der);
  if (length <= 0) return "";
  std::string result(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return result;
}

// The lines of `out` that describe the key labelled `label`: from its
// heading to the blank line before the next key.
std::string KeyBlock(const std::string& out, const std::string& label) {
  const std::string heading = absl::StrCat("\nkey ", label, "\n");
  size_t start = out.find(heading);
  if (start == std::string::npos) return "";
  start += 1;
  size_t end = out.find("\n\n", start);
  return out.substr(start, end == std::string::npos ? std::string::npos : end - start + 1);
}

// The hex id in "  id: <hex>" of keygen's output.
std::string GeneratedId(const std::string& out) {
  const std::string marker = "\n  id: ";
  size_t start = out.find(marker);
  if (start == std::string::npos) return "";
  start += marker.size();
  return out.substr(start, out.find('\n', start) - start);
}

class SignetTokenToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SoftHsm>> hsm = SoftHsm::Create();
    ASSERT_THAT(hsm, IsOk());
    hsm_ = *std::move(hsm);
    absl::StatusOr<TokenInfo> token = hsm_->InitToken(kLabel, kUserPin, kSoPin);
    ASSERT_THAT(token, IsOk());
    token_ = *token;
    absl::StatusOr<TempDir> dir = TempDir::Create("signet-tool-test");
    ASSERT_THAT(dir, IsOk());
    dir_ = std::make_unique<TempDir>(*std::move(dir));
    pin_file_ = WritePinFile("user.pin", kUserPin, 0600);
  }

  std::string WritePinFile(const std::string& name, const std::string& pin, mode_t mode) {
    const std::string path = dir_->File(name);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    const std::string text = pin + "\n";
    EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
    // chmod, not open's mode: the umask must not decide the test.
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }

  // Runs signet-token; whatever it was asked, it must never print a PIN.
  CommandResult Run(const std::vector<std::string>& args,
                    const std::vector<std::string>& extra_env = {}) {
    std::vector<std::string> argv = {SIGNET_TOKEN_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<CommandResult> result = RunCommand(argv, {}, extra_env);
    EXPECT_THAT(result, IsOk());
    if (!result.ok()) return {};
    for (const char* pin : {kUserPin, kSoPin, kWrongPin}) {
      EXPECT_THAT(result->out, Not(HasSubstr(pin)))
          << "stdout of " << fixtures::FormatCommand(argv);
      EXPECT_THAT(result->err, Not(HasSubstr(pin)))
          << "stderr of " << fixtures::FormatCommand(argv);
    }
    return *result;
  }

  std::vector<std::string> TokenArgs(const std::string& command, const std::string& pin_file) {
    return {command, "--module",     SoftHsm::ModulePath(),          "--token",
            kLabel,  "--pin-source", absl::StrCat("file:", pin_file)};
  }

  CommandResult Keygen(const std::string& label, const std::string& algorithm,
                       const std::string& purpose) {
    std::vector<std::string> args = TokenArgs("keygen", pin_file_);
    args.insert(args.end(), {"--label", label, "--algorithm", algorithm, "--purpose", purpose});
    return Run(args);
  }

  std::unique_ptr<SoftHsm> hsm_;
  TokenInfo token_;
  std::unique_ptr<TempDir> dir_;
  std::string pin_file_;
};

TEST_F(SignetTokenToolTest, SlotsListsTheTokenWithLabelAndSerial) {
  CommandResult r = Run({"slots", "--module", SoftHsm::ModulePath()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The module is named by its canonical path (Debian's is a symlink).
  EXPECT_THAT(r.out, ::testing::StartsWith("module /"));
  EXPECT_THAT(r.out, HasSubstr("libsofthsm2.so: SoftHSM"));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("\n  label: ", kLabel, "\n")));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("\n  serial: ", token_.serial, "\n")));
  EXPECT_THAT(r.out, HasSubstr("\n  manufacturer: SoftHSM project\n"));
  EXPECT_THAT(r.out, HasSubstr("\n  model: SoftHSM v2\n"));
  EXPECT_THAT(r.out, HasSubstr("\n  login: required, user PIN ok\n"));
  EXPECT_EQ(r.err, "");
}

TEST_F(SignetTokenToolTest, KeygenThenKeysListsBothKeysAsAcceptedByPolicy) {
  CommandResult sign = Keygen("bank-signing", "p256", "sign");
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  const std::string sign_id = GeneratedId(sign.out);
  EXPECT_EQ(sign_id.size(), 32u) << sign.out;
  EXPECT_THAT(sign.out, HasSubstr("generated key bank-signing on token tool-test\n"));
  EXPECT_THAT(sign.out, HasSubstr("\n  type: EC P-256, 256 bits\n  usage: sign\n"));

  // The PEM is the key the token holds, as pkcs11-tool reads it back.
  const size_t pem_start = sign.out.find("-----BEGIN PUBLIC KEY-----");
  ASSERT_NE(pem_start, std::string::npos) << sign.out;
  EvpPkeyPtr printed = ParsePem(sign.out.substr(pem_start));
  ASSERT_NE(printed, nullptr);
  absl::StatusOr<std::string> exported = hsm_->ExportPublicKeyPem(token_, sign_id);
  ASSERT_THAT(exported, IsOk());
  EvpPkeyPtr independent = ParsePem(*exported);
  ASSERT_NE(independent, nullptr);
  EXPECT_EQ(EVP_PKEY_eq(printed.get(), independent.get()), 1);

  CommandResult decrypt = Keygen("bank-decryption", "rsa2048", "decrypt");
  ASSERT_EQ(decrypt.exit_code, 0) << decrypt.err;
  const std::string decrypt_id = GeneratedId(decrypt.out);
  EXPECT_EQ(decrypt_id.size(), 32u) << decrypt.out;
  EXPECT_THAT(decrypt.out, HasSubstr("\n  type: RSA, 2048 bits\n  usage: decrypt\n"));
  EXPECT_THAT(decrypt.out, HasSubstr("-----BEGIN PUBLIC KEY-----"));

  CommandResult keys = Run(TokenArgs("keys", pin_file_));
  ASSERT_EQ(keys.exit_code, 0) << keys.err;
  EXPECT_THAT(keys.out, HasSubstr(absl::StrCat("token tool-test: serial ", token_.serial)));
  EXPECT_THAT(keys.out, HasSubstr("2 private keys\n"));
  EXPECT_EQ(KeyBlock(keys.out, "bank-signing"),
            absl::StrCat("key bank-signing\n  id: ", sign_id,
                         "\n  type: EC P-256, 256 bits\n  usage: sign\n  certificate: none\n"
                         "  policy: ok\n"));
  EXPECT_EQ(KeyBlock(keys.out, "bank-decryption"),
            absl::StrCat("key bank-decryption\n  id: ", decrypt_id,
                         "\n  type: RSA, 2048 bits\n  usage: decrypt\n  certificate: none\n"
                         "  policy: ok\n"));
}

TEST_F(SignetTokenToolTest, KeygenRefusesALabelInUse) {
  ASSERT_EQ(Keygen("bank-signing", "p256", "sign").exit_code, 0);
  CommandResult again = Keygen("bank-signing", "p384", "sign");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("already has a private key with this label"));
}

TEST_F(SignetTokenToolTest, ExtractableKeyIsListedAsRefusedByPolicy) {
  ASSERT_THAT(hsm_->GenerateKeyPair(token_, KeySpec{.label = "was-extractable",
                                                    .id_hex = "0a",
                                                    .key_type = "EC:prime256v1",
                                                    .extractable = true}),
              IsOk());
  // The contrast: pkcs11-tool without --extractable makes a key born on the
  // token and never extractable, which the policy accepts.
  ASSERT_THAT(
      hsm_->GenerateKeyPair(
          token_, KeySpec{.label = "born-on-token", .id_hex = "0b", .key_type = "rsa:2048"}),
      IsOk());

  CommandResult keys = Run(TokenArgs("keys", pin_file_));
  ASSERT_EQ(keys.exit_code, 0) << keys.err;
  const std::string refused = KeyBlock(keys.out, "was-extractable");
  EXPECT_THAT(refused, HasSubstr("\n  id: 0a\n"));
  EXPECT_THAT(refused, HasSubstr("\n  type: EC P-256, 256 bits\n"));
  EXPECT_THAT(refused, HasSubstr("\n  policy: refused ("));
  EXPECT_THAT(refused, HasSubstr("CKA_EXTRACTABLE is true"));
  EXPECT_THAT(refused, HasSubstr("CKA_NEVER_EXTRACTABLE is false"));
  const std::string accepted = KeyBlock(keys.out, "born-on-token");
  EXPECT_THAT(accepted, HasSubstr("\n  id: 0b\n"));
  // SoftHSM gives pkcs11-tool's keys every usage (see tests/fixtures/softhsm.h).
  EXPECT_THAT(accepted, HasSubstr("\n  usage: sign, decrypt, unwrap\n"));
  EXPECT_THAT(accepted, HasSubstr("\n  policy: ok\n"));
}

TEST_F(SignetTokenToolTest, KeysShowsStoredCertificatesAndListsBadOnesAsRefused) {
  CommandResult sign = Keygen("bank-signing", "p256", "sign");
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  const std::string sign_id = GeneratedId(sign.out);
  EvpPkeyPtr sign_key = ParsePem(sign.out.substr(sign.out.find("-----BEGIN")));
  ASSERT_NE(sign_key, nullptr);
  CommandResult other = Keygen("bank-decryption", "p256", "decrypt");
  ASSERT_EQ(other.exit_code, 0) << other.err;
  const std::string other_id = GeneratedId(other.out);

  // A certificate for the key itself, and one for another key stored under
  // the second key's id (a mistake an operator can make with pkcs11-tool).
  EvpPkeyPtr stranger(EVP_EC_gen("P-256"));
  ASSERT_NE(stranger, nullptr);
  const std::string good_path = dir_->File("good.der");
  const std::string bad_path = dir_->File("bad.der");
  std::ofstream(good_path, std::ios::binary) << CertificateDer(sign_key.get(), "Bank Signing");
  std::ofstream(bad_path, std::ios::binary) << CertificateDer(stranger.get(), "Someone Else");
  ASSERT_THAT(hsm_->ImportCertificate(token_, good_path, sign_id, "bank-signing"), IsOk());
  ASSERT_THAT(hsm_->ImportCertificate(token_, bad_path, other_id, "bank-decryption"), IsOk());

  CommandResult keys = Run(TokenArgs("keys", pin_file_));
  ASSERT_EQ(keys.exit_code, 0) << keys.err;
  const std::string good = KeyBlock(keys.out, "bank-signing");
  EXPECT_THAT(good, HasSubstr("\n  certificate: subject CN=Bank Signing, expires "));
  EXPECT_THAT(good, HasSubstr("\n  policy: ok\n"));
  const std::string bad = KeyBlock(keys.out, "bank-decryption");
  EXPECT_THAT(bad, HasSubstr("\n  details: unavailable ("));
  EXPECT_THAT(bad, HasSubstr("certifies a different public key"));
  EXPECT_THAT(bad, HasSubstr("\n  policy: refused ("));
}

TEST_F(SignetTokenToolTest, WrongPinFailsAndLocksOutUntilTheOperatorClearsIt) {
  const std::string wrong = WritePinFile("wrong.pin", kWrongPin, 0600);
  CommandResult r = Run(TokenArgs("keys", wrong));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("signet-token: "));
  EXPECT_THAT(r.err, HasSubstr("CKR_PIN_INCORRECT"));
  EXPECT_THAT(r.err, HasSubstr("--clear-lockout"));
  EXPECT_EQ(r.out, "");

  // SoftHSM now flags failed attempts; the right PIN is not presented
  // against that warning without the operator's say-so.
  r = Run(TokenArgs("keys", pin_file_));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("CKF_USER_PIN_COUNT_LOW"));

  std::vector<std::string> args = TokenArgs("keys", pin_file_);
  args.push_back("--clear-lockout");
  r = Run(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("0 private keys\n"));

  // The successful login cleared the token's warning.
  r = Run(TokenArgs("keys", pin_file_));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(SignetTokenToolTest, PinFileReadableByOthersIsRefused) {
  const std::string open_file = WritePinFile("open.pin", kUserPin, 0644);
  CommandResult r = Run(TokenArgs("keys", open_file));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("mode 0644"));
  EXPECT_THAT(r.err, HasSubstr(open_file));

  // Refused before any login: the token counts no failed attempt.
  r = Run({"slots", "--module", SoftHsm::ModulePath()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\n  login: required, user PIN ok\n"));
}

TEST_F(SignetTokenToolTest, TokenByUriWithPinSourceFromTheEnvironment) {
  const std::vector<std::string> env = {absl::StrCat("SIGNET_TOOL_TEST_PIN=", kUserPin)};
  CommandResult r = Run({"keys", "--token",
                         absl::StrCat("pkcs11:token=", kLabel, ";serial=", token_.serial,
                                      "?module-path=", SoftHsm::ModulePath(),
                                      "&pin-source=env:SIGNET_TOOL_TEST_PIN")},
                        env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("serial ", token_.serial)));

  r = Run(
      {"keys", "--module", SoftHsm::ModulePath(), "--token",
       absl::StrCat("pkcs11:serial=", token_.serial), "--pin-source", "env:SIGNET_TOOL_TEST_PIN"},
      env);
  EXPECT_EQ(r.exit_code, 0) << r.err;

  // A token that is not there.
  r = Run({"keys", "--module", SoftHsm::ModulePath(), "--token", "no-such-token", "--pin-source",
           "env:SIGNET_TOOL_TEST_PIN"},
          env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("not present"));
}

TEST_F(SignetTokenToolTest, BadUsageExitsTwo) {
  const std::string module = SoftHsm::ModulePath();
  const std::string pin_source = absl::StrCat("file:", pin_file_);
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"frobnicate"},
      {"slots"},
      {"slots", "--module"},
      {"slots", "--module", module, "extra"},
      {"slots", "--module", module, "--module", module},
      {"slots", "--modul", module},
      {"keys", "--module", module, "--pin-source", pin_source},
      {"keys", "--token", kLabel, "--pin-source", pin_source},
      {"keys", "--module", module, "--token", kLabel, "--pin-source", "relative/path"},
      {"keys", "--module", module, "--token", "pkcs11:token=x;object=y"},
      {"keygen", "--module", module, "--token", kLabel, "--pin-source", pin_source},
      {"keygen", "--module", module, "--token", kLabel, "--pin-source", pin_source, "--label", "k",
       "--algorithm", "rsa1024", "--purpose", "sign"},
      {"keygen", "--module", module, "--token", kLabel, "--pin-source", pin_source, "--label", "k",
       "--algorithm", "p256", "--purpose", "both"},
      {"keygen", "--module", module, "--token", kLabel, "--pin-source", pin_source, "--label", "k",
       "--algorithm", "p256", "--purpose", "sign", "--id", "xyz"},
  };
  for (const std::vector<std::string>& args : bad) {
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(args, " ") << "\n" << r.err;
    EXPECT_NE(r.err, "") << absl::StrJoin(args, " ");
    EXPECT_EQ(r.out, "") << absl::StrJoin(args, " ");
  }

  // A PIN typed where a PIN source, an option or a command belongs, or put
  // in a URI, is refused without being repeated (Run checks every output).
  const std::vector<std::vector<std::string>> pin_in_the_wrong_place = {
      {"keys", "--module", module, "--token", kLabel, "--pin-source", kUserPin},
      {"keys", "--module", module, "--token", kLabel, "--pin", kUserPin},
      {"keys", "--module", module, "--token", kLabel, absl::StrCat("--", kUserPin)},
      {"keys", "--module", module, "--token",
       absl::StrCat("pkcs11:token=", kLabel, "?pin-value=", kUserPin)},
      {kUserPin},
  };
  for (const std::vector<std::string>& args : pin_in_the_wrong_place) {
    EXPECT_EQ(Run(args).exit_code, 2);
  }
}

// The first line names the command and the option; a word that may be a
// PIN is named by its position instead.
TEST_F(SignetTokenToolTest, UsageErrorsNameTheProblem) {
  const std::string module = SoftHsm::ModulePath();
  struct Case {
    std::vector<std::string> args;
    std::string first_line;
  };
  for (const Case& c : std::vector<Case>{
           {{"slots"}, "signet-token slots: --module is required\n"},
           {{"slots", "--module"}, "signet-token slots: --module needs a value\n"},
           {{"slots", "--module="}, "signet-token slots: --module needs a value\n"},
           {{"slots", "--module", "--verbose"}, "signet-token slots: --module needs a value\n"},
           {{"slots", "--modul", module}, "signet-token slots: unknown option --modul\n"},
           {{"slots", "--module", module, "--module", module},
            "signet-token slots: --module is given twice\n"},
           {{"slots", "--verbose=yes"}, "signet-token slots: --verbose takes no value\n"},
           {{"slots", "-x"}, "signet-token slots: unknown option -x\n"},
           // After "--", even an option's name is an argument.
           {{"slots", "--", "--module", module},
            "signet-token slots: unexpected argument in position 2 (options start with --)\n"},
           {{"slots", "--module", module, "extra"},
            "signet-token slots: unexpected argument in position 3 (options start with --)\n"},
           {{"keys", "--module", module, "--token", kLabel, absl::StrCat("--", kUserPin)},
            "signet-token keys: unknown option in position 5\n"},
           {{"keygen", "--module", module, "--token", kLabel, "--label", "k", "--algorithm",
             "p256"},
            "signet-token keygen: --purpose is required\n"},
       }) {
    CommandResult r = Run(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.first_line;
    EXPECT_EQ(r.err.substr(0, r.err.find('\n') + 1), c.first_line);
    EXPECT_THAT(r.err, HasSubstr(absl::StrCat("Run 'signet-token ", c.args.front(), " --help'")));
  }
}

TEST_F(SignetTokenToolTest, HelpForEveryCommand) {
  for (const char* command : {"slots", "keys", "keygen"}) {
    CommandResult r = Run({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat("usage: signet-token ", command))) << command;
    EXPECT_EQ(r.err, "");
  }
  CommandResult r = Run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("usage: signet-token COMMAND"));
}

}  // namespace
}  // namespace signet
