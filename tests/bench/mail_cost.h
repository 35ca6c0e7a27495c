// What issue #20's large-mail rows measure, shared by the overhead part of
// signet_bench (overhead_bench.cc) and large_mail_cpu, so that the two give
// the same figure for the same binary: the four mail operations on the
// bench daemon's keys, signetd's CPU per call, and its peak memory growth
// over one call.
#ifndef SIGNET_TESTS_BENCH_MAIL_COST_H_
#define SIGNET_TESTS_BENCH_MAIL_COST_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/bench/bench_tokens.h"

namespace signet::bench {

// One streamed mail call as clients make it (the size in the header, the
// mail in 64 KiB chunks); the output when `keep`, else nothing.
using MailCall = std::function<absl::StatusOr<std::string>(absl::string_view mail, bool keep)>;

// SignMail with the "p256" key, EncryptMail to the "decrypt" key's
// certificate, DecryptMail with that key, and VerifyMail requiring a
// trusted chain: the bench daemon's keys (bench_daemon.h).
struct MailCalls {
  MailCall sign;
  MailCall encrypt;
  MailCall decrypt;
  MailCall verify;
};

absl::StatusOr<MailCalls> MakeMailCalls(BenchTokens& tokens, std::shared_ptr<v1::Mail::Stub> stub);

// An operation of the per-MiB rows, and what it is given for a mail: the
// mail itself (no prepare), or what another, unmeasured, operation made
// of it (DecryptMail takes the mail encrypted, VerifyMail signed).
struct LargeMailOp {
  const char* op;
  const MailCall* call;
  const MailCall* prepare;
};

std::vector<LargeMailOp> LargeMailOps(const MailCalls& calls);

// signetd's CPU seconds per call, calls one after the other for at least
// `span` (and 3 calls) after one unmeasured call.
absl::StatusOr<double> CpuPerCall(pid_t pid, absl::Duration span,
                                  const std::function<absl::Status()>& call);

// signetd's peak RSS growth over one call of `mail`, for each operation in
// turn on what the one before produced: SignMail, VerifyMail of its output,
// EncryptMail, DecryptMail of its output. The peak is reset by clear_refs
// and read as VmHWM over VmRSS just before (once the RSS has stopped
// falling from the call before), as signetd_large_mail_test measures it.
struct PeakGrowth {
  const char* op;
  double growth_bytes;
  uint64_t rss_before_kb;
};

absl::StatusOr<std::vector<PeakGrowth>> PeakGrowthPerCall(pid_t pid, const MailCalls& calls,
                                                          const std::string& mail);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_MAIL_COST_H_
