#include "appliance/audit/line_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "appliance/audit/testing.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::audit {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;
using testing::WriteFile;

absl::StatusOr<std::vector<std::string>> ReadAll(const std::string& path, size_t max_line) {
  absl::StatusOr<LineReader> reader = LineReader::Open(path, max_line);
  if (!reader.ok()) return reader.status();
  std::vector<std::string> lines;
  for (;;) {
    absl::StatusOr<std::optional<absl::string_view>> line = reader->Next();
    if (!line.ok()) return line.status();
    if (!line->has_value()) return lines;
    lines.emplace_back(**line);
  }
}

TEST(LineReaderTest, ReadsLinesAndCountsThem) {
  TempDir dir;
  WriteFile(dir.File("log"), "one\n\nthree\n");
  absl::StatusOr<LineReader> reader = LineReader::Open(dir.File("log"));
  ASSERT_THAT(reader, IsOk());
  for (absl::string_view want : {"one", "", "three"}) {
    absl::StatusOr<std::optional<absl::string_view>> line = reader->Next();
    ASSERT_THAT(line, IsOk());
    ASSERT_TRUE(line->has_value());
    EXPECT_EQ(**line, want);
  }
  EXPECT_EQ(reader->line_number(), 3u);
  EXPECT_EQ(reader->offset(), 11u);
  absl::StatusOr<std::optional<absl::string_view>> end = reader->Next();
  ASSERT_THAT(end, IsOk());
  EXPECT_FALSE(end->has_value());
}

TEST(LineReaderTest, AnEmptyFileHasNoLines) {
  TempDir dir;
  WriteFile(dir.File("log"), "");
  absl::StatusOr<std::vector<std::string>> lines = ReadAll(dir.File("log"), 100);
  ASSERT_THAT(lines, IsOk());
  EXPECT_TRUE(lines->empty());
}

TEST(LineReaderTest, LinesAcrossReadBoundaries) {
  TempDir dir;
  const std::string long_line(100000, 'x');
  WriteFile(dir.File("log"), long_line + "\nshort\n" + long_line + "\n");
  absl::StatusOr<std::vector<std::string>> lines = ReadAll(dir.File("log"), 200000);
  ASSERT_THAT(lines, IsOk());
  EXPECT_THAT(*lines, ElementsAre(long_line, "short", long_line));
}

TEST(LineReaderTest, AnIncompleteLastLineIsAnError) {
  TempDir dir;
  WriteFile(dir.File("log"), "one\ntwo");
  absl::StatusOr<std::vector<std::string>> lines = ReadAll(dir.File("log"), 100);
  ASSERT_THAT(lines, Not(IsOk()));
  EXPECT_EQ(lines.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(lines.status().message()), HasSubstr("line 2 is incomplete"));
}

TEST(LineReaderTest, ALineOverTheLimitIsAnError) {
  TempDir dir;
  WriteFile(dir.File("log"), "short\n" + std::string(1000, 'x') + "\n");
  absl::StatusOr<std::vector<std::string>> lines = ReadAll(dir.File("log"), 999);
  ASSERT_THAT(lines, Not(IsOk()));
  EXPECT_THAT(std::string(lines.status().message()), HasSubstr("line 2 is longer than 999 bytes"));
  // Without a newline in sight, too: the reader must not buffer on and on.
  WriteFile(dir.File("log"), std::string(300000, 'x'));
  lines = ReadAll(dir.File("log"), 1000);
  ASSERT_THAT(lines, Not(IsOk()));
  EXPECT_THAT(std::string(lines.status().message()), HasSubstr("line 1 is longer than 1000 bytes"));
}

TEST(LineReaderTest, AMissingFileIsNotFound) {
  TempDir dir;
  absl::StatusOr<LineReader> reader = LineReader::Open(dir.File("absent"));
  ASSERT_THAT(reader, Not(IsOk()));
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace signet::audit
