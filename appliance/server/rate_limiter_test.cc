#include "appliance/server/rate_limiter.h"

#include "gtest/gtest.h"

namespace signet::server {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1800000000);

int Acquired(RateLimiter& limiter, absl::string_view caller, absl::Time at, int attempts) {
  int acquired = 0;
  for (int i = 0; i < attempts; ++i) acquired += limiter.TryAcquire(caller, at);
  return acquired;
}

TEST(RateLimiterTest, BurstThenTheSteadyRate) {
  RateLimiter limiter(10, 5);
  EXPECT_EQ(Acquired(limiter, "mx", kStart, 20), 5);
  // 10 per second: one more every 100 ms.
  EXPECT_EQ(Acquired(limiter, "mx", kStart + absl::Milliseconds(100), 20), 1);
  EXPECT_EQ(Acquired(limiter, "mx", kStart + absl::Milliseconds(150), 20), 0);
  EXPECT_EQ(Acquired(limiter, "mx", kStart + absl::Milliseconds(450), 20), 3);
  // Idle for long, the bucket holds no more than the burst.
  EXPECT_EQ(Acquired(limiter, "mx", kStart + absl::Hours(1), 20), 5);
}

TEST(RateLimiterTest, CallersHaveBucketsOfTheirOwn) {
  RateLimiter limiter(1, 2);
  EXPECT_EQ(Acquired(limiter, "a", kStart, 10), 2);
  EXPECT_EQ(Acquired(limiter, "b", kStart, 10), 2);
  EXPECT_EQ(Acquired(limiter, "a", kStart, 10), 0);
}

TEST(RateLimiterTest, ZeroRateIsUnlimited) {
  RateLimiter limiter(0, 0);
  EXPECT_EQ(Acquired(limiter, "mx", kStart, 10000), 10000);
}

TEST(RateLimiterTest, ClockGoingBackwardsGrantsNothingExtra) {
  RateLimiter limiter(10, 1);
  EXPECT_EQ(Acquired(limiter, "mx", kStart, 5), 1);
  EXPECT_EQ(Acquired(limiter, "mx", kStart - absl::Seconds(10), 5), 0);
}

}  // namespace
}  // namespace signet::server
