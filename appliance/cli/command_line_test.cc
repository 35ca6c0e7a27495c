#include "appliance/cli/command_line.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signet::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Invocation Parse(std::vector<std::string> args, std::optional<std::string> env_socket = {}) {
  std::variant<Invocation, UsageError> parsed = ParseCommandLine(args, env_socket);
  if (const UsageError* error = std::get_if<UsageError>(&parsed)) {
    ADD_FAILURE() << "usage error: " << error->message;
    return Invocation{};
  }
  return std::get<Invocation>(parsed);
}

UsageError Fail(std::vector<std::string> args) {
  std::variant<Invocation, UsageError> parsed = ParseCommandLine(args, std::nullopt);
  if (!std::holds_alternative<UsageError>(parsed)) {
    ADD_FAILURE() << "parsed without error";
    return UsageError{};
  }
  return std::get<UsageError>(parsed);
}

TEST(CommandLineTest, SignWithItsOptionsAndFiles) {
  Invocation invocation = Parse({"sign", "--key", "bank-signing", "--digest=sha384", "--pss",
                                 "--opaque", "in.eml", "out.eml"});
  EXPECT_EQ(invocation.command, Command::kSign);
  EXPECT_EQ(invocation.name, "sign");
  EXPECT_EQ(invocation.key, "bank-signing");
  EXPECT_EQ(invocation.sign.digest(), v1::SHA384);
  EXPECT_TRUE(invocation.sign.rsa_pss());
  EXPECT_EQ(invocation.sign.form(), v1::OPAQUE);
  EXPECT_EQ(invocation.input, "in.eml");
  EXPECT_EQ(invocation.output, "out.eml");
}

TEST(CommandLineTest, FilesDefaultToStdinAndStdout) {
  Invocation invocation = Parse({"sign", "--key", "k"});
  EXPECT_EQ(invocation.input, "-");
  EXPECT_EQ(invocation.output, "-");
  EXPECT_EQ(invocation.sign.digest(), v1::SHA256);
  EXPECT_EQ(invocation.sign.form(), v1::MULTIPART_SIGNED);
  invocation = Parse({"decrypt", "--key", "k", "-"});
  EXPECT_EQ(invocation.input, "-");
  // "--" ends the options: a file may start with a dash.
  invocation = Parse({"verify", "--", "--odd-name.eml"});
  EXPECT_EQ(invocation.input, "--odd-name.eml");
}

TEST(CommandLineTest, VerifyTakesItsTwoFlags) {
  Invocation invocation = Parse({"verify", "in.eml"});
  EXPECT_FALSE(invocation.allow_untrusted);
  EXPECT_FALSE(invocation.require_sender_match);
  invocation = Parse({"verify", "--require-sender-match", "--allow-untrusted", "in.eml"});
  EXPECT_TRUE(invocation.allow_untrusted);
  EXPECT_TRUE(invocation.require_sender_match);
  EXPECT_EQ(invocation.input, "in.eml");
}

TEST(CommandLineTest, EncryptTakesEveryRecipient) {
  Invocation invocation = Parse({"encrypt", "--recipient", "a.pem", "--recipient=b.pem", "--cipher",
                                 "AES-128-CBC", "--rsa-pkcs1"});
  EXPECT_THAT(invocation.recipient_files, ElementsAre("a.pem", "b.pem"));
  EXPECT_EQ(invocation.cipher, v1::AES_128_CBC);
  EXPECT_EQ(invocation.rsa_key_transport, v1::RSA_PKCS1);
  EXPECT_FALSE(invocation.skip_recipient_validation);
  // Unset: signetd's choice (AES-256-GCM and OAEP, or what recipients found
  // by address advertised).
  invocation = Parse({"encrypt", "--recipient", "a.pem"});
  EXPECT_EQ(invocation.cipher, v1::CONTENT_CIPHER_UNSPECIFIED);
  EXPECT_EQ(invocation.rsa_key_transport, v1::RSA_KEY_TRANSPORT_UNSPECIFIED);
  invocation =
      Parse({"encrypt", "--to", "alice@example.org", "--to=bob@example.org", "--skip-unresolved"});
  EXPECT_THAT(invocation.recipient_addresses, ElementsAre("alice@example.org", "bob@example.org"));
  EXPECT_TRUE(invocation.recipient_files.empty());
  EXPECT_TRUE(invocation.skip_unresolved);
  invocation = Parse({"encrypt", "--recipient", "a.pem", "--skip-recipient-validation"});
  EXPECT_TRUE(invocation.skip_recipient_validation);
  invocation =
      Parse({"sign-encrypt", "--key", "k", "--recipient", "a.pem", "--skip-recipient-validation"});
  EXPECT_TRUE(invocation.skip_recipient_validation);
}

TEST(CommandLineTest, SignEncryptTakesBothOptionSets) {
  Invocation invocation = Parse({"sign-encrypt", "--key", "k", "--digest", "sha512", "--recipient",
                                 "a.pem", "--cipher", "aes-256-cbc"});
  EXPECT_EQ(invocation.key, "k");
  EXPECT_EQ(invocation.sign.digest(), v1::SHA512);
  EXPECT_THAT(invocation.recipient_files, ElementsAre("a.pem"));
  EXPECT_EQ(invocation.cipher, v1::AES_256_CBC);
}

TEST(CommandLineTest, SignDigestChecksTheDigestLength) {
  Invocation invocation =
      Parse({"sign-digest", "--key", "k", "--digest-hex", std::string(64, 'A'), "sig.der"});
  EXPECT_EQ(invocation.digest, std::string(32, '\xaa'));
  EXPECT_EQ(invocation.output, "sig.der");
  EXPECT_THAT(Fail({"sign-digest", "--key", "k", "--digest", "sha384", "--digest-hex",
                    std::string(64, 'a')})
                  .message,
              HasSubstr("has 32 bytes, but a SHA384 digest has 48"));
  EXPECT_THAT(Fail({"sign-digest", "--key", "k", "--digest-hex", "xyz"}).message,
              HasSubstr("hex digits"));
}

TEST(CommandLineTest, TimestampIsAskedForBySignSignEncryptAndSignDigest) {
  EXPECT_FALSE(Parse({"sign", "--key", "k"}).sign.timestamp());
  EXPECT_TRUE(Parse({"sign", "--key", "k", "--timestamp"}).sign.timestamp());
  EXPECT_TRUE(Parse({"sign-encrypt", "--key", "k", "--recipient", "a.pem", "--timestamp"})
                  .sign.timestamp());
  EXPECT_TRUE(
      Parse({"sign-digest", "--key", "k", "--digest-hex", std::string(64, 'a'), "--timestamp"})
          .sign.timestamp());
  EXPECT_EQ(Fail({"sign", "--key", "k", "--timestamp=yes"}).message, "--timestamp takes no value");
  EXPECT_EQ(Fail({"encrypt", "--recipient", "a.pem", "--timestamp"}).message,
            "unknown option --timestamp");
}

TEST(CommandLineTest, TimestampAFile) {
  Invocation invocation = Parse({"timestamp", "statement.pdf", "statement.tsr"});
  EXPECT_EQ(invocation.command, Command::kTimestamp);
  EXPECT_EQ(invocation.input, "statement.pdf");
  EXPECT_EQ(invocation.output, "statement.tsr");
  EXPECT_EQ(invocation.sign.digest(), v1::SHA256);
  EXPECT_EQ(invocation.policy, "");
  EXPECT_EQ(invocation.tsa_url, "");
  EXPECT_EQ(invocation.connection.socket, kDefaultSocket);

  invocation = Parse({"timestamp", "--digest", "sha512", "--policy", "1.2.3.4", "--url",
                      "http://tsa.example:3180/", "-"});
  EXPECT_EQ(invocation.input, "-");
  EXPECT_EQ(invocation.output, "-");
  EXPECT_EQ(invocation.sign.digest(), v1::SHA512);
  EXPECT_EQ(invocation.policy, "1.2.3.4");
  EXPECT_EQ(invocation.tsa_url, "http://tsa.example:3180/");

  EXPECT_EQ(Fail({"timestamp"}).message, "FILE is required");
  EXPECT_EQ(Fail({"timestamp", "--url", "https://tsa.example/", "f"}).message,
            "--url must be an http:// URL, not 'https://tsa.example/'");
  EXPECT_THAT(Fail({"timestamp", "--digest", "sha1", "f"}).message,
              HasSubstr("--digest must be one of sha256"));
  EXPECT_EQ(Fail({"timestamp", "a", "b", "c"}).message, "too many files: at most IN and OUT");
}

TEST(CommandLineTest, KeyCommands) {
  EXPECT_EQ(Parse({"tokens"}).command, Command::kTokens);
  EXPECT_EQ(Parse({"keys", "--token", "hsm-a"}).token, "hsm-a");
  EXPECT_EQ(Parse({"key", "bank-signing"}).key, "bank-signing");
  Invocation keygen = Parse({"keygen", "--token", "hsm-a", "--label", "new", "--id", "0a0B",
                             "--algorithm", "ec-p384", "--purpose", "decrypt"});
  EXPECT_EQ(keygen.algorithm, v1::EC_P384);
  EXPECT_EQ(keygen.purpose, v1::DECRYPT);
  EXPECT_EQ(keygen.id, "\x0a\x0b");
  Invocation csr = Parse({"csr", "--key", "k", "--subject", "CN=Bank,O=Example", "--email", "a@b",
                          "--email", "c@d", "req.pem"});
  EXPECT_EQ(csr.subject, "CN=Bank,O=Example");
  EXPECT_THAT(csr.emails, ElementsAre("a@b", "c@d"));
  EXPECT_EQ(csr.output, "req.pem");
  EXPECT_EQ(Parse({"import-cert", "--key", "k", "cert.pem"}).certificate_file, "cert.pem");
}

TEST(CommandLineTest, AuditVerifyIsOfflineAndTakesNoConnection) {
  Invocation invocation = Parse({"audit", "verify", "--log", "a.log", "--key", "audit.pem"});
  EXPECT_EQ(invocation.command, Command::kAuditVerify);
  EXPECT_EQ(invocation.name, "audit verify");
  EXPECT_EQ(invocation.audit_log, "a.log");
  EXPECT_EQ(invocation.audit_key_file, "audit.pem");
  UsageError error = Fail({"audit", "verify", "--log", "a", "--key", "k", "--socket", "s"});
  EXPECT_EQ(error.command, "audit verify");
  EXPECT_EQ(error.message, "--socket does not apply to audit verify");
  EXPECT_EQ(Fail({"audit"}).message, "audit takes a subcommand: verify");
}

TEST(CommandLineTest, TheSocketComesFromTheFlagTheEnvironmentOrTheDefault) {
  EXPECT_EQ(Parse({"tokens"}).connection.socket, kDefaultSocket);
  EXPECT_EQ(Parse({"tokens"}, "/tmp/env.sock").connection.socket, "/tmp/env.sock");
  EXPECT_EQ(Parse({"tokens", "--socket", "/tmp/flag.sock"}, "/tmp/env.sock").connection.socket,
            "/tmp/flag.sock");
  // Connection options may come before the command.
  Invocation invocation = Parse({"--socket=/tmp/a.sock", "--timeout", "2.5", "sign", "--key", "k"});
  EXPECT_EQ(invocation.connection.socket, "/tmp/a.sock");
  EXPECT_EQ(invocation.connection.timeout, absl::Milliseconds(2500));
  EXPECT_EQ(invocation.key, "k");
  EXPECT_EQ(Parse({"tokens"}).connection.timeout, kDefaultTimeout);
}

TEST(CommandLineTest, TcpNeedsMutualTls) {
  Invocation invocation = Parse({"tokens", "--server", "hsm.example:7443", "--cert", "c.pem",
                                 "--key-file", "c.key", "--ca", "ca.pem", "--tls-name", "signetd"});
  EXPECT_EQ(invocation.connection.server, "hsm.example:7443");
  EXPECT_TRUE(invocation.connection.socket.empty());
  EXPECT_EQ(invocation.connection.cert_file, "c.pem");
  EXPECT_EQ(invocation.connection.key_file, "c.key");
  EXPECT_EQ(invocation.connection.ca_file, "ca.pem");
  EXPECT_EQ(invocation.connection.tls_name, "signetd");
  EXPECT_THAT(Fail({"tokens", "--server", "h:1", "--ca", "ca.pem"}).message,
              HasSubstr("--server needs --cert, --key-file and --ca"));
  EXPECT_THAT(Fail({"tokens", "--cert", "c.pem"}).message, HasSubstr("go with --server"));
  EXPECT_THAT(Fail({"tokens", "--server", "h:1", "--socket", "s"}).message,
              HasSubstr("exclude each other"));
}

TEST(CommandLineTest, UsageErrorsNameTheCommandAndTheProblem) {
  struct Case {
    std::vector<std::string> args;
    std::string command;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "", "no command given"},
           {{"sgin"}, "", "unknown command 'sgin'"},
           {{"--bogus", "sign"}, "", "unknown option --bogus before the command"},
           {{"sign"}, "sign", "--key is required"},
           {{"sign", "--key"}, "sign", "--key needs a value"},
           {{"sign", "--key="}, "sign", "--key needs a value"},
           {{"sign", "--key", "a", "--key", "b"}, "sign", "--key is given twice"},
           {{"sign", "--key", "k", "--pss=yes"}, "sign", "--pss takes no value"},
           {{"sign", "--key", "k", "-x"}, "sign", "unknown option -x"},
           // What does not look like an option name is not repeated.
           {{"sign", "--key", "k", "--Key2"}, "sign", "unknown option in position 3"},
           // The next option is not the value: the value was forgotten.
           {{"sign", "--key", "--pss"}, "sign", "--key needs a value"},
           {{"--socket", "a", "tokens", "--socket", "b"}, "tokens", "--socket is given twice"},
           {{"--socket", "a", "audit", "verify", "--log", "l", "--key", "k"},
            "audit verify",
            "--socket does not apply to audit verify"},
           {{"sign", "--key", "k", "a", "b", "c"}, "sign", "too many files: at most IN and OUT"},
           {{"encrypt", "--recipient", "a", "--cipher", "des"},
            "encrypt",
            "--cipher must be one of aes-256-gcm, aes-128-gcm, aes-256-cbc, aes-128-cbc, not "
            "'des'"},
           {{"decrypt"}, "decrypt", "--key is required"},
           {{"verify", "--key", "k"}, "verify", "unknown option --key"},
           {{"tokens", "extra"}, "tokens", "unexpected argument 'extra'"},
           {{"key"}, "key", "the key's NAME is required"},
           {{"key", "a", "b"}, "key", "unexpected argument 'b'"},
           {{"keygen", "--token", "t", "--label", "l", "--purpose", "sign"},
            "keygen",
            "--algorithm is required"},
           {{"import-cert", "--key", "k"}, "import-cert", "the certificate file is required"},
           {{"tokens", "--timeout", "-1"},
            "tokens",
            "--timeout must be a positive number of seconds, not '-1'"},
           {{"tokens", "--timeout", "soon"},
            "tokens",
            "--timeout must be a positive number of seconds, not 'soon'"},
       }) {
    UsageError error = Fail(c.args);
    EXPECT_EQ(error.command, c.command) << c.message;
    EXPECT_EQ(error.message, c.message);
  }
}

TEST(CommandLineTest, HelpAndVersion) {
  EXPECT_EQ(Parse({"--help"}).command, Command::kHelp);
  EXPECT_EQ(Parse({"--version"}).command, Command::kVersion);
  EXPECT_EQ(Parse({"help", "audit"}).help_topic, "audit verify");
  Invocation help = Parse({"sign", "--help"});
  EXPECT_EQ(help.command, Command::kHelp);
  EXPECT_EQ(help.help_topic, "sign");
}

TEST(UsageTextTest, OneCommandOrAll) {
  EXPECT_THAT(UsageText("sign"), HasSubstr("signet sign --key NAME"));
  EXPECT_THAT(UsageText("sign"), HasSubstr("--socket PATH"));
  EXPECT_THAT(UsageText("audit verify"), ::testing::Not(HasSubstr("--socket")));
  const std::string all = UsageText("");
  for (const char* command :
       {"sign ", "encrypt ", "sign-encrypt ", "decrypt ", "verify ", "sign-digest ", "timestamp ",
        "tokens", "keys ", "key NAME", "keygen ", "csr ", "import-cert ", "audit verify "}) {
    EXPECT_THAT(all, HasSubstr(absl::StrCat("  signet ", command)));
  }
  EXPECT_THAT(all, HasSubstr("exit codes: 0"));
  EXPECT_THAT(UsageText("sign"), HasSubstr("[--timestamp]"));
  EXPECT_THAT(UsageText("timestamp"), HasSubstr("openssl ts -verify"));
  EXPECT_THAT(ShortUsage("sign"), ::testing::Not(HasSubstr("--socket PATH")));
  EXPECT_THAT(ShortUsage("sign"), HasSubstr("signet help sign"));
}

}  // namespace
}  // namespace signet::cli
