// The buckets' arithmetic on a clock the test sets, and the bound on the
// table.
#include "appliance/directory/client_rate_limiter.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace signet::directory {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

TEST(ClientRateLimiterTest, ABurstThenTheRate) {
  ClientRateLimiter limiter(/*requests_per_second=*/2, /*burst=*/3, /*max_clients=*/10);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.Acquire("192.0.2.1", kStart), absl::ZeroDuration()) << i;
  }
  EXPECT_EQ(limiter.Acquire("192.0.2.1", kStart), absl::Milliseconds(500));
  // A refused request takes nothing: a quarter second later half a token
  // is still missing.
  EXPECT_EQ(limiter.Acquire("192.0.2.1", kStart + absl::Milliseconds(250)),
            absl::Milliseconds(250));
  EXPECT_EQ(limiter.Acquire("192.0.2.1", kStart + absl::Milliseconds(500)), absl::ZeroDuration());
  EXPECT_GT(limiter.Acquire("192.0.2.1", kStart + absl::Milliseconds(500)), absl::ZeroDuration());
  // Another client has its own bucket.
  EXPECT_EQ(limiter.Acquire("192.0.2.2", kStart), absl::ZeroDuration());
  // Idle for long, the bucket holds the burst, not more.
  const absl::Time later = kStart + absl::Hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Acquire("192.0.2.1", later), absl::ZeroDuration());
  EXPECT_GT(limiter.Acquire("192.0.2.1", later), absl::ZeroDuration());
}

TEST(ClientRateLimiterTest, AClockGoingBackAddsNothing) {
  ClientRateLimiter limiter(1, 1, 10);
  EXPECT_EQ(limiter.Acquire("c", kStart), absl::ZeroDuration());
  EXPECT_GT(limiter.Acquire("c", kStart - absl::Hours(1)), absl::ZeroDuration());
  EXPECT_GT(limiter.Acquire("c", kStart + absl::Milliseconds(500)), absl::ZeroDuration());
  EXPECT_EQ(limiter.Acquire("c", kStart + absl::Seconds(1)), absl::ZeroDuration());
}

TEST(ClientRateLimiterTest, TheTableIsBoundedAndForgetsTheLeastRecentlySeen) {
  ClientRateLimiter limiter(/*requests_per_second=*/0.001, /*burst=*/1, /*max_clients=*/3);
  EXPECT_EQ(limiter.Acquire("a", kStart), absl::ZeroDuration());
  EXPECT_EQ(limiter.Acquire("b", kStart), absl::ZeroDuration());
  EXPECT_EQ(limiter.Acquire("c", kStart), absl::ZeroDuration());
  // "a" is seen again (refused): now "b" is the least recently seen.
  EXPECT_GT(limiter.Acquire("a", kStart), absl::ZeroDuration());
  EXPECT_EQ(limiter.Acquire("d", kStart), absl::ZeroDuration());
  EXPECT_EQ(limiter.tracked_clients(), 3u);
  // "a" and "c" are still limited; "b" was forgotten and starts afresh.
  EXPECT_GT(limiter.Acquire("a", kStart), absl::ZeroDuration());
  EXPECT_GT(limiter.Acquire("c", kStart), absl::ZeroDuration());
  EXPECT_EQ(limiter.Acquire("b", kStart), absl::ZeroDuration());

  // A spray of distinct clients never grows the table past its bound.
  for (int i = 0; i < 10000; ++i)
    limiter.Acquire(absl::StrCat("10.0.", i / 256, ".", i % 256), kStart);
  EXPECT_EQ(limiter.tracked_clients(), 3u);
}

}  // namespace
}  // namespace signet::directory
