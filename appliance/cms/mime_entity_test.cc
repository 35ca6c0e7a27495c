#include <string>

#include "absl/strings/str_cat.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/mime_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;

using ::signet::cms::mime_testing::InvalidArgumentWith;
using ::signet::cms::mime_testing::Within;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseEntityTest, SplitsHeadersAndBodyWithExactBytes) {
  const std::string text =
      "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n\r\nmore: not a field\r\n";
  absl::StatusOr<MimeEntity> entity = ParseEntity(text, Limits{});
  ASSERT_THAT(entity, IsOk());
  ASSERT_EQ(entity->headers.size(), 2u);
  EXPECT_EQ(entity->headers[0].name, "From");
  EXPECT_EQ(entity->headers[0].value, "a@example.org");
  EXPECT_EQ(entity->headers[0].raw, "From: a@example.org\r\n");
  EXPECT_EQ(entity->headers[1].name, "Subject");
  EXPECT_EQ(entity->headers[1].value, "hi");
  EXPECT_EQ(entity->headers[1].raw, "Subject: hi\r\n");
  EXPECT_EQ(entity->header_block, "From: a@example.org\r\nSubject: hi\r\n");
  EXPECT_EQ(entity->body, "body\r\n\r\nmore: not a field\r\n");
  EXPECT_TRUE(Within(entity->header_block, text));
  EXPECT_TRUE(Within(entity->body, text));
  EXPECT_TRUE(Within(entity->headers[1].raw, text));
}

TEST(ParseEntityTest, UnfoldsFoldedFieldsKeepingTheWhitespace) {
  const std::string text =
      "Content-Type: multipart/signed;\r\n protocol=\"application/pkcs7-signature\";\r\n"
      "\tboundary=b\r\nX: y\r\n\r\n";
  absl::StatusOr<MimeEntity> entity = ParseEntity(text, Limits{});
  ASSERT_THAT(entity, IsOk());
  ASSERT_EQ(entity->headers.size(), 2u);
  EXPECT_EQ(entity->headers[0].value,
            "multipart/signed; protocol=\"application/pkcs7-signature\";\tboundary=b");
  EXPECT_EQ(entity->headers[0].raw,
            "Content-Type: multipart/signed;\r\n protocol=\"application/pkcs7-signature\";\r\n"
            "\tboundary=b\r\n");
  EXPECT_EQ(entity->headers[1].value, "y");
  EXPECT_EQ(entity->body, "");
}

TEST(ParseEntityTest, AcceptsLfOnlyLines) {
  const std::string text = "A: 1\nB: two\n  folded\n\nbody\nline\n";
  absl::StatusOr<MimeEntity> entity = ParseEntity(text, Limits{});
  ASSERT_THAT(entity, IsOk());
  ASSERT_EQ(entity->headers.size(), 2u);
  EXPECT_EQ(entity->headers[1].value, "two  folded");
  EXPECT_EQ(entity->headers[1].raw, "B: two\n  folded\n");
  EXPECT_EQ(entity->header_block, "A: 1\nB: two\n  folded\n");
  EXPECT_EQ(entity->body, "body\nline\n");
}

TEST(ParseEntityTest, LeadingEmptyLineMeansNoHeaders) {
  for (absl::string_view text : {"\r\nbody: text\r\n", "\nbody: text\r\n"}) {
    absl::StatusOr<MimeEntity> entity = ParseEntity(text, Limits{});
    ASSERT_THAT(entity, IsOk());
    EXPECT_TRUE(entity->headers.empty());
    EXPECT_EQ(entity->header_block, "");
    EXPECT_EQ(entity->body, "body: text\r\n");
  }
}

TEST(ParseEntityTest, NoEmptyLineMeansAllHeaders) {
  const std::string text = "A: 1\r\nB: 2";
  absl::StatusOr<MimeEntity> entity = ParseEntity(text, Limits{});
  ASSERT_THAT(entity, IsOk());
  ASSERT_EQ(entity->headers.size(), 2u);
  EXPECT_EQ(entity->headers[1].value, "2");
  EXPECT_EQ(entity->headers[1].raw, "B: 2");
  EXPECT_EQ(entity->header_block, text);
  EXPECT_EQ(entity->body, "");
  EXPECT_TRUE(Within(entity->body, text));
}

TEST(ParseEntityTest, EmptyTextIsAnEmptyEntity) {
  absl::StatusOr<MimeEntity> entity = ParseEntity("", Limits{});
  ASSERT_THAT(entity, IsOk());
  EXPECT_TRUE(entity->headers.empty());
  EXPECT_EQ(entity->body, "");
}

TEST(ParseEntityTest, TrimsValuesAndKeepsColonsInThem) {
  absl::StatusOr<MimeEntity> entity = ParseEntity("A:x\r\nB:  \t b: c \t\r\nC:\r\n\r\n", Limits{});
  ASSERT_THAT(entity, IsOk());
  ASSERT_EQ(entity->headers.size(), 3u);
  EXPECT_EQ(entity->headers[0].value, "x");
  EXPECT_EQ(entity->headers[1].value, "b: c");
  EXPECT_EQ(entity->headers[2].value, "");
}

TEST(ParseEntityTest, AcceptsObsoleteWhitespaceBeforeTheColon) {
  absl::StatusOr<MimeEntity> entity = ParseEntity("Subject \t: hi\r\n\r\n", Limits{});
  ASSERT_THAT(entity, IsOk());
  EXPECT_EQ(entity->headers[0].name, "Subject");
}

TEST(ParseEntityTest, RejectsALineThatIsNeitherFieldNorContinuation) {
  absl::StatusOr<MimeEntity> entity =
      ParseEntity("From: a\r\nthe secret statement\r\n\r\nbody", Limits{});
  EXPECT_THAT(entity, InvalidArgumentWith("header line 2 (after field \"From\") is neither"));
  // The offending line may be mail content: it is never quoted.
  EXPECT_THAT(std::string(entity.status().message()), Not(HasSubstr("secret")));
}

TEST(ParseEntityTest, RejectsAContinuationBeforeAnyField) {
  EXPECT_THAT(ParseEntity(" folded: x\r\n\r\n", Limits{}),
              InvalidArgumentWith("header line 1: continuation line"));
}

TEST(ParseEntityTest, RejectsBadFieldNames) {
  EXPECT_THAT(ParseEntity("A: 1\r\n: x\r\n\r\n", Limits{}),
              InvalidArgumentWith("header line 2 (after field \"A\"): empty field name"));
  EXPECT_THAT(ParseEntity("Sub ject: x\r\n\r\n", Limits{}),
              InvalidArgumentWith("header line 1: field name contains byte 0x20"));
  EXPECT_THAT(ParseEntity(std::string("Na\0me: x\r\n\r\n", 12), Limits{}),
              InvalidArgumentWith("field name contains byte 0x00"));
  EXPECT_THAT(ParseEntity("N\xc3\xa4me: x\r\n\r\n", Limits{}),
              InvalidArgumentWith("field name contains byte 0xc3"));
}

TEST(ParseEntityTest, LimitsTheNumberOfFields) {
  Limits limits;
  limits.max_header_fields = 3;
  EXPECT_THAT(ParseEntity("A: 1\r\nB: 2\r\nC: 3\r\n folded\r\n\r\n", limits), IsOk());
  EXPECT_THAT(ParseEntity("A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", limits),
              InvalidArgumentWith("more than 3 header fields (at line 4)"));
}

TEST(ParseEntityTest, LimitsTheSize) {
  Limits limits;
  limits.max_message_bytes = 10;
  EXPECT_THAT(ParseEntity("A: 1\r\n\r\nbo", limits), IsOk());
  EXPECT_THAT(ParseEntity("A: 1\r\n\r\nbod", limits),
              InvalidArgumentWith("MIME entity of 11 bytes is larger than the limit of 10 bytes"));
}

TEST(MimeEntityTest, FindIsCaseInsensitiveAndReturnsTheFirst) {
  absl::StatusOr<MimeEntity> entity =
      ParseEntity("content-TYPE: text/plain\r\nContent-Type: text/html\r\n\r\n", Limits{});
  ASSERT_THAT(entity, IsOk());
  const HeaderField* field = entity->Find("Content-Type");
  ASSERT_NE(field, nullptr);
  EXPECT_EQ(field->value, "text/plain");
  EXPECT_EQ(entity->Find("Content-Transfer-Encoding"), nullptr);
}

TEST(ParseEntityTest, LongBadFieldNameIsQuotedOnlyInPart) {
  const std::string name(500, 'N');
  absl::StatusOr<MimeEntity> entity =
      ParseEntity(absl::StrCat(name, ": v\r\nbad line\r\n\r\n"), Limits{});
  ASSERT_THAT(entity, Not(IsOk()));
  EXPECT_THAT(std::string(entity.status().message()), HasSubstr(std::string(40, 'N') + "\"..."));
  EXPECT_THAT(std::string(entity.status().message()), Not(HasSubstr(std::string(41, 'N'))));
}

}  // namespace
}  // namespace signet::cms
