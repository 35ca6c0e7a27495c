// The signet command as its users run it: a separate process talking to a
// real signetd (SoftHSM2 token) over its unix socket, with files, pipes and
// the exit codes and one-line errors it documents. Outputs are checked with
// openssl.
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_mail.h"
#include "tests/fixtures/test_pki.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::IsOkAndHolds;

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

const std::string kMail = fixtures::TestMail{}.Text();
const std::string kEntity = fixtures::TestMail{}.Entity();

using fixtures::ReadFile;

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

// The one-line error the CLI promises: "signet: <operation>: <CODE>: ...".
void ExpectOneErrorLine(const fixtures::CommandResult& result, const std::string& operation,
                        const std::string& code) {
  EXPECT_THAT(result.err, StartsWith(absl::StrCat("signet: ", operation, ": ", code, ": ")))
      << result.err;
  EXPECT_THAT(result.err, EndsWith("\n"));
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
}

class SignetCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env =
        fixtures::SignetdEnv::Start({.signetd_path = SIGNETD_PATH, .tcp = true});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
  }

  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(env_, nullptr);
    absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("signet-cli");
    ASSERT_THAT(dir, IsOk());
    dir_.emplace(std::move(*dir));
  }

  // signet with args, the daemon's socket given by --socket.
  static fixtures::CommandResult Signet(std::vector<std::string> args,
                                        const std::string& stdin_data = "") {
    args.insert(args.begin(), {SIGNET_PATH, "--socket", env_->socket()});
    return RunSignet(std::move(args), stdin_data, {});
  }

  static fixtures::CommandResult RunSignet(std::vector<std::string> argv,
                                           const std::string& stdin_data,
                                           const std::vector<std::string>& env) {
    absl::StatusOr<fixtures::CommandResult> result =
        fixtures::RunCommand(argv, stdin_data, env, absl::Seconds(120));
    EXPECT_THAT(result, IsOk());
    return result.ok() ? *result : fixtures::CommandResult{};
  }

  std::string File(const std::string& name) const { return dir_->File(name); }

  // A software RSA recipient with its key in a file, so that openssl can
  // decrypt what signet encrypts to it.
  void MakeCustomer() {
    absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey("RSA:2048");
    ASSERT_THAT(key, IsOk());
    absl::StatusOr<X509Ptr> certificate =
        env_->ca().Issue(key->get(), "Customer", "customer@example.org", {.for_encryption = true});
    ASSERT_THAT(certificate, IsOk());
    ASSERT_THAT(fixtures::WritePem(File("customer.pem"), certificate->get()), IsOk());
    ASSERT_THAT(fixtures::WritePrivateKeyPem(File("customer.key"), key->get()), IsOk());
  }

  static fixtures::SignetdEnv* env_;
  std::optional<fixtures::TempDir> dir_;
};

fixtures::SignetdEnv* SignetCliTest::env_ = nullptr;

TEST_F(SignetCliTest, SignsAMailFileThatOpensslVerifies) {
  WriteFile(File("mail.eml"), kMail);
  fixtures::CommandResult result =
      Signet({"sign", "--key", "bank-signing", File("mail.eml"), File("signed.eml")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, IsEmpty());
  EXPECT_THAT(result.out, IsEmpty());
  const std::string signed_mail = ReadFile(File("signed.eml"));
  EXPECT_THAT(signed_mail, HasSubstr("Subject: Your statement\r\n"));
  std::string content;
  absl::Status verified = fixtures::OpensslSmimeVerify(signed_mail, env_->File("ca.pem"), &content);
  EXPECT_THAT(verified, IsOk());
  EXPECT_EQ(content, kEntity);
}

TEST_F(SignetCliTest, PipesStdinToStdoutWithTheSocketFromTheEnvironment) {
  for (const std::vector<std::string>& files :
       std::vector<std::vector<std::string>>{{}, {"-"}, {"-", "-"}}) {
    std::vector<std::string> argv = {SIGNET_PATH, "sign", "--key", "bank-signing", "--opaque"};
    argv.insert(argv.end(), files.begin(), files.end());
    fixtures::CommandResult result =
        RunSignet(argv, kMail, {absl::StrCat("SIGNET_SOCKET=", env_->socket())});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_THAT(result.out, HasSubstr("application/pkcs7-mime"));
    std::string content;
    absl::Status verified =
        fixtures::OpensslSmimeVerify(result.out, env_->File("ca.pem"), &content);
    EXPECT_THAT(verified, IsOk());
    EXPECT_EQ(content, kEntity);
  }
}

TEST_F(SignetCliTest, DecryptsWhatOpensslEncryptedToTheDecryptionKey) {
  absl::StatusOr<std::string> encrypted =
      fixtures::OpensslSmimeEncrypt(kEntity, env_->File("decryption.pem"), "aes-256-gcm", true);
  ASSERT_THAT(encrypted, IsOk());
  fixtures::CommandResult result = Signet({"decrypt", "--key", "bank-decryption"}, *encrypted);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr(kEntity));
  EXPECT_THAT(result.err, IsEmpty());

  // CBC: decrypted, with a note that nothing authenticated it.
  encrypted = fixtures::OpensslSmimeEncrypt(kEntity, env_->File("decryption.pem"), "aes-256-cbc");
  ASSERT_THAT(encrypted, IsOk());
  WriteFile(File("cbc.eml"), *encrypted);
  result = Signet({"decrypt", "--key", "bank-decryption", File("cbc.eml"), File("plain.eml")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(ReadFile(File("plain.eml")), HasSubstr(kEntity));
  EXPECT_THAT(result.err, HasSubstr("not authenticated"));
}

// pkijs encrypts with RSA-OAEP and SHA-512 by default; the daemon's SoftHSM
// token does OAEP with SHA-1 only. A variant Signet does not decrypt is named
// by its own error, not "could not be decrypted", which reads as tampering or
// a token fault.
TEST_F(SignetCliTest, DecryptsOaepWithSha384AndSha512AndNamesWhatItDoesNot) {
  for (const char* hash : {"sha384", "sha512"}) {
    SCOPED_TRACE(hash);
    absl::StatusOr<std::string> encrypted = fixtures::OpensslSmimeEncrypt(
        kEntity, env_->File("decryption.pem"), "aes-256-gcm", false,
        {"rsa_padding_mode:oaep", absl::StrCat("rsa_oaep_md:", hash)});
    ASSERT_THAT(encrypted, IsOk());
    fixtures::CommandResult result = Signet({"decrypt", "--key", "bank-decryption"}, *encrypted);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_THAT(result.out, HasSubstr(kEntity));
  }
  absl::StatusOr<std::string> encrypted =
      fixtures::OpensslSmimeEncrypt(kEntity, env_->File("decryption.pem"), "aes-256-gcm", false,
                                    {"rsa_padding_mode:oaep", "rsa_oaep_md:sha224"});
  ASSERT_THAT(encrypted, IsOk());
  fixtures::CommandResult result = Signet({"decrypt", "--key", "bank-decryption"}, *encrypted);
  EXPECT_EQ(result.exit_code, 1);
  ExpectOneErrorLine(result, "decrypt", "UNIMPLEMENTED");
  EXPECT_THAT(result.err, HasSubstr("the mail's key transport is RSA-OAEP with SHA-224 and MGF1 "
                                    "with SHA-224, which Signet does not decrypt"));
  EXPECT_THAT(result.err, ::testing::Not(HasSubstr("could not be decrypted")));
  EXPECT_THAT(result.out, IsEmpty());
}

TEST_F(SignetCliTest, VerifyReportsTheSignerAndWritesTheSignedEntity) {
  fixtures::CommandResult signed_mail = Signet({"sign", "--key", "bank-signing"}, kMail);
  ASSERT_EQ(signed_mail.exit_code, 0) << signed_mail.err;
  fixtures::CommandResult result = Signet({"verify"}, signed_mail.out);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, kEntity);
  EXPECT_THAT(result.err, HasSubstr("signer:     CN=Bank signing"));
  EXPECT_THAT(result.err, HasSubstr("statements@bank.example"));
  EXPECT_THAT(result.err, HasSubstr("chain:      trusted"));
  EXPECT_THAT(result.err,
              HasSubstr("  From:       statements@bank.example (an address of the signer)\n"));
  EXPECT_THAT(result.err, Not(HasSubstr("WARNING")));

  // A changed mail: one line, with the reason from the error details.
  result = Signet({"verify"}, absl::StrReplaceAll(signed_mail.out, {{"1,234.56", "9,234.56"}}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.out, IsEmpty());
  ExpectOneErrorLine(result, "verify", "INVALID_ARGUMENT");
  EXPECT_THAT(result.err, HasSubstr("(CONTENT_CHANGED)"));
}

TEST_F(SignetCliTest, VerifyWarnsOfAFromThatIsNotTheSigners) {
  fixtures::CommandResult signed_mail = Signet({"sign", "--key", "bank-signing"}, kMail);
  ASSERT_EQ(signed_mail.exit_code, 0) << signed_mail.err;
  // The outer From: is outside the signature: rewritten, the mail still
  // verifies, and the report says first that it is not the signer's.
  const std::string forged = absl::StrReplaceAll(
      signed_mail.out,
      {{"From: Statements <statements@bank.example>", "From: Statements <support@evil.example>"}});
  fixtures::CommandResult result = Signet({"verify"}, forged);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, kEntity);
  EXPECT_THAT(result.err, StartsWith("WARNING: the From: address support@evil.example is NOT an "
                                     "address of the signer\n"));
  EXPECT_THAT(result.err,
              HasSubstr("  From:       support@evil.example (NOT an address of the signer)\n"));

  // Required, it is a failure: one line, nothing written.
  WriteFile(File("forged.eml"), forged);
  result = Signet({"verify", "--require-sender-match", File("forged.eml"), File("content.eml")});
  EXPECT_EQ(result.exit_code, 1);
  ExpectOneErrorLine(result, "verify", "INVALID_ARGUMENT");
  EXPECT_THAT(result.err, HasSubstr("the certificate names statements@bank.example"));
  EXPECT_THAT(result.err, EndsWith("(SENDER_MISMATCH)\n"));
  EXPECT_FALSE(std::filesystem::exists(File("content.eml")));

  // Two From: fields: which one a reader sees is not known.
  const std::string two_froms =
      absl::StrReplaceAll(signed_mail.out, {{"From: Statements <statements@bank.example>\r\n",
                                             "From: statements@bank.example\r\n"
                                             "From: support@evil.example\r\n"}});
  result = Signet({"verify"}, two_froms);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, StartsWith("WARNING: the sender is not verified: the mail has 2 From: "
                                     "fields"));
  result = Signet({"verify", "--require-sender-match"}, two_froms);
  EXPECT_EQ(result.exit_code, 1);
  ExpectOneErrorLine(result, "verify", "INVALID_ARGUMENT");
  EXPECT_THAT(result.err, HasSubstr("the mail has 2 From: fields"));

  // The signer's own mail passes the required check.
  result = Signet({"verify", "--require-sender-match"}, signed_mail.out);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, kEntity);
}

TEST_F(SignetCliTest, EncryptsToARecipientThatOpensslDecrypts) {
  MakeCustomer();
  for (const char* cipher : {"aes-256-gcm", "aes-128-cbc"}) {
    fixtures::CommandResult result =
        Signet({"encrypt", "--recipient", File("customer.pem"), "--cipher", cipher, "--rsa-pkcs1"},
               kEntity);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    absl::StatusOr<std::string> plain =
        fixtures::OpensslSmimeDecrypt(result.out, File("customer.pem"), File("customer.key"));
    ASSERT_THAT(plain, IsOk()) << cipher << ": " << plain.status();
    EXPECT_EQ(*plain, kEntity) << cipher;
  }
  // Two recipients: the bank's own decryption key opens it too.
  fixtures::CommandResult result = Signet(
      {"encrypt", "--recipient", File("customer.pem"), "--recipient", env_->File("decryption.pem")},
      kEntity);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  fixtures::CommandResult decrypted = Signet({"decrypt", "--key", "bank-decryption"}, result.out);
  ASSERT_EQ(decrypted.exit_code, 0) << decrypted.err;
  EXPECT_THAT(decrypted.out, HasSubstr(kEntity));
}

TEST_F(SignetCliTest, SignEncryptGivesASignedMailInsideTheEnvelope) {
  MakeCustomer();
  fixtures::CommandResult result =
      Signet({"sign-encrypt", "--key", "bank-signing", "--recipient", File("customer.pem")}, kMail);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  absl::StatusOr<std::string> inner =
      fixtures::OpensslSmimeDecrypt(result.out, File("customer.pem"), File("customer.key"));
  ASSERT_THAT(inner, IsOk());
  absl::Status verified = fixtures::OpensslSmimeVerify(*inner, env_->File("ca.pem"));
  EXPECT_THAT(verified, IsOk());
}

TEST_F(SignetCliTest, SignDigestVerifiesAgainstTheContent) {
  fixtures::CommandResult result = Signet({"sign-digest", "--key", "other-signing", "--digest-hex",
                                           Sha256Hex(kEntity), File("signature.der")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  absl::Status verified =
      fixtures::OpensslCmsVerify(ReadFile(File("signature.der")), env_->File("ca.pem"), kEntity);
  EXPECT_THAT(verified, IsOk());
}

TEST_F(SignetCliTest, StreamsAnEightMebibyteMailThroughPipesWithProgress) {
  std::string mail = kMail;
  const std::string line = absl::StrCat(std::string(74, 'x'), "\r\n");
  while (mail.size() < (8u << 20)) mail += line;
  fixtures::CommandResult result = Signet({"sign", "--key", "bank-signing", "--progress"}, mail);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_GT(result.out.size(), mail.size());
  // stderr is no terminal: a line now and then, no escape codes; the last
  // line shows the whole result received.
  EXPECT_THAT(result.err, HasSubstr("sign  sending"));
  EXPECT_THAT(result.err, HasSubstr("sign  receiving [####################] 100%"));
  EXPECT_THAT(result.err, ::testing::Not(HasSubstr("\033")));
  absl::Status verified = fixtures::OpensslSmimeVerify(result.out, env_->File("ca.pem"));
  EXPECT_THAT(verified, IsOk());

  // From a file (its size known) and without --progress: nothing on stderr.
  WriteFile(File("big.eml"), mail);
  result = Signet({"sign", "--key", "bank-signing", File("big.eml"), File("big.signed")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, IsEmpty());
  verified = fixtures::OpensslSmimeVerify(ReadFile(File("big.signed")), env_->File("ca.pem"));
  EXPECT_THAT(verified, IsOk());
}

TEST_F(SignetCliTest, RefusalsAreOneLineWithTheGrpcCode) {
  WriteFile(File("signed.eml"), "an existing file");
  fixtures::CommandResult result =
      Signet({"sign", "--key", "other-signing", "-", File("signed.eml")}, kMail);
  EXPECT_EQ(result.exit_code, 1);
  ExpectOneErrorLine(result, "sign", "PERMISSION_DENIED");
  // A failed command leaves an existing OUT as it was, and no litter.
  EXPECT_EQ(ReadFile(File("signed.eml")), "an existing file");
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir_->path())) {
    files.push_back(entry.path().filename());
  }
  EXPECT_THAT(files, ::testing::ElementsAre("signed.eml"));

  // The daemon's sender binding.
  result = Signet({"sign", "--key", "bank-signing"},
                  absl::StrReplaceAll(kMail, {{"statements@bank.example", "ceo@evil.example"}}));
  EXPECT_EQ(result.exit_code, 1);
  ExpectOneErrorLine(result, "sign", "PERMISSION_DENIED");
  EXPECT_THAT(result.err, HasSubstr("ceo@evil.example"));

  // Not a mail the key can open: the uniform decryption error.
  result = Signet({"decrypt", "--key", "bank-decryption"}, kMail);
  EXPECT_EQ(result.exit_code, 1);
  ExpectOneErrorLine(result, "decrypt", "INVALID_ARGUMENT");
  EXPECT_THAT(result.out, IsEmpty());
}

TEST_F(SignetCliTest, AMissingDaemonIsExitCodeThree) {
  fixtures::CommandResult result = RunSignet(
      {SIGNET_PATH, "sign", "--key", "bank-signing", "--socket", File("none.sock")}, kMail, {});
  EXPECT_EQ(result.exit_code, 3);
  ExpectOneErrorLine(result, "sign", "UNAVAILABLE");
  EXPECT_THAT(result.err, HasSubstr(File("none.sock")));
  EXPECT_THAT(result.out, IsEmpty());

  // The default from the environment, for a key command too.
  result =
      RunSignet({SIGNET_PATH, "tokens"}, "", {absl::StrCat("SIGNET_SOCKET=", File("none.sock"))});
  EXPECT_EQ(result.exit_code, 3);
  ExpectOneErrorLine(result, "tokens", "UNAVAILABLE");
}

TEST_F(SignetCliTest, SignsOverTcpWithMutualTls) {
  // The listener's address by number, its certificate's name by --tls-name.
  // (Resolving "localhost" through c-ares 1.18 also leaks a few bytes that
  // the sanitizer build would report.)
  const std::string port = env_->tcp_address().substr(env_->tcp_address().rfind(':') + 1);
  const auto over_tls = [&port](const std::string& client) {
    return RunSignet(
        {SIGNET_PATH, "--server", absl::StrCat("127.0.0.1:", port), "--tls-name", "localhost",
         "--ca", env_->File("ca.pem"), "--cert", env_->File(client + ".pem"), "--key-file",
         env_->File(client + ".key"), "sign", "--key", "bank-signing"},
        kMail, {});
  };
  fixtures::CommandResult result = over_tls("client-mx-out");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  absl::Status verified = fixtures::OpensslSmimeVerify(result.out, env_->File("ca.pem"));
  EXPECT_THAT(verified, IsOk());

  // A client certificate from another CA: the handshake fails, nothing is
  // sent.
  result = over_tls("stranger");
  EXPECT_EQ(result.exit_code, 3);
  ExpectOneErrorLine(result, "sign", "UNAVAILABLE");
  EXPECT_THAT(result.err, HasSubstr("TLS"));

  // A good certificate of a caller the policy does not know.
  result = over_tls("client-unknown");
  EXPECT_EQ(result.exit_code, 1);
  ExpectOneErrorLine(result, "sign", "PERMISSION_DENIED");
}

TEST_F(SignetCliTest, UsageErrorsSayWhatIsWrongAndShowTheUsage) {
  struct Case {
    std::vector<std::string> args;
    std::string first_line;
  };
  for (const Case& c : std::vector<Case>{
           {{"sign"}, "signet: sign: --key is required"},
           {{"sign", "--key", "k", "--digest", "md5"},
            "signet: sign: --digest must be one of sha256, sha384, sha512"},
           {{"encrypt"}, "signet: encrypt: --recipient CERT.pem or --to ADDRESS is required"},
           {{"decrypt", "--key", "k", "a", "b", "c"}, "signet: decrypt: too many files"},
           {{"verify", "--bogus"}, "signet: verify: unknown option --bogus"},
           {{"sign-digest", "--key", "k", "--digest-hex", "abcd"},
            "signet: sign-digest: --digest-hex has 2 bytes"},
           {{"keygen", "--token", "t", "--label", "l", "--algorithm", "dsa", "--purpose", "sign"},
            "signet: keygen: --algorithm must be one of"},
           {{"tokens", "--socket", "a", "--server", "h:1"},
            "signet: tokens: --socket and --server exclude each other"},
           {{"audit", "verify", "--log", "x"}, "signet: audit verify: --key is required"},
           {{"frobnicate"}, "signet: unknown command 'frobnicate'"},
       }) {
    std::vector<std::string> argv = {SIGNET_PATH};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    fixtures::CommandResult result = RunSignet(argv, "", {});
    EXPECT_EQ(result.exit_code, 2) << c.first_line;
    EXPECT_THAT(result.err, StartsWith(c.first_line));
    EXPECT_THAT(result.err, HasSubstr("usage:")) << c.first_line;
    EXPECT_THAT(result.out, IsEmpty());
  }
  fixtures::CommandResult help = RunSignet({SIGNET_PATH, "help", "sign"}, "", {});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("signet sign --key NAME"));
}

// The Keys service: the default callers read every key and administer
// bank-signing.
using SignetCliKeysTest = SignetCliTest;

TEST_F(SignetCliKeysTest, ListsTokensAndKeys) {
  fixtures::CommandResult result = Signet({"tokens"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, StartsWith("NAME"));
  EXPECT_THAT(result.out, HasSubstr("bank-hsm"));
  EXPECT_THAT(result.out, HasSubstr("ready"));

  result = Signet({"keys", "--token", "bank-hsm"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const char* name : {"bank-signing", "bank-decryption", "audit", "other-signing"}) {
    EXPECT_THAT(result.out, HasSubstr(name));
  }

  result = Signet({"key", "bank-signing"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("purpose:"));
  EXPECT_THAT(result.out, HasSubstr("-----BEGIN PUBLIC KEY-----"));
  EXPECT_THAT(result.out, HasSubstr("-----BEGIN CERTIFICATE-----"));

  result = Signet({"key", "no-such-key"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, StartsWith("signet: key: "));
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
}

TEST_F(SignetCliKeysTest, CreatesACsrThatOpensslVerifies) {
  fixtures::CommandResult result =
      Signet({"csr", "--key", "bank-signing", "--subject", "CN=Bank Statements,O=Example Bank",
              "--email", "statements@bank.example", File("request.pem")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  absl::StatusOr<fixtures::CommandResult> checked = fixtures::RunCommand(
      {"openssl", "req", "-in", File("request.pem"), "-noout", "-verify", "-subject"});
  ASSERT_THAT(checked, IsOk());
  EXPECT_EQ(checked->exit_code, 0) << checked->err;
  EXPECT_THAT(checked->out + checked->err, HasSubstr("Example Bank"));
}

TEST_F(SignetCliKeysTest, ImportsTheKeysOwnCertificateAndRefusesAnother) {
  fixtures::CommandResult result =
      Signet({"import-cert", "--key", "bank-signing", env_->File("signing.pem")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("bank-signing"));

  result = Signet({"import-cert", "--key", "bank-signing", env_->File("decryption.pem")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, StartsWith("signet: import-cert: "));
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
}

TEST_F(SignetCliKeysTest, GeneratesAKeyOnTheToken) {
  fixtures::CommandResult result =
      Signet({"keygen", "--token", "bank-hsm", "--label", "cli-generated", "--algorithm", "ec-p256",
              "--purpose", "sign"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("cli-generated"));
  EXPECT_THAT(result.out, HasSubstr("-----BEGIN PUBLIC KEY-----"));
}

// The audit log, checked offline by `signet audit verify` once the daemon
// has stopped, and an edited log refused.
TEST(SignetCliAuditTest, VerifiesTheDaemonsAuditLogAndDetectsAnEdit) {
  absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env =
      fixtures::SignetdEnv::Start({.signetd_path = SIGNETD_PATH});
  ASSERT_THAT(env, IsOk());
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<fixtures::CommandResult> signed_mail = fixtures::RunCommand(
        {SIGNET_PATH, "--socket", (*env)->socket(), "sign", "--key", "bank-signing"}, kMail);
    ASSERT_THAT(signed_mail, IsOk());
    ASSERT_EQ(signed_mail->exit_code, 0) << signed_mail->err;
  }
  absl::StatusOr<int> stopped = (*env)->Stop();
  ASSERT_THAT(stopped, IsOkAndHolds(0)) << (*env)->DaemonLog();

  const std::vector<std::string> verify = {SIGNET_PATH,
                                           "audit",
                                           "verify",
                                           "--log",
                                           (*env)->AuditLogPath(),
                                           "--key",
                                           (*env)->File("audit.pem")};
  absl::StatusOr<fixtures::CommandResult> result = fixtures::RunCommand(verify);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 0) << result->err;
  EXPECT_THAT(result->out, HasSubstr("audit log verified"));
  EXPECT_THAT(result->out, HasSubstr("records:          3\n"));
  EXPECT_THAT(result->out, HasSubstr("closed:           yes"));
  EXPECT_THAT(result->err, IsEmpty());

  // One record's caller changed.
  const std::string log = ReadFile((*env)->AuditLogPath());
  ASSERT_THAT(log, HasSubstr("local-gateway"));
  WriteFile((*env)->AuditLogPath(),
            absl::StrReplaceAll(log, {{"\"local-gateway\"", "\"local-gatewaz\""}}));
  result = fixtures::RunCommand(verify);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 1);
  ExpectOneErrorLine(*result, "audit verify", "DATA_LOSS");

  // The wrong key.
  WriteFile((*env)->AuditLogPath(), log);
  result = fixtures::RunCommand({SIGNET_PATH, "audit", "verify", "--log", (*env)->AuditLogPath(),
                                 "--key", (*env)->File("other-signing.pem")});
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 1);
  ExpectOneErrorLine(*result, "audit verify", "DATA_LOSS");
}

}  // namespace
}  // namespace signet
