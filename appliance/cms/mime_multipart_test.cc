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
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(SplitMultipartTest, ReturnsTheExactBytesOfEachPiece) {
  const std::string body =
      "This is the preamble.\r\n"
      "--b1\r\n"
      "Content-Type: text/plain\r\n\r\nfirst\r\n"
      "--b1\r\n"
      "second line 1\r\nline 2\r\n\r\n"
      "--b1--\r\n"
      "epilogue\r\n";
  absl::StatusOr<Multipart> multipart = SplitMultipart(body, "b1", Limits{});
  ASSERT_THAT(multipart, IsOk());
  EXPECT_EQ(multipart->preamble, "This is the preamble.");
  // The line break before each delimiter belongs to the delimiter; the
  // empty line at the end of the second part is its content.
  EXPECT_THAT(multipart->parts,
              ElementsAre("Content-Type: text/plain\r\n\r\nfirst", "second line 1\r\nline 2\r\n"));
  EXPECT_EQ(multipart->epilogue, "epilogue\r\n");
  EXPECT_TRUE(Within(multipart->preamble, body));
  for (absl::string_view part : multipart->parts) EXPECT_TRUE(Within(part, body));
  EXPECT_TRUE(Within(multipart->epilogue, body));
  EXPECT_EQ(multipart->parts[0].data(), body.data() + body.find("Content-Type"));
}

TEST(SplitMultipartTest, AcceptsLfOnlyAndMixedLineBreaks) {
  const std::string body = "pre\n--b\nA\r\nB\n--b\r\nC\r\r\n--b--\nepi";
  absl::StatusOr<Multipart> multipart = SplitMultipart(body, "b", Limits{});
  ASSERT_THAT(multipart, IsOk());
  EXPECT_EQ(multipart->preamble, "pre");
  // A CR that is not part of the last line break stays in the part.
  EXPECT_THAT(multipart->parts, ElementsAre("A\r\nB", "C\r"));
  EXPECT_EQ(multipart->epilogue, "epi");
}

TEST(SplitMultipartTest, NoPreambleAndNoEpilogue) {
  const std::string body = "--b\r\nx\r\n--b--";
  absl::StatusOr<Multipart> multipart = SplitMultipart(body, "b", Limits{});
  ASSERT_THAT(multipart, IsOk());
  EXPECT_EQ(multipart->preamble, "");
  EXPECT_TRUE(Within(multipart->preamble, body));
  EXPECT_THAT(multipart->parts, ElementsAre("x"));
  EXPECT_EQ(multipart->epilogue, "");
  EXPECT_TRUE(Within(multipart->epilogue, body));
}

TEST(SplitMultipartTest, EmptyPreambleLineAndEmptyParts) {
  absl::StatusOr<Multipart> multipart =
      SplitMultipart("\r\n--b\r\n--b\r\n\r\n--b--\r\n", "b", Limits{});
  ASSERT_THAT(multipart, IsOk());
  EXPECT_EQ(multipart->preamble, "");
  EXPECT_THAT(multipart->parts, ElementsAre("", ""));
}

TEST(SplitMultipartTest, AllowsTransportPaddingAfterDelimiters) {
  absl::StatusOr<Multipart> multipart =
      SplitMultipart("--b \t\r\none\r\n--b\t\ntwo\n--b--  \r\nepi", "b", Limits{});
  ASSERT_THAT(multipart, IsOk());
  EXPECT_THAT(multipart->parts, ElementsAre("one", "two"));
  EXPECT_EQ(multipart->epilogue, "epi");
}

TEST(SplitMultipartTest, ABoundaryPrefixOfALongerLineIsContent) {
  const std::string body =
      "--abc\r\n"
      "--abcd\r\n"
      "--abc-\r\n"
      "--abc--x\r\n"
      "--abc x\r\n"
      " --abc\r\n"
      "text --abc\r\n"
      "-abc\r\n"
      "--ab\r\n"
      "--abc--\r\n";
  absl::StatusOr<Multipart> multipart = SplitMultipart(body, "abc", Limits{});
  ASSERT_THAT(multipart, IsOk());
  EXPECT_THAT(multipart->parts, ElementsAre("--abcd\r\n--abc-\r\n--abc--x\r\n--abc x\r\n --abc\r\n"
                                            "text --abc\r\n-abc\r\n--ab"));
}

TEST(SplitMultipartTest, BoundaryCharactersAreTakenLiterally) {
  // Characters that mean something to regular expressions or printf.
  const std::string boundary = "'()+_,-./:=? %s.*";
  const std::string body = absl::StrCat("--", boundary, "\r\nx\r\n--", boundary, "--\r\n");
  absl::StatusOr<Multipart> multipart = SplitMultipart(body, boundary, Limits{});
  ASSERT_THAT(multipart, IsOk());
  EXPECT_THAT(multipart->parts, ElementsAre("x"));
}

TEST(SplitMultipartTest, IgnoresDelimitersInTheEpilogue) {
  absl::StatusOr<Multipart> multipart =
      SplitMultipart("--b\r\nx\r\n--b--\r\n--b\r\ny\r\n--b--\r\n", "b", Limits{});
  ASSERT_THAT(multipart, IsOk());
  EXPECT_THAT(multipart->parts, ElementsAre("x"));
  EXPECT_EQ(multipart->epilogue, "--b\r\ny\r\n--b--\r\n");
}

TEST(SplitMultipartTest, RequiresTheClosingDelimiter) {
  EXPECT_THAT(SplitMultipart("--b\r\nx\r\n--b\r\ny\r\n", "b", Limits{}),
              InvalidArgumentWith("multipart boundary \"b\": no closing delimiter line"));
  EXPECT_THAT(SplitMultipart("--b\r\nx\r\n--b-\r\n", "b", Limits{}),
              InvalidArgumentWith("no closing delimiter line"));
}

TEST(SplitMultipartTest, RequiresAnOpeningDelimiter) {
  EXPECT_THAT(SplitMultipart("just text\r\n--bb\r\n", "b", Limits{}),
              InvalidArgumentWith("multipart boundary \"b\": no delimiter line in the body"));
  EXPECT_THAT(SplitMultipart("", "b", Limits{}), InvalidArgumentWith("no delimiter line"));
  EXPECT_THAT(SplitMultipart("pre\r\n--b--\r\n", "b", Limits{}),
              InvalidArgumentWith("closing delimiter before any part"));
}

TEST(SplitMultipartTest, LimitsTheNumberOfParts) {
  Limits limits;
  limits.max_parts = 3;
  EXPECT_THAT(SplitMultipart("--b\n1\n--b\n2\n--b\n3\n--b--\n", "b", limits), IsOk());
  EXPECT_THAT(SplitMultipart("--b\n1\n--b\n2\n--b\n3\n--b\n4\n--b--\n", "b", limits),
              InvalidArgumentWith("multipart boundary \"b\": more than 3 parts"));
}

TEST(SplitMultipartTest, LimitsTheSize) {
  Limits limits;
  limits.max_message_bytes = 12;
  EXPECT_THAT(SplitMultipart("--b\nx\n--b--", "b", limits), IsOk());
  EXPECT_THAT(SplitMultipart("--b\nxyz\n--b--", "b", limits),
              InvalidArgumentWith("multipart body of 13 bytes is larger than the limit of 12"));
}

TEST(SplitMultipartTest, RejectsInvalidBoundaries) {
  const std::string body = "--b\r\nx\r\n--b--\r\n";
  EXPECT_THAT(SplitMultipart(body, "", Limits{}),
              InvalidArgumentWith("multipart boundary is empty"));
  const std::string longest(70, 'x');
  EXPECT_THAT(
      SplitMultipart(absl::StrCat("--", longest, "\nx\n--", longest, "--\n"), longest, Limits{}),
      IsOk());
  absl::StatusOr<Multipart> too_long = SplitMultipart(body, std::string(71, 'x'), Limits{});
  EXPECT_THAT(too_long, InvalidArgumentWith("is 71 characters long (at most 70 allowed)"));
  // Only a few dozen bytes of anything from the input appear in an error.
  EXPECT_THAT(std::string(too_long.status().message()), Not(HasSubstr(std::string(41, 'x'))));
  EXPECT_THAT(SplitMultipart(body, "a\nb", Limits{}),
              InvalidArgumentWith("multipart boundary \"a\\nb\" contains byte 0x0a"));
  EXPECT_THAT(SplitMultipart(body, "b ", Limits{}), InvalidArgumentWith("ends in a space"));
}

}  // namespace
}  // namespace signet::cms
