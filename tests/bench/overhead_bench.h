// The overhead part (issue #20, `signet_bench --only overhead`): what
// signetd itself costs beside the token, every row of the table
// measured directly in one run, each with met / not met.
//
// - CPU per small call beyond the token: signetd's CPU seconds (/proc) per
//   call over a closed-loop span at `concurrency`, less the token's CPU per
//   operation, measured in this process by the raw C_Sign / C_Decrypt
//   baseline on the same SoftHSM token and keys just before.
// - CPU per MiB: calls one at a time for at least `per_mib_span` each
//   (CPU per call exact, no call straddles the span), at 1 KiB, 1 MiB and
//   16 MiB; (CPU per call at N MiB − at 1 KiB) ÷ (N MiB − 1 KiB), in MiB of
//   the mail (DecryptMail: of the mail it decrypts to).
// - Peak memory: signetd's peak RSS growth (VmHWM after clear_refs,
//   over VmRSS before) during one call of a 50 MiB mail ÷ the mail.
// - CMS_sign in process with Signet's provider (signet_provider_signer.h)
//   ÷ with libp11's, `max_in_flight` threads each, before signetd starts.
// - p99 ÷ p50 at 70% of the peak of a few closed-loop points, and that
//   peak ÷ the raw baseline's rate with 2 threads.
#ifndef SIGNET_TESTS_BENCH_OVERHEAD_BENCH_H_
#define SIGNET_TESTS_BENCH_OVERHEAD_BENCH_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/bench/bench_results.h"
#include "tests/bench/bench_tokens.h"

namespace signet::bench {

struct OverheadOptions {
  std::string signetd_path;
  int max_in_flight = 2;
  // Calls in flight for the small-call CPU figures: 16, as the figures
  // issue #20 starts from (signetd's CPU per call falls as calls batch: for
  // P-256 SignMail about 550 µs at 4, 320 at 16, 250 at 64, measured).
  int concurrency = 16;
  // Further closed-loop points for the peak, before the 70% point.
  std::vector<int> peak_concurrency = {4, 64};
  absl::Duration per_mib_span = absl::Seconds(2);
  std::vector<size_t> large_bytes = {size_t{1} << 20, size_t{16} << 20};
  size_t memory_bytes = size_t{50} << 20;
  // A mail of exactly this many bytes (bench_main.cc's).
  std::function<std::string(size_t)> mail;
  Timing timing;
};

// Adds the points measured and one TargetRow per row of the table, and
// prints the table to stderr.
absl::Status RunOverhead(BenchTokens& tokens, const OverheadOptions& options,
                         BenchResults& results);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_OVERHEAD_BENCH_H_
