#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
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

// RFC 2046's splitting as the words say it, a line at a time: the
// reference the search for delimiter lines is held to.
struct ReferenceSplit {
  std::string preamble;
  std::vector<std::string> parts;
  std::string epilogue;
  bool operator==(const ReferenceSplit&) const = default;
};

std::optional<ReferenceSplit> SplitLineByLine(const std::string& body,
                                              const std::string& boundary) {
  // 0: not a delimiter, 1: opening, 2: closing.
  // `line` without its LF; a CR before the LF is part of the line break.
  auto kind_of = [&](std::string line, bool has_line_feed) {
    if (has_line_feed && !line.empty() && line.back() == '\r') line.pop_back();
    const std::string dashed = "--" + boundary;
    if (line.compare(0, dashed.size(), dashed) != 0) return 0;
    std::string rest = line.substr(dashed.size());
    int kind = 1;
    if (rest.compare(0, 2, "--") == 0) {
      kind = 2;
      rest = rest.substr(2);
    }
    for (char c : rest) {
      if (c != ' ' && c != '\t') return 0;
    }
    return kind;
  };
  // The line break before a delimiter line belongs to it.
  auto before_break = [&](size_t line_begin, size_t floor) {
    if (line_begin <= floor) return line_begin;
    if (line_begin - 1 > floor && body[line_begin - 2] == '\r') return line_begin - 2;
    return line_begin - 1;
  };
  ReferenceSplit split;
  bool opened = false;
  size_t part_begin = 0;
  for (size_t begin = 0; begin < body.size();) {
    const size_t line_feed = body.find('\n', begin);
    const size_t end = line_feed == std::string::npos ? body.size() : line_feed + 1;
    const bool has_line_feed = line_feed != std::string::npos;
    const int kind = kind_of(body.substr(begin, (has_line_feed ? line_feed : body.size()) - begin),
                             has_line_feed);
    if (kind != 0) {
      if (!opened) {
        if (kind == 2) return std::nullopt;
        split.preamble = body.substr(0, before_break(begin, 0));
        opened = true;
      } else {
        split.parts.push_back(
            body.substr(part_begin, before_break(begin, part_begin) - part_begin));
        if (kind == 2) {
          split.epilogue = body.substr(end);
          return split;
        }
      }
      part_begin = end;
    }
    begin = end;
  }
  return std::nullopt;
}

TEST(SplitMultipartTest, FindsTheDelimitersALineByLineReadingFinds) {
  // Bodies mostly of lines that are delimiters or near misses (a longer
  // boundary, the boundary inside the line, a tail that is not padding, a
  // lone CR), with every kind of line break, and some of loose fragments.
  const std::vector<std::string> fragments = {"--ab", "--ab--", "--abc", "x--ab", "--a", " ", "\t",
                                              "\r\n", "\n",     "\r",    "text",  "-",   "--"};
  const std::vector<std::string> line_starts = {"--ab",  "--ab--", "--ab", "--abc",
                                                "x--ab", "text",   ""};
  const std::vector<std::string> line_tails = {"", "", " ", "\t ", "x", "--", "\r"};
  const std::vector<std::string> line_breaks = {"\r\n", "\r\n", "\n", "\r\r\n", ""};
  std::mt19937 random(20261206);
  int split_count = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string body;
    const int count = static_cast<int>(random() % 12);
    for (int i = 0; i < count; ++i) {
      if (random() % 5 == 0) {
        body += fragments[random() % fragments.size()];
        continue;
      }
      body += line_starts[random() % line_starts.size()];
      body += line_tails[random() % line_tails.size()];
      body += line_breaks[random() % line_breaks.size()];
    }
    const std::optional<ReferenceSplit> expected = SplitLineByLine(body, "ab");
    absl::StatusOr<Multipart> split = SplitMultipart(body, "ab", Limits{});
    ASSERT_EQ(split.ok(), expected.has_value()) << absl::CEscape(body);
    if (!split.ok()) continue;
    ++split_count;
    ReferenceSplit got{.preamble = std::string(split->preamble),
                       .epilogue = std::string(split->epilogue)};
    for (absl::string_view part : split->parts) got.parts.emplace_back(part);
    EXPECT_EQ(got, *expected) << absl::CEscape(body);
  }
  // Enough of the bodies are multiparts for the comparison to mean something.
  EXPECT_GT(split_count, 500);
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
