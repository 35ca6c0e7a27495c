#include "appliance/cms/mailbox_list.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

using ::testing::HasSubstr;

// The addr-specs of a mailbox list, or the error's message.
std::vector<std::string> AddrSpecs(absl::string_view value) {
  absl::StatusOr<std::vector<Mailbox>> mailboxes = ParseMailboxList(value);
  if (!mailboxes.ok()) return {std::string("error: ") + std::string(mailboxes.status().message())};
  std::vector<std::string> specs;
  for (const Mailbox& mailbox : *mailboxes) specs.push_back(mailbox.AddrSpec());
  return specs;
}

using Specs = std::vector<std::string>;

TEST(ParseMailboxListTest, ReadsAddrSpecsAndNameAddrs) {
  EXPECT_EQ(AddrSpecs("statements@bank.example"), Specs{"statements@bank.example"});
  EXPECT_EQ(AddrSpecs("Bank <statements@bank.example>"), Specs{"statements@bank.example"});
  EXPECT_EQ(AddrSpecs("<statements@bank.example>"), Specs{"statements@bank.example"});
  EXPECT_EQ(AddrSpecs("a@x.example, \"B, C\" <b@y.example>"),
            (Specs{"a@x.example", "b@y.example"}));
}

TEST(ParseMailboxListTest, KeepsTheDisplayNameAndLeavesEncodedWordsEncoded) {
  absl::StatusOr<std::vector<Mailbox>> list =
      ParseMailboxList("=?utf-8?q?B=C3=A4nk?= \"Statements\" (desk) <statements@bank.example>");
  ASSERT_THAT(list, IsOk());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].display_name, "=?utf-8?q?B=C3=A4nk?= Statements");
  EXPECT_EQ((*list)[0].local_part, "statements");
  EXPECT_EQ((*list)[0].domain, "bank.example");
}

TEST(ParseMailboxListTest, QuotedLocalPartsMeanTheirContent) {
  EXPECT_EQ(AddrSpecs("\"statements\"@bank.example"), Specs{"statements@bank.example"});
  EXPECT_EQ(AddrSpecs("\"a b\"@bank.example"), Specs{"\"a b\"@bank.example"});
  absl::StatusOr<Mailbox> escaped = ParseMailbox("\"a\\\"b\\\\c\"@bank.example");
  ASSERT_THAT(escaped, IsOk());
  EXPECT_EQ(escaped->local_part, "a\"b\\c");
  EXPECT_EQ(escaped->AddrSpec(), "\"a\\\"b\\\\c\"@bank.example");
}

TEST(ParseMailboxListTest, ReadsTheObsoleteForms) {
  // A route before the address, dots and comments inside it, empty list
  // elements, a dot in a display name, a folded field.
  EXPECT_EQ(AddrSpecs("<@relay.example,@hub.example:statements@bank.example>"),
            Specs{"statements@bank.example"});
  EXPECT_EQ(AddrSpecs("statements . desk (x) @ (y) bank . example"),
            Specs{"statements.desk@bank.example"});
  EXPECT_EQ(AddrSpecs(", , statements@bank.example ,"), Specs{"statements@bank.example"});
  EXPECT_EQ(AddrSpecs("John Q. Public <jqp@bank.example>"), Specs{"jqp@bank.example"});
  EXPECT_EQ(AddrSpecs("Bank\r\n <statements@bank.example>"), Specs{"statements@bank.example"});
  EXPECT_EQ(AddrSpecs("statements@[192.0.2.1]"), Specs{"statements@[192.0.2.1]"});
}

TEST(ParseMailboxListTest, CommentsNestAndMayHoldAnything) {
  EXPECT_EQ(AddrSpecs("(a (nested) \\) comment, <evil@x.org>) statements@bank.example (z)"),
            Specs{"statements@bank.example"});
}

TEST(ParseMailboxListTest, RefusesWhatItCannotReadWithCertainty) {
  const struct {
    const char* value;
    const char* why;
  } cases[] = {
      // The four that got past the old extraction.
      {"ceo@bank.example \"\", statements@bank.example", "unexpected '\"' after the address"},
      {"evil@x.org \"Example Bank\", statements@bank.example", "unexpected '\"' after"},
      {"<ceo@bank.example> <statements@bank.example>", "unexpected '<' after the address"},
      {"ceo@bank.example\\<statements@bank.example>", "unexpected '\\' after the address"},
      {"Group: statements@bank.example;", "group"},
      {"<statements@bank.example", "where '>' was expected"},
      {"statements@bank.example>", "unexpected '>'"},
      {"\"statements@bank.example", "unterminated quoted string"},
      {"(statements@bank.example", "unterminated comment"},
      {"statements@bank.example (a (b)", "unterminated comment"},
      {"a@b@c", "unexpected '@'"},
      {"statements", "no '@' or '<'"},
      {"John Doe statements@bank.example", "not separated by dots"},
      {"statements.@bank.example", "ends with a dot"},
      {".statements@bank.example", "empty word between dots"},
      {"statements@bank.", "domain name was expected"},
      {"statements@", "domain name was expected"},
      {"@bank.example", "without a local part"},
      {"<>", "where an address was expected"},
      {"statements@[1.2.3.4", "unterminated domain literal"},
      {"statements@bank.example\r\nBcc: x@y", "line break"},
      {"statements@bank.example\n x", "line break"},
      {"", "no address"},
      {" , ,", "no address"},
      {"\"\\\x01\"@bank.example", "control character 0x01"},
      {"j\xc3\xb6hn@bank.example", "8-bit byte"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<std::vector<Mailbox>> list = ParseMailboxList(c.value);
    ASSERT_THAT(list, Not(IsOk())) << c.value << " read as " << list->size() << " mailboxes";
    EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(list.status().message(), HasSubstr(c.why)) << c.value;
  }
  absl::StatusOr<std::vector<Mailbox>> nul = ParseMailboxList(std::string("a@b\0c.example", 13));
  ASSERT_THAT(nul, Not(IsOk()));
  EXPECT_THAT(nul.status().message(), HasSubstr("NUL byte"));
}

TEST(ParseMailboxTest, TakesExactlyOneMailbox) {
  EXPECT_THAT(ParseMailbox(" Desk <desk@bank.example> (c) "), IsOk());
  absl::StatusOr<Mailbox> two = ParseMailbox("a@x.example, b@y.example");
  ASSERT_THAT(two, Not(IsOk()));
  EXPECT_THAT(two.status().message(), HasSubstr("exactly one address"));
  EXPECT_THAT(ParseMailbox(""), Not(IsOk()));
}

TEST(ParseMailboxListTest, LongInputsAreLinearAndDeepCommentsDoNotRecurse) {
  std::string deep(1 << 20, '(');
  deep += "x";
  EXPECT_THAT(ParseMailboxList(deep).status().message(), HasSubstr("unterminated comment"));
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "a@b.example,";
  absl::StatusOr<std::vector<Mailbox>> list = ParseMailboxList(many);
  ASSERT_THAT(list, IsOk());
  EXPECT_EQ(list->size(), 100000u);
}

}  // namespace
}  // namespace signet::cms
