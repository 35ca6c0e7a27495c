#include "appliance/server/shutdown_bound.h"

#include <atomic>
#include <cstdio>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace signet::server {
namespace {

TEST(ShutdownBoundTest, AShutdownInTimeEndsNothing) {
  std::atomic<bool> spoke{false};
  {
    ShutdownBound bound(absl::Now() + absl::Milliseconds(200), absl::Seconds(1),
                        [&] { spoke = true; });
  }
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_FALSE(spoke.load());
}

TEST(ShutdownBoundDeathTest, PastTheBoundTheLastWordsAreSaidAndTheProcessEnds) {
  // The bound runs a thread: the child re-executes the test from the start.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ShutdownBound bound(absl::Now() + absl::Milliseconds(100), absl::Seconds(5),
                            [] { std::fputs("audit log closed\n", stderr); });
        // A call that never finishes.
        absl::SleepFor(absl::Seconds(30));
      },
      ::testing::ExitedWithCode(kExitShutdownTimedOut),
      "still running past the shutdown grace(.|\n)*audit log closed");
}

TEST(ShutdownBoundDeathTest, LastWordsThatHangDoNotHoldTheExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ShutdownBound bound(absl::Now() + absl::Milliseconds(100), absl::Milliseconds(200),
                            [] { absl::SleepFor(absl::Seconds(30)); });
        absl::SleepFor(absl::Seconds(30));
      },
      ::testing::ExitedWithCode(kExitShutdownTimedOut), "could not be closed in time");
}

}  // namespace
}  // namespace signet::server
