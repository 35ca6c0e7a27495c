#include "appliance/milter/addresses.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::milter {
namespace {

using ::signet::matchers::IsOkAndHolds;
using ::signet::matchers::StatusIs;

TEST(StripAngleBracketsTest, RemovesTheEnvelopeBrackets) {
  EXPECT_EQ(StripAngleBrackets("<A@Bank.Example>"), "A@Bank.Example");
  EXPECT_EQ(StripAngleBrackets(" < a@b.example > "), "a@b.example");
  EXPECT_EQ(StripAngleBrackets("a@b.example"), "a@b.example");
  EXPECT_EQ(StripAngleBrackets("<>"), "");
  EXPECT_EQ(StripAngleBrackets("<a@b.example"), "<a@b.example");
}

TEST(NormalizeDomainTest, LowerCasesValidDomains) {
  EXPECT_THAT(NormalizeDomain("Bank.EXAMPLE"), IsOkAndHolds("bank.example"));
  for (const char* bad : {"", "localhost", "bank..example", "a@bank.example", "-x.example",
                          "bank.example.", "b nk.example"}) {
    EXPECT_THAT(NormalizeDomain(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(NormalizeRuleKeyTest, AddressDomainOrWildcard) {
  EXPECT_THAT(NormalizeRuleKey("*"), IsOkAndHolds("*"));
  EXPECT_THAT(NormalizeRuleKey("Statements@Bank.Example"), IsOkAndHolds("statements@bank.example"));
  EXPECT_THAT(NormalizeRuleKey("Bank.Example"), IsOkAndHolds("bank.example"));
  EXPECT_THAT(NormalizeRuleKey("*.bank.example"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeRuleKey("a@@b.example"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DomainOfTest, AfterTheLastAt) {
  EXPECT_EQ(DomainOf("A@Bank.Example"), "bank.example");
  EXPECT_EQ(DomainOf("root"), "");
  EXPECT_EQ(DomainOf("\"a@b\"@c.example"), "c.example");
}

}  // namespace
}  // namespace signet::milter
