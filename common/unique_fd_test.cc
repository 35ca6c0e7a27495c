#include "common/unique_fd.h"

#include <fcntl.h>

#include "gtest/gtest.h"

namespace signet {
namespace {

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }

TEST(UniqueFdTest, ClosesWhatItOwnsOnce) {
  int fd = -1;
  {
    UniqueFd owner(open("/dev/null", O_RDONLY | O_CLOEXEC));
    fd = owner.get();
    ASSERT_TRUE(owner.valid());
    EXPECT_TRUE(IsOpen(fd));
    UniqueFd moved = std::move(owner);
    EXPECT_FALSE(owner.valid());
    EXPECT_EQ(moved.get(), fd);
  }
  EXPECT_FALSE(IsOpen(fd));
}

TEST(UniqueFdTest, ReleaseGivesTheDescriptorUp) {
  UniqueFd owner(open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int fd = owner.release();
  EXPECT_FALSE(owner.valid());
  owner.reset();
  EXPECT_TRUE(IsOpen(fd));
  close(fd);
}

TEST(UniqueFdTest, ResetAndAssignmentCloseTheOldOne) {
  UniqueFd owner(open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int first = owner.get();
  owner.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_FALSE(IsOpen(first) && first != owner.get());
  const int second = owner.get();
  owner = UniqueFd();
  EXPECT_FALSE(IsOpen(second));
}

TEST(UniqueFileTest, ClosesTheStream) {
  UniqueFile file(std::fopen("/dev/null", "r"));
  ASSERT_NE(file, nullptr);
  const int fd = fileno(file.get());
  file.reset();
  EXPECT_FALSE(IsOpen(fd));
}

}  // namespace
}  // namespace signet
