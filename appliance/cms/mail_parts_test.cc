#include "appliance/cms/mail_parts.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
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

// The byte-at-a-time check SplitMail used before it went a line at a time.
bool ReferenceSevenBitSafe(absl::string_view body) {
  size_t line_length = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(body[i]);
    if (c == 0 || c > 127) return false;
    if (c == '\r') {
      if (i + 1 >= body.size() || body[i + 1] != '\n') return false;
      continue;
    }
    if (c == '\n') {
      line_length = 0;
      continue;
    }
    if (++line_length > 998) return false;
  }
  return true;
}

bool Reencoded(absl::string_view body) {
  absl::StatusOr<MailParts> parts =
      SplitMail(absl::StrCat("Content-Type: text/plain\r\n\r\n", body), Limits{});
  EXPECT_THAT(parts, IsOk());
  return parts.ok() && absl::StrContains(parts->entity, "Content-Transfer-Encoding: base64");
}

TEST(MailPartsTest, SevenBitDecisionAtEveryEdge) {
  for (absl::string_view end : {"", "\n", "\r\n"}) {
    EXPECT_FALSE(Reencoded(absl::StrCat(std::string(998, 'a'), end))) << absl::CHexEscape(end);
    EXPECT_TRUE(Reencoded(absl::StrCat(std::string(999, 'a'), end))) << absl::CHexEscape(end);
    EXPECT_FALSE(Reencoded(absl::StrCat("x\n", std::string(998, 'a'), end)))
        << absl::CHexEscape(end);
  }
  EXPECT_TRUE(Reencoded("ends in a lone CR\r"));
  EXPECT_TRUE(Reencoded("CR CR LF\r\r\n"));
  // Each bad byte at each place in an 8-byte word and in the tail.
  for (size_t at = 0; at < 19; ++at) {
    for (char bad : {'\0', '\x80', '\xff', '\r'}) {
      std::string body(19, 'b');
      body[at] = bad;
      body += "b\n";  // a CR at the end would be a line break
      EXPECT_EQ(Reencoded(body), !ReferenceSevenBitSafe(body)) << at << " " << int{bad};
      EXPECT_TRUE(Reencoded(body)) << at << " " << int{bad};
    }
  }
  uint32_t seed = 1;
  for (int round = 0; round < 3000; ++round) {
    std::string body(static_cast<size_t>(round % 61), 'q');
    for (char& c : body) {
      seed = seed * 1664525u + 1013904223u;
      const char kDrawn[] = {'a', 'b', '\r', '\n', '\n', '\x80', '\0', 'c', 'd', 'e', 'f'};
      c = kDrawn[(seed >> 16) % sizeof kDrawn];
    }
    EXPECT_EQ(Reencoded(body), !ReferenceSevenBitSafe(body)) << absl::CHexEscape(body);
  }
}

// The check goes 32 bytes at a time with AVX2, else sixteen: every bad
// byte, CR and line break at every place of two blocks and across them, and
// lines at the limit ending anywhere in one.
TEST(MailPartsTest, SevenBitDecisionAcrossBlocks) {
  for (size_t at = 0; at < 72; ++at) {
    for (char bad : {'\0', '\x80', '\xff', '\r'}) {
      std::string body(72, 'b');
      body[at] = bad;
      body += "b\n";
      EXPECT_TRUE(Reencoded(body)) << at << " " << int{bad};
    }
    // A CRLF straddling two blocks, or not.
    std::string crlf(72, 'b');
    crlf.replace(at, 2, "\r\n");
    EXPECT_EQ(Reencoded(crlf), !ReferenceSevenBitSafe(crlf)) << at;
  }
  for (size_t before = 0; before < 36; ++before) {
    for (absl::string_view end : {"\n", "\r\n"}) {
      const std::string at_limit =
          absl::StrCat(std::string(before, 'x'), "\n", std::string(998, 'a'), end, "tail");
      EXPECT_FALSE(Reencoded(at_limit)) << before << absl::CHexEscape(end);
      const std::string over =
          absl::StrCat(std::string(before, 'x'), "\n", std::string(999, 'a'), end, "tail");
      EXPECT_TRUE(Reencoded(over)) << before << absl::CHexEscape(end);
    }
  }
  uint32_t seed = 7;
  for (int round = 0; round < 2000; ++round) {
    std::string body(static_cast<size_t>(round % 300), 'q');
    for (char& c : body) {
      seed = seed * 1664525u + 1013904223u;
      // Mostly text, so that many bodies pass and their counts are compared.
      const uint32_t draw = (seed >> 16) % 100;
      c = draw < 80 ? 'a' : draw < 88 ? '\n' : draw < 96 ? '\r' : draw < 98 ? '\x80' : '\0';
      if (c == '\r' && (seed >> 8) % 4 != 0) c = '\n';
    }
    // Most CRs before a LF, as mail has them.
    for (size_t i = 0; i + 1 < body.size(); ++i) {
      if (body[i] == '\r' && (i * 7 + static_cast<size_t>(round)) % 3 != 0) body[i + 1] = '\n';
    }
    EXPECT_EQ(Reencoded(body), !ReferenceSevenBitSafe(body)) << absl::CHexEscape(body);
    if (ReferenceSevenBitSafe(body)) {
      absl::StatusOr<SplitPlan> plan =
          PlanSplit(absl::StrCat("Content-Type: text/plain\r\n\r\n", body), Limits{});
      ASSERT_THAT(plan, IsOk());
      size_t bare = 0;
      for (size_t i = 0; i < body.size(); ++i) {
        bare += body[i] == '\n' && (i == 0 || body[i - 1] != '\r');
      }
      EXPECT_EQ(plan->bare_line_feeds, bare) << absl::CHexEscape(body);
    }
  }
}

TEST(MailPartsTest, PlanAndAppendEntityWriteWhatSplitMailReturns) {
  const std::vector<std::string> mails = {
      "From: a@bank.example\nSubject: s\nContent-Type: text/plain\n\nline\nline\r\n",
      "From: a@bank.example\r\nMIME-Version: 1.0\r\n\r\n\nbody starts with a break\n",
      "Subject: eight\nContent-Type: text/plain; charset=utf-8\n\nGr\xc3\xbc\xc3\x9f\n",
      "Content-Type: application/octet-stream\n\n\x01\x02\r\x00\xff",
      "Content-Type: multipart/mixed; boundary=b\n\n--b\n\npart\n--b--\n",
      "To: x@y.example\n",
  };
  for (const std::string& mail : mails) {
    absl::StatusOr<MailParts> parts = SplitMail(mail, Limits{});
    ASSERT_THAT(parts, IsOk()) << absl::CHexEscape(mail);
    absl::StatusOr<SplitPlan> plan = PlanSplit(mail, Limits{});
    ASSERT_THAT(plan, IsOk()) << absl::CHexEscape(mail);
    EXPECT_EQ(plan->outer_headers, parts->outer_headers);
    std::string out = "head";
    ASSERT_THAT(AppendEntity(*plan, Limits{}, &out), IsOk());
    EXPECT_EQ(out, "head" + parts->entity) << absl::CHexEscape(mail);
    EXPECT_GE(EntitySizeBound(*plan), parts->entity.size()) << absl::CHexEscape(mail);
    std::string joined;
    AppendMailHead(parts->outer_headers, &joined);
    joined += parts->entity;
    EXPECT_EQ(joined, JoinMail(parts->outer_headers, parts->entity));
  }
}

// A 7-bit leaf body's bare line feeds are counted by the plan (a byte at a
// time here), the size bound is then exact, and the body is written as its
// CRLF form, whether it needed any CR (AppendCrlf) or none (copied whole).
TEST(MailPartsTest, TheCountedBareLineFeedsMakeTheBoundExactAndTheBodyCrlf) {
  const std::vector<std::string> bodies = {
      "line\r\nline\r\n",
      "line\nline\n",
      "\n\nlines\r\n\n",
      "no break at the end",
      "mixed\r\nends\nhere\r\n",
      "\r\n",
      "",
      "last line\r\nno break",
  };
  for (const std::string& body : bodies) {
    const std::string mail = "From: a@bank.example\r\nContent-Type: text/plain\r\n\r\n" + body;
    absl::StatusOr<SplitPlan> plan = PlanSplit(mail, Limits{});
    ASSERT_THAT(plan, IsOk()) << absl::CHexEscape(body);
    size_t bare = 0;
    for (size_t i = 0; i < body.size(); ++i)
      bare += body[i] == '\n' && (i == 0 || body[i - 1] != '\r');
    ASSERT_TRUE(plan->bare_line_feeds.has_value()) << absl::CHexEscape(body);
    EXPECT_EQ(*plan->bare_line_feeds, bare) << absl::CHexEscape(body);
    std::string entity;
    ASSERT_THAT(AppendEntity(*plan, Limits{}, &entity), IsOk());
    EXPECT_EQ(entity, "Content-Type: text/plain\r\n\r\n" + ToCrlf(body)) << absl::CHexEscape(body);
    EXPECT_EQ(EntitySizeBound(*plan), entity.size()) << absl::CHexEscape(body);
  }
  // Not counted where the body is not written as it is.
  absl::StatusOr<SplitPlan> multipart =
      PlanSplit("Content-Type: multipart/mixed; boundary=b\n\n--b\n\npart\n--b--\n", Limits{});
  ASSERT_THAT(multipart, IsOk());
  EXPECT_FALSE(multipart->bare_line_feeds.has_value());
}

TEST(MailPartsTest, AppendEntityChecksTheMimeStructure) {
  const std::string mail = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nno close\n";
  EXPECT_FALSE(SplitMail(mail, Limits{}).ok());
  absl::StatusOr<SplitPlan> plan = PlanSplit(mail, Limits{});
  ASSERT_THAT(plan, IsOk());
  std::string out;
  EXPECT_EQ(AppendEntity(*plan, Limits{}, &out), SplitMail(mail, Limits{}).status());
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
