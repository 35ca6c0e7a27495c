// signet_bench: the benchmark of issue #7 in one invocation. Makes the
// tokens (bench_tokens.h), starts two signetd (bench_daemon.h), measures the
// baselines and Signet on the same keys, and writes every point to a JSON
// file. Run by scripts/bench, which also writes the report.
//
//   signet_bench --out results.json [--warmup-ms 500] [--measure-ms 2500]
//                [--workers 2] [--only verify|tsa|directory|milter|overhead]
//                [--certificates 100000] [--smtp-clients 4]
// --only overhead measures issue #20's rows alone (overhead_bench.h, about
// 2 minutes; also the last part of the full run),
// --only verify runs the VerifyMail comparison alone (verify_bench.h),
// --only tsa the time-stamping one (tsa_bench.h), --only directory the
// certificate directory's (directory_bench.h) on a store of
// --certificates certificates (filling 100,000 took 34 s on 2 shared cores,
// 1,000,000 took 536 s), --only milter Postfix with and without
// signet-milter (milter_bench.h; needs root), --smtp-clients SMTP clients
// at once, 4 KiB and 1 MiB statements, each point a fresh Postfix warmed
// for --warmup-ms and measured for --measure-ms (about 30 s in all with
// --warmup-ms 1000 --measure-ms 5000). The directory and milter parts run
// only when asked for.
#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/bench/baselines.h"
#include "tests/bench/bench_daemon.h"
#include "tests/bench/bench_mail.h"
#include "tests/bench/bench_results.h"
#include "tests/bench/bench_tokens.h"
#include "tests/bench/directory_bench.h"
#include "tests/bench/milter_bench.h"
#include "tests/bench/overhead_bench.h"
#include "tests/bench/signet_runner.h"
#include "tests/bench/tsa_bench.h"
#include "tests/bench/verify_bench.h"
#include "tests/fixtures/free_port.h"
#include "tests/fixtures/read_file.h"

namespace signet::bench {
namespace {

const std::vector<int> kFull = {1, 2, 4, 16, 64, 256};
const std::vector<int> kFew = {1, 2, 16};
const std::vector<int> kHigh = {1, 2, 16, 64};

struct Flags {
  std::string out = "results.json";
  Timing timing;
  int workers = 2;
  std::string only;
  uint64_t certificates = 100000;
  int smtp_clients = 4;
  std::vector<std::string> postfix_main_cf;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const char* value = argv[i + 1];
    if (name == "--out") {
      flags.out = value;
    } else if (name == "--warmup-ms") {
      flags.timing.warmup = std::chrono::milliseconds(std::atoi(value));
    } else if (name == "--measure-ms") {
      flags.timing.measure = std::chrono::milliseconds(std::atoi(value));
    } else if (name == "--workers") {
      flags.workers = std::atoi(value);
    } else if (name == "--only" &&
               (std::string(value) == "verify" || std::string(value) == "tsa" ||
                std::string(value) == "directory" || std::string(value) == "milter" ||
                std::string(value) == "overhead")) {
      flags.only = value;
    } else if (name == "--certificates") {
      flags.certificates = std::strtoull(value, nullptr, 10);
    } else if (name == "--smtp-clients") {
      flags.smtp_clients = std::atoi(value);
    } else if (name == "--postfix-main-cf") {
      flags.postfix_main_cf.push_back(value);
    } else {
      std::fprintf(stderr, "signet_bench: unknown flag %s\n", name.c_str());
      std::exit(2);
    }
  }
  return flags;
}

// Stamps against raw C_Sign at the concurrencies of the signing points;
// SignMail with and without a stamp at those of the other comparisons.
TsaBenchOptions TsaOptions(const Flags& flags, const std::string& mail) {
  return {.signetd_path = SIGNETD_PATH,
          .max_in_flight = flags.workers,
          .stamp_concurrency = kFull,
          .latency_concurrency = kFew,
          .rounds = 2,
          .mail = mail,
          .timing = flags.timing};
}

// Issue #20's rows: signetd's own CPU per call and per MiB, its memory per
// call, latency at 70% of the peak.
OverheadOptions OverheadOptionsOf(const Flags& flags) {
  return {.signetd_path = SIGNETD_PATH,
          .max_in_flight = flags.workers,
          .mail = [](size_t bytes) { return BenchMail(bytes); },
          .timing = flags.timing};
}

int Run(const Flags& flags) {
  const auto started = absl::Now();
  BenchResults results;
  auto fail = [&](const absl::Status& status) {
    std::fprintf(stderr, "signet_bench: %s\n", status.ToString().c_str());
    (void)results.Write(flags.out);
    return 1;
  };
  results.SetSetting("warmup_ms", static_cast<double>(flags.timing.warmup.count()));
  results.SetSetting("measure_ms", static_cast<double>(flags.timing.measure.count()));
  // Its own signetd (fixtures::SignetdEnv): none of the bench's tokens.
  if (flags.only == "milter") {
    if (absl::Status s = RunMilterComparison({.signetd_path = SIGNETD_PATH,
                                              .milter_path = SIGNET_MILTER_PATH,
                                              .mail_bytes = {4096, 1 << 20},
                                              .clients = flags.smtp_clients,
                                              .timing = flags.timing,
                                              .postfix_main_cf = flags.postfix_main_cf},
                                             results);
        !s.ok()) {
      return fail(s);
    }
    results.SetSetting("wall_seconds", absl::ToDoubleSeconds(absl::Now() - started));
    if (absl::Status s = results.Write(flags.out); !s.ok()) return fail(s);
    return 0;
  }
  const bool fill_many = flags.only != "overhead";
  std::fprintf(stderr, "bench: making tokens%s...\n", fill_many ? " (10,000 objects on one)" : "");
  absl::StatusOr<std::unique_ptr<BenchTokens>> made = BenchTokens::Create(fill_many);
  if (!made.ok()) return fail(made.status());
  BenchTokens& tokens = **made;
  if (absl::Status s = WriteTlsFiles(tokens); !s.ok()) return fail(s);
  if (flags.only == "verify") {
    if (absl::Status s = RunVerifyComparison(tokens, SIGNETD_PATH, kFew, flags.timing, results);
        !s.ok()) {
      return fail(s);
    }
    results.SetSetting("wall_seconds", absl::ToDoubleSeconds(absl::Now() - started));
    if (absl::Status s = results.Write(flags.out); !s.ok()) return fail(s);
    return 0;
  }
  if (flags.only == "tsa") {
    if (absl::Status s = RunTsaComparison(tokens, TsaOptions(flags, BenchMail(1024)), results);
        !s.ok()) {
      return fail(s);
    }
    results.SetSetting("wall_seconds", absl::ToDoubleSeconds(absl::Now() - started));
    if (absl::Status s = results.Write(flags.out); !s.ok()) return fail(s);
    return 0;
  }
  if (flags.only == "overhead") {
    if (absl::Status s = RunOverhead(tokens, OverheadOptionsOf(flags), results); !s.ok()) {
      return fail(s);
    }
    results.SetSetting("wall_seconds", absl::ToDoubleSeconds(absl::Now() - started));
    if (absl::Status s = results.Write(flags.out); !s.ok()) return fail(s);
    return 0;
  }
  if (flags.only == "directory") {
    if (absl::Status s = RunDirectoryComparison(tokens,
                                                {.signetd_path = SIGNETD_PATH,
                                                 .certificates = flags.certificates,
                                                 .concurrency = {1, 2, 4, 16},
                                                 .mail = BenchMail(4096),
                                                 .timing = flags.timing},
                                                results);
        !s.ok()) {
      return fail(s);
    }
    results.SetSetting("wall_seconds", absl::ToDoubleSeconds(absl::Now() - started));
    if (absl::Status s = results.Write(flags.out); !s.ok()) return fail(s);
    return 0;
  }
  absl::StatusOr<int> port = fixtures::FreePort();
  if (!port.ok()) return fail(port.status());
  absl::StatusOr<std::unique_ptr<BenchDaemon>> main_daemon =
      BenchDaemon::Start(tokens, {.signetd_path = SIGNETD_PATH,
                                  .name = "main",
                                  .module_path = fixtures::SoftHsm::ModulePath(),
                                  .tcp_port = *port,
                                  .max_in_flight = flags.workers});
  if (!main_daemon.ok()) return fail(main_daemon.status());
  absl::StatusOr<std::unique_ptr<BenchDaemon>> many_daemon =
      BenchDaemon::Start(tokens, {.signetd_path = SIGNETD_PATH,
                                  .name = "many",
                                  .module_path = fixtures::SoftHsm::ModulePath(),
                                  .max_in_flight = flags.workers});
  if (!many_daemon.ok()) return fail(many_daemon.status());
  absl::StatusOr<std::unique_ptr<BenchDaemon>> latency_daemon = BenchDaemon::Start(
      tokens,
      {.signetd_path = SIGNETD_PATH,
       .name = "latency",
       .module_path = SIGNET_FAULT_MODULE,
       .environment = {"SIGNET_FAULT_LATENCY=C_Sign=50000",
                       absl::StrCat("SIGNET_FAULT_TARGET=", fixtures::SoftHsm::ModulePath())}});
  if (!latency_daemon.ok()) return fail(latency_daemon.status());
  results.SetSetting("setup_seconds", absl::ToDoubleSeconds(absl::Now() - started));
  results.SetSetting("signetd_max_in_flight", flags.workers);
  results.SetSetting("many_token_objects", static_cast<double>(kManyObjects));
  results.SetSetting("latency_tokens", kLatencyTokens);
  results.SetSetting("latency_c_sign_us", 50000);

  const std::string mail_1k = BenchMail(1024);
  const std::string mail_1m = BenchMail(1 << 20);
  const std::string mail_path = tokens.File("mail-1k.eml");
  { std::ofstream(mail_path) << mail_1k; }
  const Timing& timing = flags.timing;
  const std::vector<KeyUnderTest> algorithms = {{"bench", "rsa2048", "RSA-2048"},
                                                {"bench", "rsa3072", "RSA-3072"},
                                                {"bench", "p256", "P-256"}};

  auto add_all = [&](Point base, const std::vector<int>& concurrency,
                     const std::vector<LoadResult>& loads) {
    for (size_t i = 0; i < loads.size(); ++i) {
      Point point = base;
      point.concurrency = concurrency[i];
      point.load = loads[i];
      results.Add(std::move(point));
    }
  };

  // Baselines first, with both daemons idle.
  for (const KeyUnderTest& key : algorithms) {
    absl::StatusOr<std::vector<LoadResult>> raw = RunRaw(tokens, key, false, kFull, timing);
    if (!raw.ok()) return fail(raw.status());
    add_all({.impl = "raw",
             .transport = "in-process",
             .op = "sign",
             .algorithm = key.algorithm,
             .token = key.token},
            kFull, *raw);
  }
  std::string mechanism;
  absl::StatusOr<std::vector<LoadResult>> raw_decrypt =
      RunRaw(tokens, {"bench", "decrypt", "RSA-2048"}, true, kHigh, timing, &mechanism);
  if (!raw_decrypt.ok()) return fail(raw_decrypt.status());
  std::fprintf(stderr, "bench: raw decryption uses %s\n", mechanism.c_str());
  add_all({.impl = "raw",
           .transport = "in-process",
           .op = "decrypt",
           .algorithm = "RSA-2048",
           .token = "bench"},
          kHigh, *raw_decrypt);
  const std::vector<int> many_points = {2, 16, 64};
  absl::StatusOr<std::vector<LoadResult>> raw_many =
      RunRaw(tokens, {"bench-many", "rsa2048", "RSA-2048"}, false, many_points, timing);
  if (!raw_many.ok()) return fail(raw_many.status());
  add_all({.impl = "raw",
           .transport = "in-process",
           .op = "sign",
           .algorithm = "RSA-2048",
           .token = "bench-many"},
          many_points, *raw_many);
  for (const KeyUnderTest& key : algorithms) {
    absl::StatusOr<std::vector<LoadResult>> libp11 = RunLibp11(tokens, key, mail_1k, kFew, timing);
    if (!libp11.ok()) return fail(libp11.status());
    add_all({.impl = "libp11",
             .transport = "in-process",
             .op = "sign",
             .algorithm = key.algorithm,
             .token = key.token,
             .mail_bytes = mail_1k.size()},
            kFew, *libp11);
  }
  const std::vector<int> cli_points = {2, 16};
  for (const KeyUnderTest& key : algorithms) {
    absl::StatusOr<std::vector<LoadResult>> cli =
        RunOpensslCli(tokens, key, mail_path, cli_points, timing);
    if (!cli.ok()) return fail(cli.status());
    add_all({.impl = "openssl-cli",
             .transport = "process-per-message",
             .op = "sign",
             .algorithm = key.algorithm,
             .token = key.token,
             .mail_bytes = mail_1k.size()},
            cli_points, *cli);
  }

  // Signet.
  auto unix_channels =
      MakeChannels((*main_daemon)->Target(), grpc::InsecureChannelCredentials(), 4);
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = fixtures::ReadFile(tokens.ca_path());
  tls.pem_cert_chain = fixtures::ReadFile(tokens.File("client.pem"));
  tls.pem_private_key = fixtures::ReadFile(tokens.File("client.key"));
  auto tcp_channels =
      MakeChannels(absl::StrCat("127.0.0.1:", *port), grpc::SslCredentials(tls), 4, "localhost");
  SignetRunner main_runner((*main_daemon)->pid(), unix_channels[0], "bench");
  auto signet = [&](const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                    SignetRunner& runner, GrpcLoad load, Point base) -> absl::Status {
    base.impl = "signet";
    absl::Status status = runner.Measure(channels, load, base);
    if (!status.ok()) return status;
    results.Add(std::move(base));
    return absl::OkStatus();
  };
  const char* kSignMail = "SignMail";
  for (const KeyUnderTest& key : algorithms) {
    double peak = 0;
    for (int c : kFull) {
      if (absl::Status s = signet(unix_channels, main_runner,
                                  {.rpc = Rpc::kSignMail,
                                   .keys = {key.label},
                                   .payload = mail_1k,
                                   .concurrency = c,
                                   .timing = timing},
                                  {.transport = "unix",
                                   .op = kSignMail,
                                   .algorithm = key.algorithm,
                                   .token = "bench",
                                   .mail_bytes = mail_1k.size()});
          !s.ok()) {
        return fail(s);
      }
      peak = std::max(peak, results.points().back().load.per_second());
    }
    // Open loop at 70% of the peak just measured: latency short of
    // saturation.
    if (absl::Status s = signet(unix_channels, main_runner,
                                {.rpc = Rpc::kSignMail,
                                 .keys = {key.label},
                                 .payload = mail_1k,
                                 .concurrency = 256,
                                 .target_per_second = 0.7 * peak,
                                 .timing = timing},
                                {.transport = "unix",
                                 .op = kSignMail,
                                 .algorithm = key.algorithm,
                                 .token = "bench",
                                 .mail_bytes = mail_1k.size()});
        !s.ok()) {
      return fail(s);
    }
  }
  for (int c : kFew) {
    if (absl::Status s = signet(unix_channels, main_runner,
                                {.rpc = Rpc::kSignMail,
                                 .keys = {"rsa2048"},
                                 .payload = mail_1m,
                                 .concurrency = c,
                                 .timing = timing},
                                {.transport = "unix",
                                 .op = kSignMail,
                                 .algorithm = "RSA-2048",
                                 .token = "bench",
                                 .mail_bytes = mail_1m.size()});
        !s.ok()) {
      return fail(s);
    }
  }
  for (const KeyUnderTest& key : {algorithms[0], algorithms[2]}) {
    for (int c : kHigh) {
      if (absl::Status s = signet(unix_channels, main_runner,
                                  {.rpc = Rpc::kSignDigest,
                                   .keys = {key.label},
                                   .payload = Sha256Of(mail_1k),
                                   .concurrency = c,
                                   .timing = timing},
                                  {.transport = "unix",
                                   .op = "SignDigest",
                                   .algorithm = key.algorithm,
                                   .token = "bench"});
          !s.ok()) {
        return fail(s);
      }
    }
    for (int c : kHigh) {
      if (absl::Status s = signet(tcp_channels, main_runner,
                                  {.rpc = Rpc::kSignMail,
                                   .keys = {key.label},
                                   .payload = mail_1k,
                                   .concurrency = c,
                                   .timing = timing},
                                  {.transport = "tcp-mtls",
                                   .op = kSignMail,
                                   .algorithm = key.algorithm,
                                   .token = "bench",
                                   .mail_bytes = mail_1k.size()});
          !s.ok()) {
        return fail(s);
      }
    }
  }
  absl::StatusOr<std::string> encrypted = EncryptWithSignetd(
      unix_channels[0], fixtures::ReadFile(tokens.CertificatePath("bench", "decrypt")), mail_1k);
  if (!encrypted.ok()) return fail(encrypted.status());
  for (int c : kHigh) {
    if (absl::Status s = signet(unix_channels, main_runner,
                                {.rpc = Rpc::kDecryptMail,
                                 .keys = {"decrypt"},
                                 .payload = *encrypted,
                                 .concurrency = c,
                                 .timing = timing},
                                {.transport = "unix",
                                 .op = "DecryptMail",
                                 .algorithm = "RSA-2048",
                                 .token = "bench",
                                 .mail_bytes = encrypted->size()});
        !s.ok()) {
      return fail(s);
    }
  }
  // The same load on a daemon whose token holds 10,000 objects.
  auto many_channels =
      MakeChannels((*many_daemon)->Target(), grpc::InsecureChannelCredentials(), 4);
  SignetRunner many_runner((*many_daemon)->pid(), many_channels[0], "bench-many");
  for (int c : many_points) {
    if (absl::Status s = signet(many_channels, many_runner,
                                {.rpc = Rpc::kSignMail,
                                 .keys = {"rsa2048"},
                                 .payload = mail_1k,
                                 .concurrency = c,
                                 .timing = timing},
                                {.transport = "unix",
                                 .op = kSignMail,
                                 .algorithm = "RSA-2048",
                                 .token = "bench-many",
                                 .mail_bytes = mail_1k.size()});
        !s.ok()) {
      return fail(s);
    }
  }

  // Tokens as slow as smartcards or a distant HSM: 50 ms per C_Sign, one
  // operation at a time each; one token against eight.
  auto latency_channels =
      MakeChannels((*latency_daemon)->Target(), grpc::InsecureChannelCredentials(), 4);
  SignetRunner latency_runner((*latency_daemon)->pid(), latency_channels[0], "lat-0");
  std::vector<std::string> eight;
  for (int i = 0; i < kLatencyTokens; ++i) eight.push_back(absl::StrCat("lat-", i));
  for (const auto& [keys, token] :
       {std::pair{std::vector<std::string>{"lat-0"}, std::string("lat-0")},
        std::pair{eight, std::string("lat-0..7")}}) {
    for (int c : {16, 64}) {
      if (absl::Status s = signet(latency_channels, latency_runner,
                                  {.rpc = Rpc::kSignMail,
                                   .keys = keys,
                                   .payload = mail_1k,
                                   .concurrency = c,
                                   .timing = timing},
                                  {.transport = "unix",
                                   .op = kSignMail,
                                   .algorithm = "P-256",
                                   .token = token,
                                   .mail_bytes = mail_1k.size()});
          !s.ok()) {
        return fail(s);
      }
    }
  }
  // VerifyMail with and without revocation, on daemons of their own.
  if (absl::Status s = RunVerifyComparison(tokens, SIGNETD_PATH, kFew, timing, results); !s.ok()) {
    return fail(s);
  }
  // signetd as a TSA, and SignMail stamped by it, on a daemon of its own.
  if (absl::Status s = RunTsaComparison(tokens, TsaOptions(flags, mail_1k), results); !s.ok()) {
    return fail(s);
  }
  // signetd's own cost (issue #20), on a daemon of its own.
  if (absl::Status s = RunOverhead(tokens, OverheadOptionsOf(flags), results); !s.ok()) {
    return fail(s);
  }
  results.SetSetting("wall_seconds", absl::ToDoubleSeconds(absl::Now() - started));
  if (absl::Status s = results.Write(flags.out); !s.ok()) return fail(s);
  std::fprintf(stderr, "bench: %zu points in %.0f s, written to %s\n", results.points().size(),
               absl::ToDoubleSeconds(absl::Now() - started), flags.out.c_str());
  return 0;
}

}  // namespace
}  // namespace signet::bench

int main(int argc, char** argv) {
  return signet::bench::Run(signet::bench::ParseFlags(argc, argv));
}
