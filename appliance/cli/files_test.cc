#include "appliance/cli/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::cli {
namespace {

using ::signet::matchers::IsOk;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/signet-files-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    for (const char* name : {"in", "out"}) unlink(Path(name).c_str());
    rmdir(dir_.c_str());
  }
  std::string Path(const char* name) const { return dir_ + "/" + name; }
  std::string Read(const char* name) const {
    std::ifstream file(Path(name), std::ios::binary);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }
  mode_t Mode(const char* name) const {
    struct stat info;
    return stat(Path(name).c_str(), &info) == 0 ? (info.st_mode & 07777) : 0;
  }
  // Every name in the directory, to catch a temporary file left behind.
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.push_back(entry.path().filename());
    }
    return names;
  }

  std::string dir_;
};

TEST_F(FilesTest, AnUncommittedOutputLeavesTheOldFileAndNoTemporary) {
  std::ofstream(Path("out")) << "old";
  {
    absl::StatusOr<OutputFile> output = OutputFile::Create(Path("out"));
    ASSERT_THAT(output, IsOk());
    ASSERT_THAT(output->Write("new, half written"), IsOk());
  }
  EXPECT_EQ(Read("out"), "old");
  EXPECT_THAT(Entries(), ::testing::ElementsAre("out"));
}

TEST_F(FilesTest, CommitReplacesTheFileKeepingItsMode) {
  std::ofstream(Path("out")) << "old";
  chmod(Path("out").c_str(), 0640);
  absl::StatusOr<OutputFile> output = OutputFile::Create(Path("out"));
  ASSERT_THAT(output, IsOk());
  ASSERT_THAT(output->Write("new"), IsOk());
  ASSERT_THAT(output->Commit(), IsOk());
  EXPECT_EQ(Read("out"), "new");
  EXPECT_EQ(Mode("out"), 0640u);
}

TEST_F(FilesTest, ANewPrivateOutputIsTheOwnersOnly) {
  absl::StatusOr<OutputFile> output = OutputFile::Create(Path("out"), /*private_mode=*/true);
  ASSERT_THAT(output, IsOk());
  ASSERT_THAT(output->Write("plaintext"), IsOk());
  ASSERT_THAT(output->Commit(), IsOk());
  EXPECT_EQ(Mode("out"), 0600u);
}

TEST_F(FilesTest, ErrorsNameTheFile) {
  absl::StatusOr<InputFile> input = InputFile::Open(Path("missing"));
  EXPECT_EQ(input.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(input.status().message(), ::testing::HasSubstr("cannot read " + Path("missing")));
  EXPECT_THAT(InputFile::Open(dir_).status().message(), ::testing::HasSubstr("a directory"));
  EXPECT_THAT(OutputFile::Create(dir_ + "/no/such/dir").status().message(),
              ::testing::HasSubstr("cannot write"));
}

TEST_F(FilesTest, ARegularInputKnowsItsSizeAndReadsInFullChunks) {
  std::ofstream(Path("in")) << std::string(1000, 'x');
  absl::StatusOr<InputFile> input = InputFile::Open(Path("in"));
  ASSERT_THAT(input, IsOk());
  EXPECT_EQ(input->size(), 1000u);
  std::atomic<bool> stop{false};
  char buffer[600];
  EXPECT_EQ(*input->Read(buffer, sizeof buffer, stop), 600u);
  EXPECT_EQ(*input->Read(buffer, sizeof buffer, stop), 400u);
  EXPECT_EQ(*input->Read(buffer, sizeof buffer, stop), 0u);
}

}  // namespace
}  // namespace signet::cli
