// in_process_sign: issue #20's in-process row alone — Signet's token layer
// and provider with OpenSSL's CMS_sign, against libp11 with CMS_sign, the
// same key, mail and threads — with this process's CPU per signature, so
// that the row can be profiled and its rounds repeated.
//
//   in_process_sign [--threads 2] [--rounds 3] [--measure-ms 2500]
//                   [--only P-256|RSA-2048] [--impl both|libp11|signet]
//
// Each round measures libp11, then Signet as signetd opens the bench's
// SoftHSM token (ECDSA signatures unchecked, RSA ones checked: D19), then
// for P-256 Signet with the ECDSA check that card tokens have, on the bench
// token (BenchTokens, "bench" with keys p256 and rsa2048) with a 1 KiB
// mail; --impl libp11|signet measures one (and the check); the process's CPU
// (from /proc) is read around each measured load and divided by every
// signature completed meanwhile, warm-up included. For a profile, run one
// implementation alone under `perf record`.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "tests/bench/baselines.h"
#include "tests/bench/bench_mail.h"
#include "tests/bench/bench_tokens.h"
#include "tests/bench/libp11_signer.h"
#include "tests/bench/process_stats.h"
#include "tests/bench/signet_provider_signer.h"
#include "tests/bench/thread_load.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/softhsm.h"

namespace signet::bench {
namespace {

struct Flags {
  int threads = 2;
  int rounds = 3;
  std::chrono::milliseconds measure{2500};
  std::string only;
  std::string impl = "both";
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const char* value = argv[i + 1];
    if (name == "--threads") {
      flags.threads = std::atoi(value);
    } else if (name == "--rounds") {
      flags.rounds = std::atoi(value);
    } else if (name == "--measure-ms") {
      flags.measure = std::chrono::milliseconds(std::atoi(value));
    } else if (name == "--only") {
      flags.only = value;
    } else if (name == "--impl") {
      flags.impl = value;
    } else {
      std::cerr << "in_process_sign: unknown flag " << name << "\n";
      std::exit(2);
    }
  }
  return flags;
}

struct Measured {
  double per_second = 0;
  double cpu_us_per_signature = 0;
};

// Runs `sign` on `threads` threads and reads this process's CPU around it.
absl::StatusOr<Measured> Measure(int threads, const Timing& timing,
                                 const std::function<absl::Status()>& sign) {
  ASSIGN_OR_RETURN(ProcessStats before, ReadProcessStats(getpid()));
  ASSIGN_OR_RETURN(LoadResult load,
                   RunThreads(threads, timing,
                              [&](int) -> absl::StatusOr<Operation> { return Operation(sign); }));
  ASSIGN_OR_RETURN(ProcessStats after, ReadProcessStats(getpid()));
  if (load.errors > 0 || load.all_completed == 0) {
    return absl::InternalError(absl::StrCat("signing failed: ", load.first_error));
  }
  return Measured{.per_second = load.per_second(),
                  .cpu_us_per_signature = (after.cpu_seconds - before.cpu_seconds) * 1e6 /
                                          static_cast<double>(load.all_completed)};
}

absl::Status Run(const Flags& flags) {
  ASSIGN_OR_RETURN(std::unique_ptr<BenchTokens> tokens, BenchTokens::Create(/*fill_many=*/false));
  const Timing timing{.warmup = std::chrono::milliseconds(300), .measure = flags.measure};
  const std::string mail = BenchMail(1024);
  for (const KeyUnderTest& key :
       {KeyUnderTest{"bench", "p256", "P-256"}, KeyUnderTest{"bench", "rsa2048", "RSA-2048"}}) {
    if (!flags.only.empty() && flags.only != key.algorithm) continue;
    UseInstallation(tokens->HsmOf(key.token));
    const std::string certificate =
        fixtures::ReadFile(tokens->CertificatePath(key.token, key.label));
    ASSIGN_OR_RETURN(std::unique_ptr<Libp11Signer> libp11,
                     Libp11Signer::Open(fixtures::SoftHsm::ModulePath(), key.token, tokens->pin(),
                                        key.label, certificate));
    // As signetd opens a SoftHSM token (no ECDSA check), and as it opens a
    // card (with it): RSA signatures are checked either way.
    ASSIGN_OR_RETURN(
        std::unique_ptr<SignetProviderSigner> signet,
        SignetProviderSigner::Open(fixtures::SoftHsm::ModulePath(), key.token, tokens->pin_file(),
                                   key.label, certificate, flags.threads, /*verify_ecdsa=*/false));
    ASSIGN_OR_RETURN(
        std::unique_ptr<SignetProviderSigner> checked,
        SignetProviderSigner::Open(fixtures::SoftHsm::ModulePath(), key.token, tokens->pin_file(),
                                   key.label, certificate, flags.threads, /*verify_ecdsa=*/true));
    const bool ecdsa = key.algorithm == "P-256";
    for (int round = 1; round <= flags.rounds; ++round) {
      std::string line = absl::StrFormat("%s round %d:", key.algorithm, round);
      Measured of_libp11, of_signet;
      if (flags.impl != "signet") {
        ASSIGN_OR_RETURN(
            of_libp11, Measure(flags.threads, timing, [&] { return libp11->Sign(mail).status(); }));
        absl::StrAppendFormat(&line, " libp11 %.0f/s %.1f µs CPU;", of_libp11.per_second,
                              of_libp11.cpu_us_per_signature);
      }
      if (flags.impl != "libp11") {
        ASSIGN_OR_RETURN(
            of_signet, Measure(flags.threads, timing, [&] { return signet->Sign(mail).status(); }));
        absl::StrAppendFormat(&line, " signet %.0f/s %.1f µs CPU;", of_signet.per_second,
                              of_signet.cpu_us_per_signature);
      }
      if (flags.impl == "both") {
        absl::StrAppendFormat(&line, " ratio %.2f×", of_signet.per_second / of_libp11.per_second);
      }
      if (ecdsa && flags.impl != "libp11") {
        ASSIGN_OR_RETURN(Measured of_checked, Measure(flags.threads, timing, [&] {
                           return checked->Sign(mail).status();
                         }));
        absl::StrAppendFormat(&line, " signet with the ECDSA check %.0f/s %.1f µs CPU;",
                              of_checked.per_second, of_checked.cpu_us_per_signature);
      }
      std::cout << line << std::endl;
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace signet::bench

int main(int argc, char** argv) {
  const signet::bench::Flags flags = signet::bench::ParseFlags(argc, argv);
  if (absl::Status status = signet::bench::Run(flags); !status.ok()) {
    std::cerr << "in_process_sign: " << status << "\n";
    return 1;
  }
  return 0;
}
