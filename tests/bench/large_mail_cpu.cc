// large_mail_cpu: issue #20's large-mail rows alone (signetd's CPU per MiB
// and peak memory per call), as `signet_bench --only overhead` measures them
// (overhead_bench.cc), for several signetd binaries on the same tokens.
//
//   large_mail_cpu [--span-ms 2000] [--rounds 1] [--serve true] [--signetd PATH]...
//
// Per binary: a fresh "overhead" daemon (bench_daemon.h); SignMail (P-256),
// EncryptMail (to the RSA-2048 decrypt key), DecryptMail and VerifyMail of
// 1 KiB, 1 MiB and 16 MiB mails, calls one at a time for at least --span-ms
// after one unmeasured call, signetd's CPU per call from /proc; per MiB =
// (CPU at N MiB − at 1 KiB) ÷ (N MiB − 1 KiB). --rounds > 1 keeps the lowest
// per size (other load only adds CPU). Then the peak RSS growth (VmHWM after
// clear_refs, over VmRSS before) of one call of a 50 MiB mail ÷ the mail.
//
// --serve true keeps the tokens and reads stdin lines
// "SIGNETD [perf=FILE] [env=NAME=VALUE]...": perf records signetd
// (cpu-clock, DWARF call graphs) over the 16 MiB calls; env sets the
// daemon's environment (e.g. GLIBC_TUNABLES).
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/bench/bench_daemon.h"
#include "tests/bench/bench_mail.h"
#include "tests/bench/bench_tokens.h"
#include "tests/bench/mail_cost.h"
#include "tests/fixtures/softhsm.h"
#include "tests/fixtures/subprocess.h"

namespace signet::bench {
namespace {

constexpr double kMiB = 1 << 20;

struct Flags {
  std::chrono::milliseconds span{2000};
  int rounds = 1;
  std::vector<std::string> signetd;
  bool serve = false;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const char* value = argv[i + 1];
    if (name == "--span-ms") {
      flags.span = std::chrono::milliseconds(std::atoi(value));
    } else if (name == "--rounds") {
      flags.rounds = std::atoi(value);
    } else if (name == "--signetd") {
      flags.signetd.push_back(value);
    } else if (name == "--serve") {
      flags.serve = std::string(value) == "true";
    } else {
      std::fprintf(stderr, "large_mail_cpu: unknown flag %s\n", name.c_str());
      std::exit(2);
    }
  }
  if (flags.signetd.empty()) flags.signetd.push_back(SIGNETD_PATH);
  return flags;
}

absl::Status MeasureBinary(BenchTokens& tokens, const std::string& signetd, const Flags& flags,
                           const std::string& perf_out, const std::vector<std::string>& env) {
  std::remove(tokens.File("overhead-audit.log").c_str());
  std::remove(tokens.File("overhead.log").c_str());
  ASSIGN_OR_RETURN(
      std::unique_ptr<BenchDaemon> daemon,
      BenchDaemon::Start(tokens, {.signetd_path = signetd,
                                  .name = "overhead",
                                  .module_path = fixtures::SoftHsm::ModulePath(),
                                  .max_in_flight = 2,
                                  .environment = env,
                                  .extra_config = "limits { max_message_bytes: 100663296 }\n"
                                                  "validation { revocation: REVOCATION_OFF }"}));
  const pid_t pid = daemon->pid();
  auto channel = grpc::CreateChannel(daemon->Target(), grpc::InsecureChannelCredentials());
  ASSIGN_OR_RETURN(const MailCalls mail_calls, MakeMailCalls(tokens, v1::Mail::NewStub(channel)));
  const std::vector<size_t> sizes = {1024, size_t{1} << 20, size_t{16} << 20};
  std::printf("signetd %s%s\n%-12s %10s %10s %12s %12s\n", signetd.c_str(),
              env.empty() ? "" : absl::StrCat(" env ", absl::StrJoin(env, " ")).c_str(), "op",
              "1KiB_ms", "1MiB_ms", "1MiB_ms/MiB", "16MiB_ms/MiB");
  for (const LargeMailOp& l : LargeMailOps(mail_calls)) {
    std::vector<double> cpu(sizes.size(), 0);
    for (size_t i = 0; i < sizes.size(); ++i) {
      const std::string mail = BenchMail(sizes[i]);
      std::string input = mail;
      if (l.prepare != nullptr) {
        ASSIGN_OR_RETURN(input, (*l.prepare)(mail, true));
      }
      std::unique_ptr<fixtures::ChildProcess> perf;
      if (!perf_out.empty() && sizes[i] == sizes.back()) {
        ASSIGN_OR_RETURN(perf, fixtures::ChildProcess::Spawn(
                                   {"perf", "record", "-e", "cpu-clock", "-F", "999",
                                    "--call-graph", "dwarf,16384", "-p", std::to_string(pid), "-o",
                                    absl::StrCat(perf_out, ".", l.op)},
                                   {}, absl::StrCat(perf_out, ".", l.op, ".log")));
        absl::SleepFor(absl::Milliseconds(500));
      }
      for (int round = 0; round < flags.rounds; ++round) {
        ASSIGN_OR_RETURN(double seconds, CpuPerCall(pid, absl::FromChrono(flags.span), [&]() {
                           return (*l.call)(input, false).status();
                         }));
        if (round == 0 || seconds < cpu[i]) cpu[i] = seconds;
      }
      if (perf != nullptr) {
        (void)perf->Kill(SIGINT);
        (void)perf->Wait();
      }
    }
    auto per_mib = [&](size_t i) {
      return (cpu[i] - cpu[0]) / (static_cast<double>(sizes[i] - 1024) / kMiB) * 1e3;
    };
    std::printf("%-12s %10.2f %10.2f %12.2f %12.2f\n", l.op, cpu[0] * 1e3, cpu[1] * 1e3, per_mib(1),
                per_mib(2));
    std::fflush(stdout);
  }
  const std::string mail = BenchMail(size_t{50} << 20);
  ASSIGN_OR_RETURN(std::vector<PeakGrowth> growths, PeakGrowthPerCall(pid, mail_calls, mail));
  std::printf("peak memory, 50 MiB:");
  for (const PeakGrowth& g : growths) {
    std::printf(" %s %.2fx (before %.1f MiB)", g.op,
                g.growth_bytes / static_cast<double>(mail.size()), g.rss_before_kb / 1024.0);
  }
  std::printf("\n");
  std::fflush(stdout);
  return absl::OkStatus();
}

int Run(const Flags& flags) {
  auto fail = [](const absl::Status& status) {
    std::fprintf(stderr, "large_mail_cpu: %s\n", status.ToString().c_str());
    return 1;
  };
  absl::StatusOr<std::unique_ptr<BenchTokens>> made = BenchTokens::Create();
  if (!made.ok()) return fail(made.status());
  BenchTokens& tokens = **made;
  if (!flags.serve) {
    for (const std::string& signetd : flags.signetd) {
      if (absl::Status s = MeasureBinary(tokens, signetd, flags, "", {}); !s.ok()) return fail(s);
    }
    return 0;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.empty()) continue;
    std::string perf_out;
    std::vector<std::string> env;
    for (size_t i = 1; i < words.size(); ++i) {
      if (absl::StartsWith(words[i], "perf=")) perf_out = words[i].substr(5);
      if (absl::StartsWith(words[i], "env=")) env.push_back(words[i].substr(4));
    }
    if (absl::Status s = MeasureBinary(tokens, words[0], flags, perf_out, env); !s.ok()) {
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
