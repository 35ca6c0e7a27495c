#include "appliance/cli/progress.h"

#include <fcntl.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signet::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(RenderProgressTest, ABarWithTheFractionAndTheSizes) {
  EXPECT_EQ(RenderProgress("sign", "sending", 4u << 20, 8u << 20),
            "sign  sending   [##########..........]  50%  4.0 MiB / 8.0 MiB");
  EXPECT_EQ(RenderProgress("decrypt", "receiving", 9u << 20, 8u << 20),
            "decrypt  receiving [####################] 100%  9.0 MiB / 8.0 MiB");
}

TEST(RenderProgressTest, WithoutATotalOnlyTheBytesSoFar) {
  EXPECT_EQ(RenderProgress("sign", "sending", 5u << 20, std::nullopt), "sign  sending   5.0 MiB");
}

// What a Progress writes to a file (not a terminal: a line at a time).
class ProgressOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/signet-progress-XXXXXX";
    fd_ = mkstemp(path);
    ASSERT_GE(fd_, 0);
    unlink(path);
  }
  void TearDown() override { close(fd_); }
  std::string Written() {
    std::string text(1 << 16, '\0');
    const ssize_t n = pread(fd_, text.data(), text.size(), 0);
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return text;
  }
  int fd_ = -1;
};

TEST_F(ProgressOutputTest, SmallMailsShowNothing) {
  {
    Progress progress("sign", true, fd_);
    progress.Sent(1 << 20, 1 << 20);
    progress.Received(1 << 20, 1 << 20);
  }
  EXPECT_THAT(Written(), IsEmpty());
}

TEST_F(ProgressOutputTest, DisabledShowsNothing) {
  {
    Progress progress("sign", false, fd_);
    progress.Sent(8 << 20, 8 << 20);
  }
  EXPECT_THAT(Written(), IsEmpty());
}

TEST_F(ProgressOutputTest, ALogGetsLinesWithoutEscapes) {
  {
    Progress progress("sign", true, fd_);
    progress.Sent(4 << 20, 8 << 20);
    progress.Sent(8 << 20, 8 << 20);  // the end of a phase is always shown
    progress.Received(9 << 20, 9 << 20);
  }
  const std::string written = Written();
  EXPECT_THAT(written, HasSubstr("sign  sending   [##########..........]  50%"));
  EXPECT_THAT(written, HasSubstr("100%  8.0 MiB / 8.0 MiB\n"));
  EXPECT_THAT(written, HasSubstr("sign  receiving [####################] 100%"));
  EXPECT_THAT(written, ::testing::Not(HasSubstr("\033")));
  EXPECT_THAT(written, ::testing::Not(HasSubstr("\r")));
}

TEST_F(ProgressOutputTest, AMailOfUnknownSizeShowsOnceItIsBig) {
  {
    Progress progress("verify", true, fd_);
    progress.Sent(1 << 20, std::nullopt);
    progress.Sent(5 << 20, std::nullopt);
  }
  EXPECT_EQ(Written(), "verify  sending   5.0 MiB\n");
}

}  // namespace
}  // namespace signet::cli
