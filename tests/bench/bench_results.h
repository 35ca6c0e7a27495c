// One measured point of the run and the JSON file they all go into
// (scripts/bench turns it into docs/benchmarks.md and the plot).
#ifndef SIGNET_TESTS_BENCH_BENCH_RESULTS_H_
#define SIGNET_TESTS_BENCH_BENCH_RESULTS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/bench/load_result.h"

namespace signet::bench {

struct Point {
  // "raw", "libp11", "openssl-cli", "signet", "postfix", "postfix+milter".
  std::string impl;
  // "in-process", "process-per-message", "unix", "tcp-mtls", "smtp".
  std::string transport;
  // "sign", "decrypt", "SignMail", "SignDigest", "DecryptMail", "VerifyMail",
  // "Timestamp", "Lookup", "EncryptMail"; through Postfix: "relay", "sign",
  // "sign+encrypt".
  std::string op;
  // "RSA-2048", "RSA-3072", "P-256".
  std::string algorithm;
  // "bench" (12 objects), "bench-many" (10,000), "lat-0" or "lat-0..7";
  // VerifyMail: "revocation-off" or "crl-hot" (no token); Lookup:
  // "directory"; EncryptMail: "by-certificate" or "by-address" (no token).
  std::string token;
  size_t mail_bytes = 0;
  int concurrency = 0;
  double target_per_second = 0;  // open loop; 0: closed loop
  LoadResult load;
  // signetd only, over warm-up and window together.
  double server_cpu_seconds_per_1000 = -1;
  long server_peak_rss_kib = -1;
  std::map<std::string, double> pkcs11_calls_per_request;
  // Whatever else a part measures, by name (milter_bench.h: CPU
  // milliseconds per mail of each process, the acceptance rate).
  std::map<std::string, double> extra;
};

// One row of a part's table of targets, as measured in the run (the
// overhead part, overhead_bench.h, writes the rows of issue #20).
struct TargetRow {
  std::string measure;
  std::string target;    // "≤ 80 µs"
  std::string measured;  // the figure and how it was made, as printed
  double value = 0;      // the figure compared with the target, in `unit`
  std::string unit;
  int met = -1;  // 1 met, 0 not met, -1 not measured or no target
};

class BenchResults {
 public:
  void Add(Point point);
  void AddTarget(TargetRow row) { targets_.push_back(std::move(row)); }
  const std::vector<TargetRow>& targets() const { return targets_; }
  void SetSetting(const std::string& name, double value) { settings_[name] = value; }
  const std::vector<Point>& points() const { return points_; }
  absl::Status Write(const std::string& path) const;

 private:
  std::vector<Point> points_;
  std::vector<TargetRow> targets_;
  std::map<std::string, double> settings_;
};

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_BENCH_RESULTS_H_
