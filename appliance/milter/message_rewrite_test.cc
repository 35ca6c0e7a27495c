#include "appliance/milter/message_rewrite.h"

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::milter {
namespace {

using ::signet::matchers::IsOkAndHolds;
using ::signet::matchers::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

}  // namespace

void PrintTo(const HeaderField& field, std::ostream* os) {
  *os << "{" << field.name << ": " << field.value << "}";
}

void PrintTo(const HeaderChange& change, std::ostream* os) {
  static constexpr const char* kKinds[] = {"delete", "add", "change"};
  *os << "{" << kKinds[change.kind] << " " << change.name << " #" << change.index << " "
      << change.value << "}";
}

namespace {

HeaderChange Delete(const std::string& name, int index) {
  return {HeaderChange::kDelete, name, index, ""};
}
HeaderChange Change(const std::string& name, int index, const std::string& value) {
  return {HeaderChange::kChange, name, index, value};
}
HeaderChange Add(const std::string& name, const std::string& value) {
  return {HeaderChange::kAdd, name, 0, value};
}

// Applies `changes` to `fields` the way an MTA does, deleted fields no
// longer counted, so that the tests check the result, not just the steps.
std::vector<HeaderField> Apply(std::vector<HeaderField> fields,
                               const std::vector<HeaderChange>& changes) {
  for (const HeaderChange& change : changes) {
    if (change.kind == HeaderChange::kAdd) {
      fields.push_back({change.name, change.value});
      continue;
    }
    int seen = 0;
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      if (!absl::EqualsIgnoreCase(it->name, change.name) || ++seen != change.index) continue;
      if (change.kind == HeaderChange::kDelete) {
        fields.erase(it);
      } else {
        *it = {change.name, change.value};
      }
      break;
    }
    EXPECT_EQ(seen, change.index) << "no field " << change.name << " #" << change.index;
  }
  return fields;
}

const std::vector<HeaderField> kPlainMail = {
    {"Received", "from a by b;\n\tSun, 6 Dec 2026 01:00:00 +0000"},
    {"From", "Statements <statements@bank.example>"},
    {"To", "customer@example.com"},
    {"Subject", "Your statement"},
    {"Date", "Sun, 6 Dec 2026 01:00:00 +0000"},
    {"Message-ID", "<1@bank.example>"},
    {"MIME-Version", "1.0"},
    {"Content-Type", "text/plain; charset=utf-8"},
    {"Content-Transfer-Encoding", "8bit"},
};

constexpr char kSigned[] =
    "From: Statements <statements@bank.example>\r\n"
    "To: someone-else@example.com\r\n"
    "Subject: rewritten by signetd, ignored\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"
    "\tmicalg=sha-256; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Hello\r\n"
    "--b1--\r\n";

TEST(ComputeRewriteTest, ReplacesOnlyTheMimeFieldsAndTheBody) {
  ASSERT_OK_AND_ASSIGN(Rewrite rewrite, ComputeRewrite(kPlainMail, kSigned));
  EXPECT_THAT(rewrite.header_changes,
              ElementsAre(Delete("Content-Transfer-Encoding", 1), Change("MIME-Version", 1, "1.0"),
                          Change("Content-Type", 1,
                                 "multipart/signed; protocol=\"application/pkcs7-signature\";\n"
                                 "\tmicalg=sha-256; boundary=\"b1\"")));
  EXPECT_EQ(rewrite.body, "--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n--b1--\r\n");
  const std::vector<HeaderField> result = Apply(kPlainMail, rewrite.header_changes);
  EXPECT_EQ(result[1], kPlainMail[1]);
  EXPECT_EQ(result[2], kPlainMail[2]);
  EXPECT_EQ(result[3], kPlainMail[3]);
  EXPECT_EQ(result.size(), kPlainMail.size() - 1);
}

TEST(ComputeRewriteTest, DeletesRepeatedFieldsHighestIndexFirst) {
  const std::vector<HeaderField> original = {
      {"content-type", "text/plain"}, {"X-Other", "kept"},   {"Content-Type", "text/html"},
      {"CONTENT-TYPE", "image/png"},  {"Content-ID", "<x>"}, {"Content-Disposition", "inline"},
      {"Content-ID", "<y>"},
  };
  ASSERT_OK_AND_ASSIGN(
      Rewrite rewrite,
      ComputeRewrite(original,
                     "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\n"
                     "Content-Transfer-Encoding: base64\n"
                     "Content-Disposition: attachment; filename=smime.p7m\n"
                     "\n"
                     "MIIB\n"));
  EXPECT_THAT(
      rewrite.header_changes,
      ElementsAre(Delete("content-type", 3), Delete("content-type", 2), Delete("Content-ID", 2),
                  Delete("Content-ID", 1),
                  Change("Content-Type", 1, "application/pkcs7-mime; smime-type=enveloped-data"),
                  Change("Content-Disposition", 1, "attachment; filename=smime.p7m"),
                  Add("MIME-Version", "1.0"), Add("Content-Transfer-Encoding", "base64")));
  // A body with LF alone is given to the MTA with CRLF.
  EXPECT_EQ(rewrite.body, "MIIB\r\n");
  EXPECT_THAT(
      Apply(original, rewrite.header_changes),
      ElementsAre(HeaderField{"Content-Type", "application/pkcs7-mime; smime-type=enveloped-data"},
                  HeaderField{"X-Other", "kept"},
                  HeaderField{"Content-Disposition", "attachment; filename=smime.p7m"},
                  HeaderField{"MIME-Version", "1.0"},
                  HeaderField{"Content-Transfer-Encoding", "base64"}));
}

TEST(ComputeRewriteTest, AddsToAMailWithoutMimeFields) {
  const std::vector<HeaderField> original = {{"From", "a@bank.example"}, {"Subject", "hi"}};
  ASSERT_OK_AND_ASSIGN(Rewrite rewrite,
                       ComputeRewrite(original,
                                      "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
                                      "\r\n"));
  EXPECT_THAT(rewrite.header_changes,
              ElementsAre(Add("MIME-Version", "1.0"), Add("Content-Type", "text/plain")));
  EXPECT_EQ(rewrite.body, "");
}

TEST(ComputeRewriteTest, KeepsTheMailMime) {
  // An original MIME-Version is changed in place, not deleted, when the
  // output forgot it.
  const std::vector<HeaderField> original = {{"Mime-Version", "1.0 (Produced by X)"},
                                             {"Content-Type", "text/plain"}};
  ASSERT_OK_AND_ASSIGN(Rewrite rewrite,
                       ComputeRewrite(original, "Content-Type: application/pkcs7-mime\r\n\r\n"));
  EXPECT_THAT(Apply(original, rewrite.header_changes),
              ElementsAre(HeaderField{"MIME-Version", "1.0"},
                          HeaderField{"Content-Type", "application/pkcs7-mime"}));
}

TEST(ComputeRewriteTest, KeepsTheBodyBytesAndEmptyLinesInIt) {
  ASSERT_OK_AND_ASSIGN(Rewrite rewrite,
                       ComputeRewrite({}, "Content-Type: text/plain\r\n\r\n\r\n\xc3\xa9\r\n\r\n"));
  EXPECT_EQ(rewrite.body, "\r\n\xc3\xa9\r\n\r\n");
}

TEST(ComputeRewriteTest, RefusesOutputThatIsNotAMail) {
  EXPECT_THAT(ComputeRewrite(kPlainMail, "Content-Type: text/plain\r\nno blank line"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no blank line")));
  EXPECT_THAT(ComputeRewrite(kPlainMail, ""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ComputeRewrite(kPlainMail, "Subject: x\r\n\r\nbody"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no Content-Type")));
  EXPECT_THAT(ComputeRewrite(kPlainMail, "\r\nbody"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no Content-Type")));
  EXPECT_THAT(ComputeRewrite(kPlainMail, "Content-Type: text/plain\r\nnot a field\r\n\r\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2 is not a field")));
  EXPECT_THAT(ComputeRewrite(kPlainMail, " folded: first\r\n\r\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("continuation")));
}

TEST(ParseHeaderBlockTest, FieldsAndFolding) {
  EXPECT_THAT(
      ParseHeaderBlock("A: 1\r\nB:2\r\n  more\r\n\tand more\r\nC:\r\nD:   \t x \r\n"),
      IsOkAndHolds(ElementsAre(HeaderField{"A", "1"}, HeaderField{"B", "2\n  more\n\tand more"},
                               HeaderField{"C", ""}, HeaderField{"D", "x "})));
  EXPECT_THAT(ParseHeaderBlock("Bad Name: x\r\n"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseHeaderBlock(": x\r\n"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(IsMimeFieldTest, ContentStarAndMimeVersion) {
  EXPECT_TRUE(IsMimeField("Content-Type"));
  EXPECT_TRUE(IsMimeField("content-transfer-encoding"));
  EXPECT_TRUE(IsMimeField("MIME-version"));
  EXPECT_FALSE(IsMimeField("Content"));
  EXPECT_FALSE(IsMimeField("X-Content-Type"));
  EXPECT_FALSE(IsMimeField("Subject"));
}

TEST(AssembleMessageTest, CrlfEverywhere) {
  EXPECT_EQ(AssembleMessage({{"From", "a@bank.example"},
                             {"Subject", "one\n two"},
                             {"X-Crlf", "a\r\n\tb"},
                             {"X-Empty", ""}},
                            "line 1\r\nline 2\r\n"),
            "From: a@bank.example\r\n"
            "Subject: one\r\n two\r\n"
            "X-Crlf: a\r\n\tb\r\n"
            "X-Empty: \r\n"
            "\r\n"
            "line 1\r\nline 2\r\n");
  EXPECT_EQ(AssembleMessage({}, ""), "\r\n");
}

TEST(AssembleMessageTest, RoundTripsThroughTheRewrite) {
  // signetd returning the mail unchanged changes nothing but the MIME fields'
  // spelling: ComputeRewrite reads what AssembleMessage writes.
  const std::string message = AssembleMessage(kPlainMail, "Hello\r\n");
  ASSERT_OK_AND_ASSIGN(Rewrite rewrite, ComputeRewrite(kPlainMail, message));
  EXPECT_EQ(Apply(kPlainMail, rewrite.header_changes), kPlainMail);
  EXPECT_EQ(rewrite.body, "Hello\r\n");
}

}  // namespace
}  // namespace signet::milter
