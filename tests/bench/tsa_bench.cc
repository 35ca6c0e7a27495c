#include "tests/bench/tsa_bench.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tests/bench/baselines.h"
#include "tests/bench/bench_daemon.h"
#include "tests/bench/signet_runner.h"
#include "tests/fixtures/free_port.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/subprocess.h"

namespace signet::bench {
namespace {

absl::Status NoErrors(const Point& point, const std::string& what) {
  if (point.load.errors == 0 && point.load.requests > 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " at c=", point.concurrency, ": ",
                                          point.load.requests, " done, ", point.load.errors,
                                          " failed (", point.load.first_error, ")"));
}

}  // namespace

absl::Status RunTsaComparison(BenchTokens& tokens, const TsaBenchOptions& options,
                              BenchResults& results) {
  ASSIGN_OR_RETURN(int http_port, fixtures::FreePort());
  ASSIGN_OR_RETURN(std::unique_ptr<BenchDaemon> daemon,
                   BenchDaemon::Start(tokens, {.signetd_path = options.signetd_path,
                                               .name = "tsa",
                                               .module_path = fixtures::SoftHsm::ModulePath(),
                                               .tsa_http_port = http_port,
                                               .max_in_flight = options.max_in_flight}));
  // The request signetd's own stamping client sends (tsa_client.cc): SHA-256
  // imprint, a nonce, the TSA's certificate asked for. One request serves
  // every call: the TSA keeps no memory of nonces.
  const std::string data = tokens.File("tsa-data.eml");
  const std::string query_path = tokens.File("tsa-query.tsq");
  { std::ofstream(data) << options.mail; }
  RETURN_IF_ERROR(fixtures::RunCommandOk({"openssl", "ts", "-query", "-data", data, "-sha256",
                                          "-cert", "-out", query_path})
                      .status());
  const std::string query = fixtures::ReadFile(query_path);

  auto channels = MakeChannels(daemon->Target(), grpc::InsecureChannelCredentials(), 4);
  SignetRunner runner(daemon->pid(), channels[0], "bench");
  const KeyUnderTest tsa_key{"bench", "tsa", "P-256"};
  for (int c : options.stamp_concurrency) {
    ASSIGN_OR_RETURN(std::vector<LoadResult> raw,
                     RunRaw(tokens, tsa_key, false, {c}, options.timing));
    Point raw_point{.impl = "raw",
                    .transport = "in-process",
                    .op = "sign",
                    .algorithm = "P-256",
                    .token = "bench/tsa",
                    .concurrency = c,
                    .load = raw[0]};
    RETURN_IF_ERROR(NoErrors(raw_point, "raw C_Sign of the TSA key"));
    Point stamps{.impl = "signet",
                 .transport = "unix",
                 .op = "Timestamp",
                 .algorithm = "P-256",
                 .token = "bench",
                 .mail_bytes = query.size()};
    RETURN_IF_ERROR(runner.Measure(channels,
                                   {.rpc = Rpc::kTimestamp,
                                    .keys = {""},
                                    .payload = query,
                                    .concurrency = c,
                                    .timing = options.timing},
                                   stamps));
    RETURN_IF_ERROR(NoErrors(stamps, "Timestamp"));
    std::fprintf(stderr, "bench: tsa c=%d: %.0f stamps/s, raw C_Sign %.0f/s: %.1f%%\n", c,
                 stamps.load.per_second(), raw_point.load.per_second(),
                 100 * stamps.load.per_second() / raw_point.load.per_second());
    results.Add(std::move(raw_point));
    results.Add(std::move(stamps));
  }

  for (int round = 0; round < options.rounds; ++round) {
    for (int c : options.latency_concurrency) {
      const bool stamped_first = round % 2 == 1;
      double p50[2] = {0, 0};
      double p99[2] = {0, 0};
      for (bool stamped : {stamped_first, !stamped_first}) {
        Point point{.impl = "signet",
                    .transport = "unix",
                    .op = "SignMail",
                    .algorithm = "P-256",
                    .token = stamped ? "bench/stamped" : "bench/unstamped",
                    .mail_bytes = options.mail.size()};
        RETURN_IF_ERROR(runner.Measure(channels,
                                       {.rpc = Rpc::kSignMail,
                                        .keys = {"p256"},
                                        .payload = options.mail,
                                        .timestamp = stamped,
                                        .concurrency = c,
                                        .timing = options.timing},
                                       point));
        RETURN_IF_ERROR(NoErrors(point, stamped ? "stamped SignMail" : "SignMail"));
        p50[stamped] = point.load.latency.PercentileMicros(0.5);
        p99[stamped] = point.load.latency.PercentileMicros(0.99);
        results.Add(std::move(point));
      }
      std::fprintf(stderr,
                   "bench: tsa round %d c=%d: SignMail p50 %.0f us -> %.0f us stamped (+%.0f), "
                   "p99 %.0f us -> %.0f us (+%.0f)\n",
                   round + 1, c, p50[0], p50[1], p50[1] - p50[0], p99[0], p99[1], p99[1] - p99[0]);
    }
  }
  results.SetSetting("tsa_max_in_flight", options.max_in_flight);
  results.SetSetting("tsa_latency_rounds", options.rounds);
  return absl::OkStatus();
}

}  // namespace signet::bench
