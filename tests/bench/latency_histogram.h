// Request latencies in log-linear buckets (as HdrHistogram does): 64
// sub-buckets per power of two keep every percentile within about 1.6% of
// the true value while a bucket array of fixed size takes any number of
// samples, so workers record without allocating and merge at the end.
#ifndef SIGNET_TESTS_BENCH_LATENCY_HISTOGRAM_H_
#define SIGNET_TESTS_BENCH_LATENCY_HISTOGRAM_H_

#include <array>
#include <cstdint>

namespace signet::bench {

class LatencyHistogram {
 public:
  void Record(int64_t nanoseconds);
  void Merge(const LatencyHistogram& other);
  uint64_t count() const { return count_; }
  // The latency below which `quantile` (0.5, 0.99, 0.999) of the samples
  // lie, in microseconds; 0 without samples.
  double PercentileMicros(double quantile) const;
  double MaxMicros() const { return static_cast<double>(max_ns_) / 1000.0; }

 private:
  static constexpr int kSubBits = 6;
  static constexpr int kSub = 1 << kSubBits;
  // Up to 2^40 ns (18 minutes): far beyond any request.
  static constexpr int kBuckets = (40 - kSubBits + 1) * kSub;

  static int BucketOf(uint64_t value);
  static uint64_t UpperBoundOf(int bucket);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  int64_t max_ns_ = 0;
};

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_LATENCY_HISTOGRAM_H_
