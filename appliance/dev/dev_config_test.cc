#include "appliance/dev/dev_config.h"

#include "absl/strings/match.h"
#include "appliance/server/config/config_validator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::dev {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;
using ::testing::Not;

DevConfigOptions Options() {
  return {.dir = "/home/dev/work/.dev",
          .module_path = "/opt/softhsm/libsofthsm2.so",
          .tcp_address = "127.0.0.1:9443",
          .tsa_address = "127.0.0.1:9180",
          .uid = 4242};
}

TEST(DevConfigTest, TheTemplateBecomesAValidConfigForTheDirectory) {
  absl::StatusOr<config::v1::Config> config = DevConfig(Options());
  ASSERT_THAT(config, IsOk());
  EXPECT_THAT(server::ValidateConfig(*config), IsOk());
  const std::string text = DevConfigText(*config, "/home/dev/work/.dev");
  EXPECT_THAT(text, Not(HasSubstr("/tmp/signet-dev")));
  EXPECT_THAT(text, HasSubstr("/home/dev/work/.dev/signetd.sock"));
  EXPECT_THAT(text, HasSubstr("SOFTHSM2_CONF=/home/dev/work/.dev/softhsm/softhsm2.conf"));
  EXPECT_EQ(config->trust_anchors_file(), "/home/dev/work/.dev/ca.pem");
  EXPECT_EQ(config->audit().path(), "/home/dev/work/.dev/audit.log");
  ASSERT_EQ(config->tokens_size(), 1);
  EXPECT_EQ(config->tokens(0).module(), "/opt/softhsm/libsofthsm2.so");
  EXPECT_EQ(config->tokens(0).pin().file(), "/home/dev/work/.dev/user.pin");

  int unix_callers = 0;
  for (const config::v1::Caller& caller : config->callers()) {
    if (caller.has_unix_uid()) {
      EXPECT_EQ(caller.unix_uid(), 4242u);
      ++unix_callers;
    }
  }
  EXPECT_EQ(unix_callers, 1);
  int tcp_listeners = 0;
  for (const config::v1::Listener& listener : config->listeners()) {
    if (!listener.has_tcp()) continue;
    ++tcp_listeners;
    EXPECT_EQ(listener.tcp().address(), "127.0.0.1:9443");
    EXPECT_EQ(listener.tcp().client_ca_file(), "/home/dev/work/.dev/ca.pem");
  }
  EXPECT_EQ(tcp_listeners, 1);
}

TEST(DevConfigTest, NoAddressMeansNoTcpListener) {
  DevConfigOptions options = Options();
  options.tcp_address.clear();
  absl::StatusOr<config::v1::Config> config = DevConfig(options);
  ASSERT_THAT(config, IsOk());
  ASSERT_EQ(config->listeners_size(), 1);
  EXPECT_TRUE(config->listeners(0).has_unix());
  EXPECT_THAT(server::ValidateConfig(*config), IsOk());
}

TEST(DevConfigTest, TheDevTsaStampsTheBanksSignatures) {
  absl::StatusOr<config::v1::Config> config = DevConfig(Options());
  ASSERT_THAT(config, IsOk());
  const config::v1::TimestampAuthority& tsa = config->timestamp_authority();
  EXPECT_EQ(tsa.key(), "tsa");
  EXPECT_EQ(tsa.http_address(), "127.0.0.1:9180");
  EXPECT_EQ(tsa.serial_file(), "/home/dev/work/.dev/tsa.serial");
  EXPECT_TRUE(tsa.allow_unsynchronized_clock());
  EXPECT_EQ(config->validation().tsa_trust_anchors_file(), "/home/dev/work/.dev/ca.pem");
  const config::v1::Key* signing = nullptr;
  for (const config::v1::Key& key : config->keys()) {
    if (key.name() == "bank-signing") signing = &key;
  }
  ASSERT_NE(signing, nullptr);
  ASSERT_TRUE(signing->has_timestamps());
  EXPECT_THAT(signing->timestamps().tsa_urls(), ::testing::ElementsAre("http://127.0.0.1:9180/"));
  // A bank statement asked to be stamped goes out stamped or not at all.
  EXPECT_EQ(signing->timestamps().mode(), config::v1::TIMESTAMP_REQUIRED);
  EXPECT_EQ(signing->timestamps().tsa_trust_anchors_file(), "/home/dev/work/.dev/ca.pem");
}

TEST(DevConfigTest, NoTsaAddressMeansGrpcOnlyAndNoStamps) {
  DevConfigOptions options = Options();
  options.tsa_address.clear();
  absl::StatusOr<config::v1::Config> config = DevConfig(options);
  ASSERT_THAT(config, IsOk());
  EXPECT_THAT(server::ValidateConfig(*config), IsOk());
  EXPECT_EQ(config->timestamp_authority().key(), "tsa");
  EXPECT_EQ(config->timestamp_authority().http_address(), "");
  for (const config::v1::Key& key : config->keys()) {
    EXPECT_FALSE(key.has_timestamps()) << key.name();
  }
}

TEST(DevConfigTest, SoftHsmConfPointsAtTheTokenDirectory) {
  const std::string conf = SoftHsmConf("/srv/dev/softhsm/tokens");
  EXPECT_THAT(conf, HasSubstr("directories.tokendir = /srv/dev/softhsm/tokens\n"));
  EXPECT_THAT(conf, Not(HasSubstr("@TOKENDIR@")));
}

}  // namespace
}  // namespace signet::dev
