#include "common/read_file.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"

namespace signet {
namespace {

using ::signet::matchers::IsOkAndHolds;
using ::signet::matchers::StatusIs;
using ::testing::HasSubstr;

TEST(ReadFileUpToTest, ReadsUpToTheLimitAndRefusesMore) {
  ASSERT_OK_AND_ASSIGN(fixtures::TempDir dir, fixtures::TempDir::Create("signet-read-file"));
  const std::string path = dir.path() + "/data";
  std::ofstream(path, std::ios::binary) << std::string(40000, 'x');
  EXPECT_THAT(ReadFileUpTo(path, 40000, "too big"), IsOkAndHolds(std::string(40000, 'x')));
  EXPECT_THAT(ReadFileUpTo(path, 39999, "not a CRL"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(path + " is larger than 39999 bytes: not a CRL")));
}

TEST(ReadFileUpToTest, AMissingFileIsNamedWithTheSystemsReason) {
  EXPECT_THAT(ReadFileUpTo("/nonexistent/signet", 10, "too big"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("cannot read /nonexistent/signet: No such file or directory")));
}

}  // namespace
}  // namespace signet
