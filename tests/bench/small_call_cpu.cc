// small_call_cpu: signetd's own CPU per small request (issue #20), beside
// the token's own CPU for the same PKCS#11 operation, on the bench tokens.
//
//   small_call_cpu [--calls-ms 3000] [--concurrency 2] [--rounds 3]
//                  [--only SignMail-P256] [--perf-out FILE]
//                  [--signetd PATH]... [--serve true] [--audit-window-us 0]
//
// For each case (SignMail 1 KiB P-256 and RSA-2048, SignDigest P-256 and
// RSA-2048, DecryptMail RSA-2048 of a 1 KiB mail) it drives signetd's "main"
// daemon (bench_daemon.h) in a closed loop and reads signetd's CPU from
// /proc before and after: CPU per completed call. The raw module's CPU per
// operation (C_SignInit + C_Sign, or C_Decrypt, in this process, one
// thread) is measured the same way; the difference is Signet's overhead.
// Each case is measured --rounds times and the lowest figure kept: the
// machine is shared, and other load only ever adds CPU. Beside it, signetd's
// context switches per call in that round (every hand-off between its
// threads, and every wait, is one or more).
//
// Several --signetd binaries are measured one after the other on the same
// tokens (before and after a change, under the same machine load).
//
// --audit-window-us sets the daemon's audit group_commit_window_microseconds
// (docs/audit.md); p50/p99 are the call latencies of the round kept.
//
// With --perf-out, `perf record` samples signetd during the measured calls
// of the --only case (cpu-clock, DWARF call graphs), for a profile of
// exactly that path.
#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/bench/baselines.h"
#include "tests/bench/bench_daemon.h"
#include "tests/bench/bench_mail.h"
#include "tests/bench/bench_tokens.h"
#include "tests/bench/grpc_load.h"
#include "tests/bench/process_stats.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/subprocess.h"

namespace signet::bench {
namespace {

struct Flags {
  std::chrono::milliseconds calls{3000};
  int concurrency = 2;
  int rounds = 3;
  std::string only;
  std::string perf_out;
  std::vector<std::string> signetd;
  bool serve = false;
  uint32_t audit_window_us = 0;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const char* value = argv[i + 1];
    if (name == "--calls-ms") {
      flags.calls = std::chrono::milliseconds(std::atoi(value));
    } else if (name == "--concurrency") {
      flags.concurrency = std::atoi(value);
    } else if (name == "--rounds") {
      flags.rounds = std::atoi(value);
    } else if (name == "--only") {
      flags.only = value;
    } else if (name == "--signetd") {
      flags.signetd.push_back(value);
    } else if (name == "--serve") {
      flags.serve = std::string(value) == "true";
    } else if (name == "--perf-out") {
      flags.perf_out = value;
    } else if (name == "--audit-window-us") {
      flags.audit_window_us = static_cast<uint32_t>(std::atoi(value));
    } else {
      std::fprintf(stderr, "small_call_cpu: unknown flag %s\n", name.c_str());
      std::exit(2);
    }
  }
  if (flags.signetd.empty()) flags.signetd.push_back(SIGNETD_PATH);
  return flags;
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct Case {
  std::string name;
  Rpc rpc;
  std::string key;
  KeyUnderTest raw;
  bool decrypt;
};

// The token's CPU per operation, one thread in this process.
absl::StatusOr<double> RawMicros(BenchTokens& tokens, const Case& c, const Flags& flags) {
  double best = 0;
  for (int round = 0; round < flags.rounds; ++round) {
    const double before = SelfCpuSeconds();
    absl::StatusOr<std::vector<LoadResult>> loads =
        RunRaw(tokens, c.raw, c.decrypt, {1},
               {.warmup = std::chrono::milliseconds(200), .measure = flags.calls});
    const double after = SelfCpuSeconds();
    if (!loads.ok()) return loads.status();
    const double micros = (after - before) / static_cast<double>((*loads)[0].all_completed) * 1e6;
    if (round == 0 || micros < best) best = micros;
  }
  return best;
}

struct SignetFigure {
  double micros = 0;
  double per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  // signetd's context switches per call, of the same round: each is a
  // thread handing work to another or waiting for it.
  double switches = 0;
};

absl::StatusOr<SignetFigure> SignetMicros(
    BenchDaemon& daemon, const std::vector<std::shared_ptr<grpc::Channel>>& channels, const Case& c,
    const std::string& payload, const Flags& flags, bool profile) {
  SignetFigure best;
  for (int round = 0; round < flags.rounds; ++round) {
    // Warm-up outside the measured span: connections, sessions, caches.
    GrpcLoad load{.rpc = c.rpc,
                  .keys = {c.key},
                  .payload = payload,
                  .concurrency = flags.concurrency,
                  .timing = {.warmup = std::chrono::milliseconds(0),
                             .measure = std::chrono::milliseconds(300)}};
    if (absl::StatusOr<LoadResult> warm = RunGrpcLoad(channels, load); !warm.ok()) {
      return warm.status();
    }
    std::unique_ptr<fixtures::ChildProcess> perf;
    if (profile) {
      absl::StatusOr<std::unique_ptr<fixtures::ChildProcess>> spawned =
          fixtures::ChildProcess::Spawn(
              {"perf", "record", "-e", "cpu-clock", "-F", "1999", "--call-graph", "dwarf,16384",
               "-p", std::to_string(daemon.pid()), "-o", flags.perf_out},
              {}, flags.perf_out + ".log");
      if (!spawned.ok()) return spawned.status();
      perf = std::move(*spawned);
      absl::SleepFor(absl::Milliseconds(500));
    }
    load.timing = {.warmup = std::chrono::milliseconds(0), .measure = flags.calls};
    absl::StatusOr<ProcessStats> before = ReadProcessStats(daemon.pid());
    if (!before.ok()) return before.status();
    absl::StatusOr<LoadResult> result = RunGrpcLoad(channels, load);
    if (!result.ok()) return result.status();
    absl::StatusOr<ProcessStats> after = ReadProcessStats(daemon.pid());
    if (!after.ok()) return after.status();
    if (perf != nullptr) {
      (void)perf->Kill(SIGINT);
      (void)perf->Wait();
    }
    if (result->errors != 0) {
      return absl::InternalError(absl::StrCat(c.name, ": ", result->first_error));
    }
    const double micros = (after->cpu_seconds - before->cpu_seconds) /
                          static_cast<double>(result->all_completed) * 1e6;
    const double switches =
        static_cast<double>(after->context_switches - before->context_switches) /
        static_cast<double>(result->all_completed);
    if (round == 0 || micros < best.micros) {
      best = {micros, result->per_second(), result->latency.PercentileMicros(0.50),
              result->latency.PercentileMicros(0.99), switches};
    }
    if (profile) break;
  }
  return best;
}

absl::Status MeasureBinary(BenchTokens& tokens, const std::string& signetd, const Flags& flags,
                           const std::string& only, const std::string& perf_out,
                           uint32_t audit_window_us) {
  // A fresh audit log per daemon, so each binary starts the same way, and a
  // fresh daemon log: BenchDaemon waits for "serving" in it.
  std::remove(tokens.File("main-audit.log").c_str());
  std::remove(tokens.File("main.log").c_str());
  absl::StatusOr<std::unique_ptr<BenchDaemon>> daemon =
      BenchDaemon::Start(tokens, {.signetd_path = signetd,
                                  .name = "main",
                                  .module_path = fixtures::SoftHsm::ModulePath(),
                                  .max_in_flight = 2,
                                  .audit_group_commit_window_micros = audit_window_us});
  if (!daemon.ok()) return daemon.status();
  auto channels = MakeChannels((*daemon)->Target(), grpc::InsecureChannelCredentials(), 4);
  const std::string mail = BenchMail(1024);
  absl::StatusOr<std::string> encrypted = EncryptWithSignetd(
      channels[0], fixtures::ReadFile(tokens.CertificatePath("bench", "decrypt")), mail);
  if (!encrypted.ok()) return encrypted.status();
  const std::vector<Case> cases = {
      {"SignMail-P256", Rpc::kSignMail, "p256", {"bench", "p256", "P-256"}, false},
      {"SignMail-RSA2048", Rpc::kSignMail, "rsa2048", {"bench", "rsa2048", "RSA-2048"}, false},
      {"SignDigest-P256", Rpc::kSignDigest, "p256", {"bench", "p256", "P-256"}, false},
      {"SignDigest-RSA2048", Rpc::kSignDigest, "rsa2048", {"bench", "rsa2048", "RSA-2048"}, false},
      {"DecryptMail-RSA2048", Rpc::kDecryptMail, "decrypt", {"bench", "decrypt", "RSA-2048"}, true},
  };
  std::printf(
      "signetd %s (audit window %u us, concurrency %d)\n%-22s %12s %12s %12s %10s %9s %9s %10s\n",
      signetd.c_str(), audit_window_us, flags.concurrency, "case", "signetd_us", "token_us",
      "overhead_us", "calls/s", "p50_us", "p99_us", "switches");
  for (const Case& c : cases) {
    if (!only.empty() && c.name != only) continue;
    const std::string payload = c.rpc == Rpc::kSignMail     ? mail
                                : c.rpc == Rpc::kSignDigest ? Sha256Of(mail)
                                                            : *encrypted;
    Flags case_flags = flags;
    case_flags.perf_out = perf_out;
    absl::StatusOr<SignetFigure> signet =
        SignetMicros(**daemon, channels, c, payload, case_flags, !perf_out.empty());
    if (!signet.ok()) return signet.status();
    absl::StatusOr<double> raw = RawMicros(tokens, c, flags);
    if (!raw.ok()) return raw.status();
    std::printf("%-22s %12.1f %12.1f %12.1f %10.0f %9.0f %9.0f %10.2f\n", c.name.c_str(),
                signet->micros, *raw, signet->micros - *raw, signet->per_second, signet->p50_us,
                signet->p99_us, signet->switches);
    std::fflush(stdout);
  }
  return absl::OkStatus();
}

int Run(const Flags& flags) {
  auto fail = [](const absl::Status& status) {
    std::fprintf(stderr, "small_call_cpu: %s\n", status.ToString().c_str());
    return 1;
  };
  absl::StatusOr<std::unique_ptr<BenchTokens>> made = BenchTokens::Create();
  if (!made.ok()) return fail(made.status());
  BenchTokens& tokens = **made;
  if (!flags.serve) {
    for (const std::string& signetd : flags.signetd) {
      if (absl::Status s = MeasureBinary(tokens, signetd, flags, flags.only, flags.perf_out,
                                         flags.audit_window_us);
          !s.ok()) {
        return fail(s);
      }
    }
    return 0;
  }
  // Making the tokens takes minutes on a busy machine: --serve keeps them
  // and measures each line of stdin, "SIGNETD [CASE [PERF_OUT [AUDIT_WINDOW_US]]]"
  // ("-" for a CASE or PERF_OUT left out).
  std::printf("ready\n");
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.empty()) continue;
    words.resize(4);
    for (std::string& word : words) {
      if (word == "-") word.clear();
    }
    const uint32_t window =
        words[3].empty() ? flags.audit_window_us : static_cast<uint32_t>(std::stoul(words[3]));
    if (absl::Status s = MeasureBinary(tokens, words[0], flags, words[1], words[2], window);
        !s.ok()) {
      std::printf("error: %s\n", s.ToString().c_str());
    }
    std::printf("done\n");
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace signet::bench

int main(int argc, char** argv) {
  return signet::bench::Run(signet::bench::ParseFlags(argc, argv));
}
