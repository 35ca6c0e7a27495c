// What one measured load produces, whoever generated it (threads calling a
// token, gRPC calls in flight, processes): requests completed inside the
// measuring window and their latencies.
#ifndef SIGNET_TESTS_BENCH_LOAD_RESULT_H_
#define SIGNET_TESTS_BENCH_LOAD_RESULT_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "tests/bench/latency_histogram.h"

namespace signet::bench {

using Clock = std::chrono::steady_clock;

struct Timing {
  // Requests run but are not counted during warm-up (sessions, connections
  // and caches settle), then everything that completes within `measure`.
  std::chrono::milliseconds warmup{500};
  std::chrono::milliseconds measure{2500};
};

struct LoadResult {
  uint64_t requests = 0;  // succeeded within the window
  uint64_t errors = 0;    // failed within the window
  // Everything that completed, warm-up included: what server-side counters
  // (CPU time, PKCS#11 calls) read over the same span are divided by.
  uint64_t all_completed = 0;
  std::string first_error;
  double seconds = 0;
  LatencyHistogram latency;

  double per_second() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
};

// The window [start, end) in which completions count.
struct Window {
  Clock::time_point start;
  Clock::time_point end;

  static Window After(Clock::time_point now, const Timing& timing) {
    return {now + timing.warmup, now + timing.warmup + timing.measure};
  }
  bool Counts(Clock::time_point done) const { return done >= start && done < end; }
  double seconds() const { return std::chrono::duration<double>(end - start).count(); }
};

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_LOAD_RESULT_H_
