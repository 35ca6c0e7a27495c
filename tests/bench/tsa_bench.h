// signetd as an RFC 3161 time-stamping authority (issue #17), two
// comparisons on one daemon (bench_daemon.h, "tsa") over token bench:
//  - stamps per second over gRPC Timestamp against raw C_Sign of the TSA's
//    own key (P-256), each concurrency measured right after the other: a
//    stamp is one token signature plus what a TSA adds around it (parsing
//    the request, the serial, the TSTInfo and its CMS, the audit record);
//  - SignMail of a 1 KiB mail with and without SignOptions.timestamp on key
//    p256, whose stamps come from that daemon's own HTTP TSA on loopback:
//    the latency a stamp adds when the TSA is local (a second token
//    signature, an HTTP round trip, checking the reply).
#ifndef SIGNET_TESTS_BENCH_TSA_BENCH_H_
#define SIGNET_TESTS_BENCH_TSA_BENCH_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/bench/bench_results.h"
#include "tests/bench/bench_tokens.h"
#include "tests/bench/load_result.h"

namespace signet::bench {

struct TsaBenchOptions {
  std::string signetd_path;
  int max_in_flight = 2;
  // Stamps against raw C_Sign at each of these.
  std::vector<int> stamp_concurrency;
  // SignMail unstamped and stamped at each of these, `rounds` times over,
  // the order of the pair alternating from round to round so that neither
  // always runs on a machine warmed (or disturbed) by the other.
  std::vector<int> latency_concurrency;
  int rounds = 2;
  std::string mail;
  Timing timing;
};

// Adds points impl "raw" op "sign" token "bench/tsa" (the TSA key), impl
// "signet" op "Timestamp" token "bench", and op "SignMail" token
// "bench/unstamped" and "bench/stamped" (one per round and concurrency).
// Prints the ratios and latencies to stderr as it goes.
absl::Status RunTsaComparison(BenchTokens& tokens, const TsaBenchOptions& options,
                              BenchResults& results);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_TSA_BENCH_H_
