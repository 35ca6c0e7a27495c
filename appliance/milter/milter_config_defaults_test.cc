#include "appliance/milter/milter_config_defaults.h"

#include "gtest/gtest.h"
#include "signet/milter/v1/milter_config.pb.h"

namespace signet::milter {
namespace {

TEST(WithDefaultsTest, FillsWhatIsUnset) {
  v1::MilterConfig config;
  config.mutable_inbound()->add_rules()->add_recipients("*");
  const v1::MilterConfig filled = WithDefaults(config);
  EXPECT_EQ(filled.listen_mode(), 0660u);
  EXPECT_EQ(filled.max_message_bytes(), 64u * 1024 * 1024);
  EXPECT_EQ(filled.signetd_timeout_seconds(), 120u);
  EXPECT_EQ(filled.mta_connect_timeout_seconds(), 30u);
  EXPECT_EQ(filled.mta_command_timeout_seconds(), 30u);
  EXPECT_EQ(filled.mta_content_timeout_seconds(), 300u);
  EXPECT_EQ(filled.outbound().on_missing_certificate(), v1::REJECT);
  EXPECT_TRUE(filled.inbound().rules(0).verify());
  EXPECT_TRUE(filled.inbound().rules(0).require_trusted_chain());
  // The defaults must themselves pass validation's timeout rule.
  EXPECT_LT(filled.signetd_timeout_seconds() * kMaxSignetdCallsPerMail,
            filled.mta_content_timeout_seconds());
}

TEST(WithDefaultsTest, KeepsWhatIsSet) {
  v1::MilterConfig config;
  config.set_listen_mode(0600);
  config.set_max_message_bytes(1000);
  config.set_signetd_timeout_seconds(7);
  config.set_mta_content_timeout_seconds(600);
  config.mutable_outbound()->set_on_missing_certificate(v1::HOLD);
  v1::InboundRule& rule = *config.mutable_inbound()->add_rules();
  rule.set_verify(false);
  rule.set_require_trusted_chain(false);
  const v1::MilterConfig filled = WithDefaults(config);
  EXPECT_EQ(filled.listen_mode(), 0600u);
  EXPECT_EQ(filled.max_message_bytes(), 1000u);
  EXPECT_EQ(filled.signetd_timeout_seconds(), 7u);
  EXPECT_EQ(filled.mta_content_timeout_seconds(), 600u);
  EXPECT_EQ(filled.outbound().on_missing_certificate(), v1::HOLD);
  EXPECT_FALSE(filled.inbound().rules(0).verify());
  EXPECT_FALSE(filled.inbound().rules(0).require_trusted_chain());
}

}  // namespace
}  // namespace signet::milter
