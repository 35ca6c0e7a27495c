#include "appliance/cms/mail_parts.h"

#include "absl/strings/str_cat.h"
#include "appliance/cms/mime.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MailPartsTest, MessageFieldsStayOutsideAndContentFieldsGoInside) {
  const std::string mail =
      "Received: from relay\r\n"
      "From: a@bank.example\r\n"
      "To: b@example.org\r\n"
      "Subject: folded\r\n"
      " subject line\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Message-ID: <1@bank.example>\r\n"
      "content-transfer-encoding: 7bit\r\n"
      "\r\n"
      "Hello.\r\n";
  absl::StatusOr<MailParts> parts = SplitMail(mail, Limits{});
  ASSERT_THAT(parts, IsOk());
  EXPECT_EQ(parts->outer_headers,
            "Received: from relay\r\n"
            "From: a@bank.example\r\n"
            "To: b@example.org\r\n"
            "Subject: folded\r\n"
            " subject line\r\n"
            "Message-ID: <1@bank.example>\r\n");
  EXPECT_EQ(parts->entity,
            "Content-Type: text/plain; charset=utf-8\r\n"
            "content-transfer-encoding: 7bit\r\n"
            "\r\n"
            "Hello.\r\n");
  EXPECT_EQ(JoinMail(parts->outer_headers, parts->entity),
            absl::StrCat(parts->outer_headers, "MIME-Version: 1.0\r\n", parts->entity));
}

TEST(MailPartsTest, LineEndingsBecomeCrlf) {
  absl::StatusOr<MailParts> parts =
      SplitMail("From: a@bank.example\nContent-Type: text/plain\n\nline 1\nline 2\n", Limits{});
  ASSERT_THAT(parts, IsOk());
  EXPECT_EQ(parts->outer_headers, "From: a@bank.example\r\n");
  EXPECT_EQ(parts->entity, "Content-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n");
}

TEST(MailPartsTest, MissingContentTypeIsWrittenOut) {
  absl::StatusOr<MailParts> parts = SplitMail("From: a@bank.example\r\n\r\nHi\r\n", Limits{});
  ASSERT_THAT(parts, IsOk());
  EXPECT_EQ(parts->entity, "Content-Type: text/plain; charset=us-ascii\r\n\r\nHi\r\n");
}

TEST(MailPartsTest, EightBitBodyIsReencodedAsBase64) {
  const std::string body =
      "Gr\xc3\xbc\xc3\x9f"
      "e\nzweite Zeile\n";
  absl::StatusOr<MailParts> parts =
      SplitMail(absl::StrCat("From: a@bank.example\r\n"
                             "Content-Type: text/plain; charset=utf-8\r\n"
                             "Content-Transfer-Encoding: 8bit\r\n\r\n",
                             body),
                Limits{});
  ASSERT_THAT(parts, IsOk());
  EXPECT_THAT(parts->entity, Not(HasSubstr("8bit")));
  absl::StatusOr<MimeEntity> entity = ParseEntity(parts->entity, Limits{});
  ASSERT_THAT(entity, IsOk());
  ASSERT_NE(entity->Find("Content-Transfer-Encoding"), nullptr);
  EXPECT_EQ(entity->Find("Content-Transfer-Encoding")->value, "base64");
  EXPECT_EQ(entity->Find("Content-Type")->value, "text/plain; charset=utf-8");
  // Text is encoded in its canonical form.
  absl::StatusOr<std::string> decoded = Base64Decode(entity->body);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(*decoded,
            "Gr\xc3\xbc\xc3\x9f"
            "e\r\nzweite Zeile\r\n");
}

TEST(MailPartsTest, OverlongLinesAreReencodedButSevenBitTextIsNot) {
  const std::string long_line(1200, 'a');
  absl::StatusOr<MailParts> parts =
      SplitMail(absl::StrCat("Content-Type: text/plain\r\n\r\n", long_line, "\r\n"), Limits{});
  ASSERT_THAT(parts, IsOk());
  EXPECT_THAT(parts->entity, HasSubstr("Content-Transfer-Encoding: base64"));
  parts = SplitMail("Content-Type: text/plain\r\n\r\nshort\r\n", Limits{});
  ASSERT_THAT(parts, IsOk());
  EXPECT_THAT(parts->entity, Not(HasSubstr("base64")));
}

TEST(MailPartsTest, MultipartBodiesAreKeptAsTheyAre) {
  const std::string entity =
      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\npart\r\n--b--\r\n";
  absl::StatusOr<MailParts> parts = SplitMail(absl::StrCat("From: x@y\r\n", entity), Limits{});
  ASSERT_THAT(parts, IsOk());
  EXPECT_EQ(parts->entity, entity);
}

TEST(MailPartsTest, LimitsAreEnforced) {
  Limits limits;
  limits.max_message_bytes = 10;
  absl::StatusOr<MailParts> parts = SplitMail("Content-Type: text/plain\r\n\r\nx\r\n", limits);
  EXPECT_EQ(parts.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parts.status().message(), HasSubstr("over the limit of 10 bytes"));
  parts = SplitMail("not a header line\r\n\r\nbody", Limits{});
  EXPECT_EQ(parts.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace signet::cms
