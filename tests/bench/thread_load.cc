#include "tests/bench/thread_load.h"

#include <barrier>
#include <mutex>
#include <thread>
#include <vector>

namespace signet::bench {

absl::StatusOr<LoadResult> RunThreads(
    int workers, const Timing& timing,
    const std::function<absl::StatusOr<Operation>(int)>& make_operation) {
  std::mutex mu;
  LoadResult total;
  absl::Status setup_failure;
  Window window;
  // Every worker is set up before the window is fixed, so a slow session
  // open does not eat into the warm-up of the others.
  std::barrier ready(workers + 1);
  std::barrier started(workers + 1);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(workers));
  for (int i = 0; i < workers; ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<Operation> operation = make_operation(i);
      if (!operation.ok()) {
        std::lock_guard lock(mu);
        if (setup_failure.ok()) setup_failure = operation.status();
      }
      ready.arrive_and_wait();
      started.arrive_and_wait();
      if (!operation.ok()) return;
      {
        std::lock_guard lock(mu);
        if (!setup_failure.ok()) return;
      }
      LoadResult mine;
      for (;;) {
        const Clock::time_point begin = Clock::now();
        if (begin >= window.end) break;
        absl::Status status = (*operation)();
        const Clock::time_point done = Clock::now();
        ++mine.all_completed;
        if (!window.Counts(done)) continue;
        if (status.ok()) {
          ++mine.requests;
          mine.latency.Record(std::chrono::nanoseconds(done - begin).count());
        } else {
          if (mine.errors++ == 0) mine.first_error = status.ToString();
        }
      }
      std::lock_guard lock(mu);
      total.requests += mine.requests;
      total.errors += mine.errors;
      total.all_completed += mine.all_completed;
      if (total.first_error.empty()) total.first_error = mine.first_error;
      total.latency.Merge(mine.latency);
    });
  }
  ready.arrive_and_wait();
  window = Window::After(Clock::now(), timing);
  started.arrive_and_wait();
  for (std::thread& thread : threads) thread.join();
  if (!setup_failure.ok()) return setup_failure;
  total.seconds = window.seconds();
  return total;
}

}  // namespace signet::bench
