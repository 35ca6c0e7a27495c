// A closed-loop load of N threads, each repeating one synchronous operation
// (an in-process token call, a CMS signature, a child process) as fast as
// it completes: how a baseline with a given worker count is measured.
#ifndef SIGNET_TESTS_BENCH_THREAD_LOAD_H_
#define SIGNET_TESTS_BENCH_THREAD_LOAD_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/bench/load_result.h"

namespace signet::bench {

using Operation = std::function<absl::Status()>;

// make_operation(i) runs on worker i's own thread before the clock starts
// (to open its session, say) and returns what that worker repeats. A worker
// whose set-up fails fails the whole run.
absl::StatusOr<LoadResult> RunThreads(
    int workers, const Timing& timing,
    const std::function<absl::StatusOr<Operation>(int)>& make_operation);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_THREAD_LOAD_H_
