#include <string>
#include <utility>
#include <vector>

#include "appliance/cms/mime.h"
#include "appliance/cms/mime_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;

using ::signet::cms::mime_testing::InvalidArgumentWith;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;
using ::testing::Pair;

TEST(ParseContentTypeTest, TypeAndSubtypeOnly) {
  absl::StatusOr<ContentType> type = ParseContentType("text/plain");
  ASSERT_THAT(type, IsOk());
  EXPECT_EQ(type->type, "text");
  EXPECT_EQ(type->subtype, "plain");
  EXPECT_TRUE(type->params.empty());
}

TEST(ParseContentTypeTest, LowerCasesTypeAndNamesButNotValues) {
  absl::StatusOr<ContentType> type = ParseContentType(
      "Multipart/SIGNED; Protocol=\"application/pkcs7-signature\"; MICALG=SHA-256; "
      "boundary=\"----=_Part_0_1.2\"");
  ASSERT_THAT(type, IsOk());
  EXPECT_EQ(type->type, "multipart");
  EXPECT_EQ(type->subtype, "signed");
  EXPECT_THAT(type->params,
              ElementsAre(Pair("protocol", "application/pkcs7-signature"),
                          Pair("micalg", "SHA-256"), Pair("boundary", "----=_Part_0_1.2")));
  EXPECT_TRUE(type->Is("MULTIPART", "Signed"));
  EXPECT_FALSE(type->Is("multipart", "mixed"));
  EXPECT_THAT(type->Param("Boundary"), Optional(std::string("----=_Part_0_1.2")));
  EXPECT_EQ(type->Param("charset"), std::nullopt);
}

TEST(ParseContentTypeTest, QuotedStringsWithEscapes) {
  absl::StatusOr<ContentType> type =
      ParseContentType(R"x(application/x; a="q\"uo\\te"; b="semi;colon (not a comment)"; c="")x");
  ASSERT_THAT(type, IsOk());
  EXPECT_THAT(type->params, ElementsAre(Pair("a", "q\"uo\\te"),
                                        Pair("b", "semi;colon (not a comment)"), Pair("c", "")));
}

TEST(ParseContentTypeTest, SkipsCommentsAndWhitespaceAndATrailingSemicolon) {
  absl::StatusOr<ContentType> type = ParseContentType(
      "  (lead) text (a) / (b) plain (nested (comment) with \\) paren) ;\r\n\t"
      "charset (c) = (d) \"utf-8\" (trailing) ; ");
  ASSERT_THAT(type, IsOk());
  EXPECT_EQ(type->type, "text");
  EXPECT_EQ(type->subtype, "plain");
  EXPECT_THAT(type->params, ElementsAre(Pair("charset", "utf-8")));
}

TEST(ParseContentTypeTest, KeepsDuplicateParametersFirstWins) {
  absl::StatusOr<ContentType> type =
      ParseContentType("multipart/mixed; boundary=one; Boundary=two");
  ASSERT_THAT(type, IsOk());
  EXPECT_THAT(type->params, ElementsAre(Pair("boundary", "one"), Pair("boundary", "two")));
  EXPECT_THAT(type->Param("boundary"), Optional(std::string("one")));
}

TEST(ParseContentTypeTest, AcceptsRfc2231ParameterNames) {
  absl::StatusOr<ContentType> type =
      ParseContentType("application/pdf; name*=utf-8''st%C3%A4tement.pdf; name*0=a");
  ASSERT_THAT(type, IsOk());
  EXPECT_THAT(type->params,
              ElementsAre(Pair("name*", "utf-8''st%C3%A4tement.pdf"), Pair("name*0", "a")));
}

TEST(ParseContentTypeTest, RejectsMalformedValues) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "expected a media type (at offset 0)"},
      {"  (only a comment)", "expected a media type (at offset 18)"},
      {"text", "expected '/' after the media type (at offset 4)"},
      {"text plain", "expected '/' after the media type (at offset 5)"},
      {"text/", "expected a subtype after '/' (at offset 5)"},
      {"/plain", "expected a media type"},
      {"te@xt/plain", "expected '/' after the media type (at offset 2)"},
      {"text/plain html", "expected ';' before a parameter (at offset 11)"},
      {"text/plain; =x", "expected a parameter name after ';' (at offset 12)"},
      {"text/plain;; a=b", "expected a parameter name after ';' (at offset 11)"},
      {"text/plain; charset", "expected '=' after parameter \"charset\" (at offset 19)"},
      {"text/plain; charset=", "expected a value for parameter \"charset\" (at offset 20)"},
      {"text/plain; charset=;", "expected a value for parameter \"charset\""},
      {"text/plain; charset=a b", "expected ';' before a parameter (at offset 22)"},
      {"text/plain; charset=\"utf-8", "unterminated quoted string (at offset 20)"},
      {"text/plain; charset=\"utf-8\\", "unterminated quoted string (at offset 20)"},
      {"text/plain (comment", "unterminated comment (at offset 11)"},
      {"text/plain ((nested)", "unterminated comment (at offset 11)"},
      {"text/plain (esc\\", "unterminated comment (at offset 11)"},
      {"text/pl\xc3\xa4in", "expected ';' before a parameter (at offset 7)"},
  };
  for (const auto& [value, message] : cases) {
    EXPECT_THAT(ParseContentType(value), InvalidArgumentWith("Content-Type: " + message)) << value;
  }
}

TEST(ParseContentTypeTest, ErrorsDoNotQuoteValues) {
  absl::StatusOr<ContentType> type = ParseContentType("text/plain; name=\"account 12345");
  ASSERT_THAT(type, Not(IsOk()));
  EXPECT_THAT(std::string(type.status().message()), Not(HasSubstr("12345")));
}

TEST(ContentTypeOfTest, DefaultsToUsAsciiText) {
  absl::StatusOr<MimeEntity> entity = ParseEntity("Subject: x\r\n\r\nbody", Limits{});
  ASSERT_THAT(entity, IsOk());
  absl::StatusOr<ContentType> type = ContentTypeOf(*entity);
  ASSERT_THAT(type, IsOk());
  EXPECT_TRUE(type->Is("text", "plain"));
  EXPECT_THAT(type->Param("charset"), Optional(std::string("us-ascii")));
}

TEST(ContentTypeOfTest, ParsesTheFoldedField) {
  absl::StatusOr<MimeEntity> entity = ParseEntity(
      "content-type: multipart/mixed;\r\n boundary=\"b 1\"\r\nContent-Type: text/plain\r\n\r\n",
      Limits{});
  ASSERT_THAT(entity, IsOk());
  absl::StatusOr<ContentType> type = ContentTypeOf(*entity);
  ASSERT_THAT(type, IsOk());
  EXPECT_TRUE(type->Is("multipart", "mixed"));
  EXPECT_THAT(type->Param("boundary"), Optional(std::string("b 1")));
}

TEST(ContentTypeOfTest, ReportsAnInvalidField) {
  absl::StatusOr<MimeEntity> entity = ParseEntity("Content-Type: text\r\n\r\n", Limits{});
  ASSERT_THAT(entity, IsOk());
  EXPECT_THAT(ContentTypeOf(*entity), InvalidArgumentWith("Content-Type: expected '/'"));
}

}  // namespace
}  // namespace signet::cms
