#include "appliance/server/config/directory_config.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace signet::server {
namespace {

using ::testing::Contains;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;

config::v1::Config Parse(const std::string& text) {
  config::v1::Config config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

TEST(DirectoryConfigTest, AFullSectionHasNoProblems) {
  EXPECT_THAT(DirectoryProblems(Parse(R"pb(
                directory {
                  store_path: "/var/lib/signet/directory.db"
                  ldap {
                    urls: [ "ldap://ldap1.bank.example", "ldaps://ldap2.bank.example:636" ]
                    base_dn: "ou=people,dc=bank,dc=example"
                    bind_dn: "cn=signet,dc=bank,dc=example"
                    bind_password_file: "/etc/signet/ldap.password"
                    timeout_seconds: 3
                  }
                  smimea {
                    enabled: true
                    trust_anchor_file: "/usr/share/dns/root.key"
                    forwarders: [ "127.0.0.1", "::1@5353" ]
                  }
                  public_http_address: "0.0.0.0:8080"
                  public_domains: "bank.example"
                }
                callers {
                  name: "mx"
                  unix_uid: 100
                  grants { operations: [ LOOKUP_CERTIFICATES, PUBLISH_CERTIFICATES ] }
                })pb")),
              IsEmpty());
}

TEST(DirectoryConfigTest, EachProblemIsNamedWhereItIs) {
  const auto problems = DirectoryProblems(Parse(R"pb(
    directory {
      store_path: "relative.db"
      ldap { urls: "http://ldap.bank.example" bind_dn: "cn=x" timeout_seconds: 600 }
      smimea { enabled: true forwarders: "not an address" authoritative_server: "127.0.0.1@99999" }
      public_http_address: "somewhere"
      public_requests_per_second: -1
      public_domains: "bank..example"
    })pb"));
  EXPECT_THAT(problems, Contains(Pair("directory", ::testing::HasSubstr("store_path"))));
  EXPECT_THAT(problems, Contains(Pair("directory.ldap[0]", ::testing::HasSubstr("http://"))));
  EXPECT_THAT(problems, Contains(Pair("directory.ldap[0]", ::testing::HasSubstr("base_dn"))));
  EXPECT_THAT(problems, Contains(Pair("directory.ldap[0]", ::testing::HasSubstr("go together"))));
  EXPECT_THAT(problems,
              Contains(Pair("directory.ldap[0]", ::testing::HasSubstr("timeout_seconds"))));
  EXPECT_THAT(problems,
              Contains(Pair("directory.smimea", ::testing::HasSubstr("trust_anchor_file"))));
  EXPECT_THAT(problems, Contains(Pair("directory.smimea", ::testing::HasSubstr("forwarder"))));
  EXPECT_THAT(problems,
              Contains(Pair("directory.smimea", ::testing::HasSubstr("authoritative_server"))));
  EXPECT_THAT(problems, Contains(Pair("directory", ::testing::HasSubstr("public_http_address"))));
  EXPECT_THAT(problems, Contains(Pair("directory", ::testing::HasSubstr("negative"))));
  EXPECT_THAT(problems, Contains(Pair("directory", ::testing::HasSubstr("bank..example"))));
}

TEST(DirectoryConfigTest, DirectoryGrantsWithoutADirectoryAreAProblem) {
  EXPECT_THAT(DirectoryProblems(Parse(R"pb(
                callers {
                  name: "mx"
                  unix_uid: 100
                  grants { operations: LOOKUP_CERTIFICATES }
                })pb")),
              SizeIs(1));
}

TEST(DirectoryConfigTest, DefaultsAndHarvestOnUnlessTurnedOff) {
  const config::v1::Config config = Parse(R"pb(directory {
                                                 store_path: "/d.db"
                                                 ldap {}
                                               })pb");
  EXPECT_TRUE(HarvestEnabled(config.directory()));
  EXPECT_FALSE(HarvestEnabled(Parse(R"pb(directory { harvest: false })pb").directory()));
  EXPECT_EQ(LdapTimeout(config.directory().ldap(0)), absl::Seconds(5));
  EXPECT_EQ(LdapCacheTtl(config.directory().ldap(0)), absl::Minutes(10));
}

}  // namespace
}  // namespace signet::server
