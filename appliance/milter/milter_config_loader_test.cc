#include "appliance/milter/milter_config_loader.h"

#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "common/text_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"

namespace signet::milter {
namespace {

using ::signet::fixtures::TempDir;
using ::signet::matchers::IsOk;
using ::signet::matchers::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ParseMilterConfigTextTest, ParsesEverySection) {
  ASSERT_OK_AND_ASSIGN(
      v1::MilterConfig config,
      ParseMilterConfigText(
          R"pb(
            listen: "inet:10025@127.0.0.1"
            signetd {
              server: "signet.bank.example:8443"
              cert_file: "/etc/signet/milter.crt"
              key_file: "/etc/signet/milter.key"
              ca_file: "/etc/signet/ca.pem"
            }
            authserv_id: "mx1.bank.example"
            local_domains: "bank.example"
            outbound {
              signers { senders: "bank.example" key: "k" timestamp: true }
              recipient_policies { domains: "*" action: MUST_ENCRYPT }
              on_missing_certificate: HOLD
            }
            inbound { rules { recipients: "*" decrypt: true decryption_keys: "d" verify: false } }
          )pb",
          "m.textproto"));
  EXPECT_EQ(config.listen(), "inet:10025@127.0.0.1");
  EXPECT_EQ(config.signetd().server(), "signet.bank.example:8443");
  EXPECT_EQ(config.signetd().ca_file(), "/etc/signet/ca.pem");
  EXPECT_EQ(config.outbound().signers(0).key(), "k");
  EXPECT_TRUE(config.outbound().signers(0).timestamp());
  EXPECT_EQ(config.outbound().recipient_policies(0).action(), v1::MUST_ENCRYPT);
  EXPECT_EQ(config.outbound().on_missing_certificate(), v1::HOLD);
  ASSERT_EQ(config.inbound().rules_size(), 1);
  EXPECT_TRUE(config.inbound().rules(0).has_verify());
  EXPECT_FALSE(config.inbound().rules(0).verify());
  EXPECT_FALSE(config.inbound().rules(0).has_require_trusted_chain());
}

TEST(ParseMilterConfigTextTest, ReportsEveryErrorWithLineAndColumn) {
  absl::StatusOr<v1::MilterConfig> config = ParseMilterConfigText(
      "listen: \"unix:/run/m.sock\"\n"
      "authserv_idd: \"mx\"\n"
      "outbound { recipient_policies { domains: \"*\" action: ENCRYPT_PLEASE } }\n"
      "listen: \"unix:/other\"\n",
      "m.textproto");
  ASSERT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<std::string> lines = absl::StrSplit(config.status().message(), '\n');
  EXPECT_THAT(lines, ElementsAre(StartsWith("m.textproto:2:1: "),
                                 AllOf(StartsWith("m.textproto:3:"), HasSubstr("ENCRYPT_PLEASE")),
                                 StartsWith("m.textproto:4:1: Non-repeated field \"listen\"")));
}

TEST(LoadMilterConfigTest, LoadsTheExampleConfig) {
  ASSERT_OK_AND_ASSIGN(
      v1::MilterConfig config,
      LoadMilterConfig(SIGNET_SOURCE_DIR "/firmware-config/signet-milter.textproto"));
  EXPECT_EQ(config.authserv_id(), "mx1.bank.example");
  EXPECT_EQ(config.signetd().socket(), "/run/signet/signetd.sock");
}

TEST(LoadMilterConfigTest, NamesTheFileAndRefusesNonConfigs) {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create("milter-config"));
  EXPECT_THAT(LoadMilterConfig(dir.File("missing.textproto")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.textproto")));
  EXPECT_THAT(LoadMilterConfig(dir.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not a regular file")));
  const std::string big = dir.File("big");
  std::ofstream(big) << std::string(kMaxConfigBytes + 1, '#');
  EXPECT_THAT(LoadMilterConfig(big), StatusIs(absl::StatusCode::kFailedPrecondition,
                                              HasSubstr("not a signet-milter config")));
  const std::string bad = dir.File("bad.textproto");
  std::ofstream(bad) << "listen: 5\n";
  EXPECT_THAT(LoadMilterConfig(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith(bad + ":1:9: ")));
  const std::string good = dir.File("good.textproto");
  std::ofstream(good) << "authserv_id: \"mx\"\n";
  EXPECT_THAT(LoadMilterConfig(good), IsOk());
}

}  // namespace
}  // namespace signet::milter
