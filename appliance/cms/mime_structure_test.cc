#include <chrono>
#include <string>
#include <utility>
#include <vector>

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
using ::testing::HasSubstr;
using ::testing::Not;

// An entity whose deepest entity is at depth `depth`: `depth` multiparts
// inside each other (each with one part) around a text/plain leaf.
std::string NestedMultiparts(int depth) {
  std::string entity = "Content-Type: text/plain\r\n\r\nleaf\r\n";
  for (int level = depth - 1; level >= 0; --level) {
    const std::string boundary = absl::StrCat("b", level);
    entity = absl::StrCat("Content-Type: multipart/mixed; boundary=", boundary, "\r\n\r\n--",
                          boundary, "\r\n", entity, "\r\n--", boundary, "--\r\n");
  }
  return entity;
}

// `depth` enclosed messages inside each other around a text/plain leaf.
std::string NestedMessages(int depth) {
  std::string entity = "Subject: leaf\r\n\r\nleaf\r\n";
  for (int level = 0; level < depth; ++level) {
    entity = absl::StrCat("Content-Type: message/rfc822\r\n\r\n", entity);
  }
  return entity;
}

std::string Repeat(absl::string_view piece, int times, absl::string_view separator) {
  std::string out;
  for (int i = 0; i < times; ++i) absl::StrAppend(&out, i == 0 ? "" : separator, piece);
  return out;
}

TEST(CheckMimeStructureTest, AcceptsASignedMail) {
  const std::string mail =
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"
      "\tmicalg=sha-256; boundary=\"outer\"\r\n"
      "\r\n"
      "--outer\r\n"
      "Content-Type: multipart/mixed; boundary=inner\r\n"
      "\r\n"
      "--inner\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"
      "--inner\r\n"
      "Content-Type: message/rfc822\r\n\r\nSubject: attached\r\n\r\nold mail\r\n"
      "--inner--\r\n"
      "--outer\r\n"
      "Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nMIIB\r\n"
      "--outer--\r\n";
  EXPECT_THAT(CheckMimeStructure(mail, Limits{}), IsOk());
}

TEST(CheckMimeStructureTest, NestingAtTheLimitPassesOneDeeperFails) {
  Limits limits;
  limits.max_mime_depth = 5;
  EXPECT_THAT(CheckMimeStructure(NestedMultiparts(5), limits), IsOk());
  EXPECT_THAT(CheckMimeStructure(NestedMultiparts(6), limits),
              InvalidArgumentWith("MIME part 1.1.1.1.1.1: MIME nesting deeper than 5"));

  EXPECT_THAT(CheckMimeStructure(NestedMessages(5), limits), IsOk());
  EXPECT_THAT(CheckMimeStructure(NestedMessages(6), limits),
              InvalidArgumentWith("MIME part msg.msg.msg.msg.msg.msg: MIME nesting deeper than 5"));
}

TEST(CheckMimeStructureTest, DefaultLimitAllows32Levels) {
  EXPECT_THAT(CheckMimeStructure(NestedMultiparts(32), Limits{}), IsOk());
  EXPECT_THAT(CheckMimeStructure(NestedMultiparts(33), Limits{}),
              InvalidArgumentWith("MIME nesting deeper than 32"));
}

TEST(CheckMimeStructureTest, ThousandLevelsFailFastAtTheLimit) {
  const std::string mail = NestedMultiparts(1000);
  const auto start = std::chrono::steady_clock::now();
  const absl::Status status = CheckMimeStructure(mail, Limits{});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // The walk stops at depth 33, the first level beyond the limit, instead of
  // descending all 1000 levels (the path names exactly 33 parts).
  EXPECT_THAT(status, InvalidArgumentWith(absl::StrCat("MIME part ", Repeat("1", 33, "."),
                                                       ": MIME nesting deeper than 32")));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(CheckMimeStructureTest, MessageBodiesAreParsedOneLevelDeeper) {
  const std::string mail =
      "Content-Type: multipart/mixed; boundary=m\r\n\r\n"
      "--m\r\nContent-Type: message/rfc822\r\n\r\n"
      "Content-Type: multipart/alternative; boundary=a\r\n\r\n"
      "--a\r\n\r\nfine\r\n--a\r\nnot a header line\r\n\r\nbody\r\n--a--\r\n"
      "--m--\r\n";
  EXPECT_THAT(CheckMimeStructure(mail, Limits{}),
              InvalidArgumentWith("MIME part 1.msg.2: header line 1 is neither"));
}

TEST(CheckMimeStructureTest, MultipartWithoutBoundaryIsAnError) {
  EXPECT_THAT(
      CheckMimeStructure("Content-Type: multipart/mixed\r\n\r\n--b\r\nx\r\n--b--\r\n", Limits{}),
      InvalidArgumentWith("multipart/mixed without a boundary parameter"));
  const std::string nested =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nok\r\n--b\r\n"
      "Content-Type: multipart/related; type=\"text/html\"\r\n\r\nx\r\n--b--\r\n";
  EXPECT_THAT(CheckMimeStructure(nested, Limits{}),
              InvalidArgumentWith("MIME part 2: multipart/related without a boundary parameter"));
}

TEST(CheckMimeStructureTest, ReportsErrorsOfEveryParser) {
  EXPECT_THAT(CheckMimeStructure("bad\r\n\r\n", Limits{}),
              InvalidArgumentWith("header line 1 is neither"));
  EXPECT_THAT(CheckMimeStructure("Content-Type: text\r\n\r\n", Limits{}),
              InvalidArgumentWith("Content-Type: expected '/'"));
  EXPECT_THAT(
      CheckMimeStructure("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nx\r\n", Limits{}),
      InvalidArgumentWith("no closing delimiter line"));
  Limits limits;
  limits.max_message_bytes = 8;
  EXPECT_THAT(CheckMimeStructure("\r\n123456789", limits), InvalidArgumentWith("larger than"));
}

TEST(CheckMimeStructureTest, DigestPartsDefaultToMessages) {
  // The part has no Content-Type; in a digest it is a message/rfc822, whose
  // own header block ("not a header") is invalid.
  const std::string part = "\r\nnot a header\r\n\r\nbody\r\n";
  const std::string digest =
      absl::StrCat("Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n", part, "--d--\r\n");
  EXPECT_THAT(CheckMimeStructure(digest, Limits{}),
              InvalidArgumentWith("MIME part 1.msg: header line 1 is neither"));
  const std::string mixed =
      absl::StrCat("Content-Type: multipart/mixed; boundary=d\r\n\r\n--d\r\n", part, "--d--\r\n");
  EXPECT_THAT(CheckMimeStructure(mixed, Limits{}), IsOk());
}

TEST(CheckMimeStructureTest, NonMultipartBodiesAreNotParsed) {
  EXPECT_THAT(
      CheckMimeStructure("Content-Type: text/plain\r\n\r\n--b\r\nnot: parsed\r\n", Limits{}),
      IsOk());
}

// The two-piece form judges exactly as the joined one: the same status for
// the entity split after the empty line that ends its header fields.
TEST(CheckMimeStructureTest, HeadAndBodyApartAreJudgedAsJoined) {
  Limits small;
  small.max_mime_depth = 5;
  Limits tiny;
  tiny.max_message_bytes = 40;
  const std::string mixed_with_message =
      "Content-Type: multipart/mixed; boundary=m\r\n\r\n"
      "--m\r\nContent-Type: message/rfc822\r\n\r\n"
      "Content-Type: multipart/alternative; boundary=a\r\n\r\n"
      "--a\r\n\r\nfine\r\n--a\r\nnot a header line\r\n\r\nbody\r\n--a--\r\n"
      "--m--\r\n";
  const std::vector<std::pair<std::string, Limits>> cases = {
      {NestedMultiparts(5), small},
      {NestedMultiparts(6), small},
      {NestedMessages(6), small},
      {NestedMultiparts(33), Limits{}},
      {mixed_with_message, Limits{}},
      {"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nx\r\n", Limits{}},
      {"Content-Type: multipart/mixed\r\n\r\n--b\r\nx\r\n--b--\r\n", Limits{}},
      {"Content-Type: text\r\n\r\nbody\r\n", Limits{}},
      {"Content-Type: text/plain\r\n\r\n--b\r\nnot: parsed\r\n", Limits{}},
      {"Content-Type: text/plain\r\n\r\n0123456789012345678901234567890\r\n", tiny},
  };
  for (const auto& [entity, limits] : cases) {
    SCOPED_TRACE(entity.substr(0, 60));
    const size_t split = entity.find("\r\n\r\n") + 4;
    const absl::Status joined = CheckMimeStructure(entity, limits);
    const absl::Status apart =
        CheckMimeStructure(entity.substr(0, split), entity.substr(split), limits);
    EXPECT_EQ(apart, joined);
  }
  EXPECT_THAT(CheckMimeStructure(NestedMultiparts(6), small), Not(IsOk()));
}

TEST(CheckMimeStructureTest, AHeadMustEndWithItsEmptyLine) {
  // Joined, the body's first lines would be more header fields, or the
  // head's later lines body: refused rather than judged differently.
  EXPECT_THAT(CheckMimeStructure("Content-Type: text/plain\r\n", "X-More: 1\r\n\r\nbody", Limits{}),
              InvalidArgumentWith("does not end with the empty line"));
  EXPECT_THAT(CheckMimeStructure("Content-Type: text/plain\r\n\r\nX: 1\r\n\r\n", "body", Limits{}),
              InvalidArgumentWith("does not end with the empty line"));
  EXPECT_THAT(CheckMimeStructure("\r\n", "body", Limits{}), IsOk());
}

}  // namespace
}  // namespace signet::cms
