#include "appliance/milter/milter_config_validator.h"

#include <google/protobuf/text_format.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "appliance/milter/milter_config_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/milter/v1/milter_config.pb.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::milter {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// A config that validates; each test breaks one part of it.
v1::MilterConfig Valid() {
  v1::MilterConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        listen: "unix:/run/signet/milter.sock"
        signetd { socket: "/run/signet/signetd.sock" }
        authserv_id: "mx1.bank.example"
        local_domains: "bank.example"
        local_domains: "Statements.Bank.Example"
        outbound {
          signers { senders: "statements@bank.example" key: "statements" timestamp: true }
          signers { senders: "bank.example" key: "bank" }
          recipient_policies { domains: "*" action: SIGN_AND_ENCRYPT_IF_POSSIBLE }
          recipient_policies { domains: "regulator.example" action: MUST_ENCRYPT }
        }
        inbound {
          rules { recipients: "bank.example" decrypt: true decryption_keys: "bank-decrypt" }
          rules { recipients: "treasury@bank.example" }
        }
      )pb",
      &config));
  return config;
}

std::vector<std::string> ProblemsOf(const std::string& edit) {
  v1::MilterConfig config = Valid();
  v1::MilterConfig change;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(edit, &change)) << edit;
  config.MergeFrom(change);
  return MilterConfigProblems(config);
}

TEST(MilterConfigValidatorTest, AcceptsAGoodConfig) {
  EXPECT_THAT(MilterConfigProblems(Valid()), IsEmpty());
  EXPECT_THAT(ValidateMilterConfig(Valid()), IsOk());
}

TEST(MilterConfigValidatorTest, AcceptsTheExampleConfig) {
  ASSERT_OK_AND_ASSIGN(
      v1::MilterConfig config,
      LoadMilterConfig(SIGNET_SOURCE_DIR "/firmware-config/signet-milter.textproto"));
  EXPECT_THAT(MilterConfigProblems(config), IsEmpty());
}

TEST(MilterConfigValidatorTest, ReportsEveryProblemOfAnEmptyConfig) {
  const std::vector<std::string> problems = MilterConfigProblems(v1::MilterConfig());
  EXPECT_THAT(problems, ElementsAre(StartsWith("listen: required"), StartsWith("signetd: required"),
                                    StartsWith("authserv_id: required"),
                                    StartsWith("local_domains: at least one")));
  EXPECT_THAT(ValidateMilterConfig(v1::MilterConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\nsignetd: required")));
}

TEST(MilterConfigValidatorTest, Listen) {
  v1::MilterConfig config = Valid();
  config.set_listen("inet:99999@127.0.0.1");
  EXPECT_THAT(MilterConfigProblems(config), ElementsAre(HasSubstr("1 to 65535")));
  config.set_listen("inet:10025@127.0.0.1");
  config.set_listen_mode(0660);
  EXPECT_THAT(MilterConfigProblems(config), ElementsAre("listen_mode: only for a unix socket"));
  config.set_listen("unix:/run/m.sock");
  config.set_listen_mode(01777);
  EXPECT_THAT(MilterConfigProblems(config),
              ElementsAre(StartsWith("listen_mode: not a file mode")));
}

TEST(MilterConfigValidatorTest, SignetdConnection) {
  EXPECT_THAT(ProblemsOf(R"pb(signetd { server: "signet:8443" })pb"),
              ElementsAre("signetd: socket and server are exclusive"));
  EXPECT_THAT(ProblemsOf(R"pb(signetd { socket: "signetd.sock" tls_name: "x" })pb"),
              ElementsAre("signetd.socket: must be an absolute path",
                          StartsWith("signetd.tls_name: only with server")));

  v1::MilterConfig config = Valid();
  config.mutable_signetd()->Clear();
  config.mutable_signetd()->set_server("signet.bank.example");
  config.mutable_signetd()->set_key_file("/k.pem");
  EXPECT_THAT(MilterConfigProblems(config),
              ElementsAre("signetd.server: must be HOST:PORT",
                          StartsWith("signetd.cert_file: required with server"),
                          StartsWith("signetd.ca_file: required with server")));
  config.mutable_signetd()->set_server("[::1]:8443");
  config.mutable_signetd()->set_cert_file("/c.pem");
  config.mutable_signetd()->set_ca_file("/ca.pem");
  EXPECT_THAT(MilterConfigProblems(config), IsEmpty());
}

TEST(MilterConfigValidatorTest, AuthservIdAndLocalDomains) {
  v1::MilterConfig config = Valid();
  config.set_authserv_id("mx1 bank");
  config.add_local_domains("bank.EXAMPLE");
  config.add_local_domains("localhost");
  EXPECT_THAT(MilterConfigProblems(config),
              ElementsAre("authserv_id: only printable ASCII without blanks",
                          "local_domains[2]: \"bank.example\" given twice",
                          HasSubstr("local_domains[3]: \"localhost\" is not a domain name")));
}

TEST(MilterConfigValidatorTest, TimeoutsMustFitInTheMtas) {
  // 2 x 150 s reaches Postfix's 300 s.
  EXPECT_THAT(ProblemsOf("signetd_timeout_seconds: 150"),
              ElementsAre(HasSubstr("must stay below the MTA's 300 s content timeout")));
  EXPECT_THAT(ProblemsOf("signetd_timeout_seconds: 149"), IsEmpty());
  // An MTA configured with a longer timeout allows longer calls.
  EXPECT_THAT(ProblemsOf("signetd_timeout_seconds: 250 mta_content_timeout_seconds: 600"),
              IsEmpty());
  EXPECT_THAT(ProblemsOf("mta_content_timeout_seconds: 200"),
              ElementsAre(HasSubstr("below the MTA's 200 s")));
  EXPECT_THAT(ProblemsOf("max_message_bytes: 1073741825"),
              ElementsAre(StartsWith("max_message_bytes: at most")));
}

TEST(MilterConfigValidatorTest, Signers) {
  EXPECT_THAT(
      ProblemsOf(R"pb(outbound {
                        signers { senders: "Statements@Bank.Example" key: "again" }
                        signers { senders: "*" senders: "ceo@other.example" senders: "x..y" }
                      })pb"),
      ElementsAre(
          "outbound.signers[2].senders[0]: \"statements@bank.example\" is in another rule already",
          "outbound.signers[3].key: required", StartsWith("outbound.signers[3].senders[0]: \"*\""),
          "outbound.signers[3].senders[1]: \"ceo@other.example\" is not in local_domains, so "
          "this never applies",
          HasSubstr("outbound.signers[3].senders[2]: ")));
}

TEST(MilterConfigValidatorTest, RecipientPolicies) {
  v1::MilterConfig config = Valid();
  v1::RecipientPolicy& dup = *config.mutable_outbound()->add_recipient_policies();
  dup.add_domains("Regulator.Example");
  dup.set_action(v1::SIGN);
  v1::RecipientPolicy& bad = *config.mutable_outbound()->add_recipient_policies();
  bad.add_domains("someone@partner.example");
  bad.set_action(static_cast<v1::OutboundAction>(9));
  config.mutable_outbound()->add_recipient_policies()->add_domains("partner.example");
  config.mutable_outbound()->add_recipient_policies()->set_action(v1::NONE);
  config.mutable_outbound()->set_on_missing_certificate(
      static_cast<v1::MissingCertificateAction>(5));
  EXPECT_THAT(
      MilterConfigProblems(config),
      ElementsAre(
          "outbound.recipient_policies[2].domains[0]: \"regulator.example\" is in another rule "
          "already",
          "outbound.recipient_policies[3].action: unknown action 9",
          "outbound.recipient_policies[3].domains[0]: a domain or \"*\", not an address",
          StartsWith("outbound.recipient_policies[4].action: required"),
          "outbound.recipient_policies[5].domains: at least one",
          "outbound.on_missing_certificate: unknown action 5"));
}

TEST(MilterConfigValidatorTest, MustEncryptNeedsNoSigner) {
  // Encryption to the recipients needs no key of the sender's.
  v1::MilterConfig config = Valid();
  config.mutable_outbound()->clear_signers();
  EXPECT_THAT(MilterConfigProblems(config), IsEmpty());
}

TEST(MilterConfigValidatorTest, InboundRules) {
  EXPECT_THAT(
      ProblemsOf(R"pb(inbound {
                        rules { recipients: "BANK.example" }
                        rules { recipients: "other.example" decrypt: true }
                        rules {
                          recipients: "*"
                          decryption_keys: "k"
                          decryption_keys: "k"
                          decryption_keys: ""
                        }
                        rules {}
                      })pb"),
      ElementsAre(
          "inbound.rules[2].recipients[0]: \"bank.example\" is in another rule already",
          "inbound.rules[3].recipients[0]: \"other.example\" is not in local_domains, so this "
          "never applies",
          "inbound.rules[3].decryption_keys: required with decrypt: true",
          "inbound.rules[4].decryption_keys: given without decrypt: true, so never used",
          "inbound.rules[4].decryption_keys[1]: \"k\" given twice",
          "inbound.rules[4].decryption_keys[2]: empty key name",
          "inbound.rules[5].recipients: at least one"));
}

}  // namespace
}  // namespace signet::milter
