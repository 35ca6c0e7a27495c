// The kernel's answer about the clock, read for real: whichever it is on this
// machine, it is a definite answer, and it agrees with adjtimex(2) asked
// directly.
#include "appliance/tsa/clock_sync.h"

#include <sys/timex.h>

#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::tsa {
namespace {

using ::signet::matchers::IsOk;

TEST(ClockSyncTest, KernelGivesADefiniteAnswer) {
  absl::StatusOr<bool> synchronized = KernelClockSynchronized();
  ASSERT_THAT(synchronized, IsOk());
  struct timex state = {};
  const int result = adjtimex(&state);
  ASSERT_NE(result, -1);
  const bool expected = result != TIME_ERROR && (state.status & STA_UNSYNC) == 0;
  // The clock's state could change between the two calls only if a time
  // daemon started or stopped right now; both readings are the kernel's.
  EXPECT_EQ(*synchronized, expected)
      << "adjtimex returned " << result << ", status 0x" << std::hex << state.status;
}

}  // namespace
}  // namespace signet::tsa
