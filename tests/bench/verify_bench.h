// VerifyMail with revocation against VerifyMail without it (issue #16: a hot
// CRL cache may cost at most 10% more CPU). Two signetd that only verify,
// side by side on the same signed mail: one with revocation off (what
// VerifyMail did before revocation existed), one requiring an answer for
// every certificate of the chain, its CRLs (with revoked entries, as a real
// CA's have) served over HTTP on loopback and cached after the warm-up.
#ifndef SIGNET_TESTS_BENCH_VERIFY_BENCH_H_
#define SIGNET_TESTS_BENCH_VERIFY_BENCH_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/bench/bench_results.h"
#include "tests/bench/bench_tokens.h"
#include "tests/bench/load_result.h"

namespace signet::bench {

// Adds points op "VerifyMail", token "revocation-off" and "crl-hot" (one
// pair per concurrency, measured one right after the other) and the
// setting "verify_crl_requests_measured": the CRL requests the server saw
// while the hot-cache points were measured (0 when the cache held).
absl::Status RunVerifyComparison(BenchTokens& tokens, const std::string& signetd_path,
                                 const std::vector<int>& concurrency, const Timing& timing,
                                 BenchResults& results);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_VERIFY_BENCH_H_
