#include "tests/bench/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace signet::bench {

// Values below kSub have a bucket each; above, the top kSubBits bits below
// the leading one pick the sub-bucket of the value's power of two.
int LatencyHistogram::BucketOf(uint64_t value) {
  if (value < kSub) return static_cast<int>(value);
  const int magnitude = std::bit_width(value) - 1;  // >= kSubBits
  const int shift = magnitude - kSubBits;
  const int sub = static_cast<int>((value >> shift) & (kSub - 1));
  return std::min((shift + 1) * kSub + sub, kBuckets - 1);
}

uint64_t LatencyHistogram::UpperBoundOf(int bucket) {
  if (bucket < kSub) return static_cast<uint64_t>(bucket);
  const int shift = bucket / kSub - 1;
  const uint64_t sub = static_cast<uint64_t>(bucket % kSub);
  return ((uint64_t{kSub} + sub + 1) << shift) - 1;
}

void LatencyHistogram::Record(int64_t nanoseconds) {
  const uint64_t value = nanoseconds < 0 ? 0 : static_cast<uint64_t>(nanoseconds);
  ++counts_[BucketOf(value)];
  ++count_;
  max_ns_ = std::max(max_ns_, nanoseconds);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ns_ = std::max(max_ns_, other.max_ns_);
}

double LatencyHistogram::PercentileMicros(double quantile) const {
  if (count_ == 0) return 0;
  const uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(quantile * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t bound = std::min<uint64_t>(UpperBoundOf(i), static_cast<uint64_t>(max_ns_));
      return static_cast<double>(bound) / 1000.0;
    }
  }
  return MaxMicros();
}

}  // namespace signet::bench
