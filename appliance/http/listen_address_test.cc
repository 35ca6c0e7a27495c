#include "appliance/http/listen_address.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::http {
namespace {

using ::signet::matchers::StatusIs;
using ::testing::HasSubstr;

TEST(ListenAddressTest, TakesIpv4AndBracketedIpv6) {
  ASSERT_OK_AND_ASSIGN(ListenAddress v4, ParseListenAddress("127.0.0.1:9464"));
  EXPECT_EQ(v4.ip, "127.0.0.1");
  EXPECT_EQ(v4.port, 9464);
  ASSERT_OK_AND_ASSIGN(ListenAddress v6, ParseListenAddress("[::1]:3180"));
  EXPECT_EQ(v6.ip, "::1");
  EXPECT_EQ(v6.port, 3180);
}

TEST(ListenAddressTest, RefusesNamesBadPortsAndBareIpv6) {
  for (const char* text : {"localhost:9464", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
                           "127.0.0.1:x", "::1:9464", "[::1]", ":9464", ""}) {
    EXPECT_THAT(ParseListenAddress(text),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not an IP address")))
        << text;
  }
}

}  // namespace
}  // namespace signet::http
