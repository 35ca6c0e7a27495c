// signet-milter through Postfix (issue #19): mails per second that a
// private Postfix (tests/fixtures/postfix.h) accepts over SMTP and delivers
// to an SMTP sink, with and without signet-milter in smtpd_milters, on the
// same machine:
//  - "postfix": Postfix alone, relaying;
//  - "postfix+milter" op "sign": outbound statements signed (policy SIGN);
//  - "postfix+milter" op "sign+encrypt": signed and encrypted
//    (SIGN_AND_ENCRYPT_IF_POSSIBLE) to a recipient whose certificate signetd
//    finds in its directory.
// signetd is fixtures::SignetdEnv (SoftHSM, the demo bank's RSA-2048 keys),
// one signet-milter per policy, a fresh Postfix and sink per point. For each
// mail size and path, `clients` threads each hand mails to smtpd one SMTP
// session at a time: a warm-up (not counted, waited for until delivered),
// then the measured window; the point's rate is the mails accepted in the
// window divided by the time from the window's start until the sink holds
// every one of them (end to end), its latencies those of the SMTP
// transactions (connect to the reply to the final dot). One delivered mail
// per point is checked: in clear for Postfix alone, multipart/signed for
// sign, application/pkcs7-mime without the clear text for sign+encrypt.
// Needs root (Postfix's master runs as root).
#ifndef SIGNET_TESTS_BENCH_MILTER_BENCH_H_
#define SIGNET_TESTS_BENCH_MILTER_BENCH_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/bench/bench_results.h"
#include "tests/bench/load_result.h"

namespace signet::bench {

struct MilterBenchOptions {
  std::string signetd_path;
  std::string milter_path;
  std::vector<size_t> mail_bytes;
  // Concurrent SMTP clients.
  int clients = 4;
  // warmup: clients submit, uncounted, then the bench waits until all of
  // it is delivered; measure: the window in which accepted mails count.
  Timing timing;
  // More main.cf lines for every Postfix instance, after the bench's own
  // (default_destination_concurrency_limit and
  // initial_destination_concurrency 100, see milter_bench.cc) and
  // PostfixOptions' defaults, which they override.
  std::vector<std::string> postfix_main_cf;
};

// Adds one point per size and path: impl "postfix" or "postfix+milter",
// transport "smtp", op "relay", "sign" or "sign+encrypt", algorithm
// "RSA-2048" (the milter's), concurrency = clients, per_second the end-to-end
// rate; server_cpu_seconds_per_1000 is signetd's. Point::extra holds
// accepted_per_second (accepted ÷ the window: smtpd's rate alone),
// submit_seconds, machine_busy_fraction, iowait_ms_per_mail_machine and
// cpu_ms_per_mail_<who>: signetd, signet_milter, postfix (every process of
// the instance, exited ones through master's reaped-children times), bench
// (this process: the SMTP clients and the sink) and machine (all CPUs,
// /proc/stat: all of those and whatever else ran), each over the window
// until the last delivery. Settings: milter_clients, milter_cpus,
// milter_load_average_1m (at the start), milter_ratio_<op>_<bytes> (end to
// end, ÷ Postfix alone), also printed to stderr.
absl::Status RunMilterComparison(const MilterBenchOptions& options, BenchResults& results);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_MILTER_BENCH_H_
