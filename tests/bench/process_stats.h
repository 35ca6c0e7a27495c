// What a process has cost so far, read from /proc: CPU time (user + system),
// its peak resident set (VmHWM) and its threads' context switches.
#ifndef SIGNET_TESTS_BENCH_PROCESS_STATS_H_
#define SIGNET_TESTS_BENCH_PROCESS_STATS_H_

#include <sys/types.h>

#include "absl/status/statusor.h"

namespace signet::bench {

struct ProcessStats {
  double cpu_seconds = 0;
  long peak_rss_kib = 0;
  // Voluntary and involuntary, summed over the threads alive now (a thread
  // that ended took its count with it).
  unsigned long long context_switches = 0;
};

absl::StatusOr<ProcessStats> ReadProcessStats(pid_t pid);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_PROCESS_STATS_H_
