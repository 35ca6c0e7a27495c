#include "appliance/milter/listen_spec.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::milter {
namespace {

using ::signet::matchers::StatusIs;
using ::testing::HasSubstr;

TEST(ParseListenSpecTest, UnixSocket) {
  ASSERT_OK_AND_ASSIGN(ListenSpec spec, ParseListenSpec("unix:/run/signet/milter.sock"));
  EXPECT_EQ(spec.kind, ListenSpec::Kind::kUnix);
  EXPECT_EQ(spec.path, "/run/signet/milter.sock");
  ASSERT_OK_AND_ASSIGN(ListenSpec local, ParseListenSpec("local:/tmp/m.sock"));
  EXPECT_EQ(local.kind, ListenSpec::Kind::kUnix);
  EXPECT_EQ(local.path, "/tmp/m.sock");
}

TEST(ParseListenSpecTest, InetWithAndWithoutHost) {
  ASSERT_OK_AND_ASSIGN(ListenSpec spec, ParseListenSpec("inet:10025@127.0.0.1"));
  EXPECT_EQ(spec.kind, ListenSpec::Kind::kInet);
  EXPECT_EQ(spec.port, 10025);
  EXPECT_EQ(spec.host, "127.0.0.1");
  ASSERT_OK_AND_ASSIGN(ListenSpec any, ParseListenSpec("inet:8891"));
  EXPECT_EQ(any.port, 8891);
  EXPECT_EQ(any.host, "");
  ASSERT_OK_AND_ASSIGN(ListenSpec v6, ParseListenSpec("INET6:10025@[::1]"));
  EXPECT_EQ(v6.kind, ListenSpec::Kind::kInet6);
  EXPECT_EQ(v6.host, "[::1]");
}

TEST(ParseListenSpecTest, RefusesMistakes) {
  EXPECT_THAT(ParseListenSpec("/run/milter.sock"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected unix:")));
  EXPECT_THAT(ParseListenSpec("inte:10025@127.0.0.1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown kind \"inte\"")));
  EXPECT_THAT(ParseListenSpec("unix:run/milter.sock"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("absolute")));
  EXPECT_THAT(ParseListenSpec("unix:"), StatusIs(absl::StatusCode::kInvalidArgument));
  for (const char* bad :
       {"inet:0@127.0.0.1", "inet:65536", "inet:@127.0.0.1", "inet:-1", "inet:+25", "inet:25x@h"}) {
    EXPECT_THAT(ParseListenSpec(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 to 65535")))
        << bad;
  }
  EXPECT_THAT(ParseListenSpec("inet:25@"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty host")));
}

}  // namespace
}  // namespace signet::milter
