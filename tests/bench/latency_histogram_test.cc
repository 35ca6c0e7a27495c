#include "tests/bench/latency_histogram.h"

#include "gtest/gtest.h"

namespace signet::bench {
namespace {

TEST(LatencyHistogramTest, PercentilesWithinBucketResolution) {
  LatencyHistogram histogram;
  // 1..10000 microseconds, once each.
  for (int i = 1; i <= 10000; ++i) histogram.Record(int64_t{i} * 1000);
  EXPECT_EQ(histogram.count(), 10000u);
  EXPECT_NEAR(histogram.PercentileMicros(0.5), 5000, 5000 * 0.02);
  EXPECT_NEAR(histogram.PercentileMicros(0.99), 9900, 9900 * 0.02);
  EXPECT_NEAR(histogram.PercentileMicros(0.999), 9990, 9990 * 0.02);
  EXPECT_DOUBLE_EQ(histogram.MaxMicros(), 10000);
}

TEST(LatencyHistogramTest, MergeAddsCounts) {
  LatencyHistogram a;
  LatencyHistogram b;
  a.Record(1000);
  b.Record(3000000);  // 3 ms
  a.Merge(b);
  EXPECT_EQ(a.count(), 2u);
  EXPECT_NEAR(a.PercentileMicros(1.0), 3000, 3000 * 0.02);
  EXPECT_NEAR(a.PercentileMicros(0.5), 1, 0.05);
}

TEST(LatencyHistogramTest, EmptyIsZero) { EXPECT_EQ(LatencyHistogram().PercentileMicros(0.99), 0); }

}  // namespace
}  // namespace signet::bench
