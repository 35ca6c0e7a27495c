// signetd as the benchmark runs it: a separate process with a config in
// text format, waited for until it serves.
#ifndef SIGNET_TESTS_BENCH_BENCH_DAEMON_H_
#define SIGNET_TESTS_BENCH_BENCH_DAEMON_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/bench/bench_tokens.h"
#include "tests/fixtures/subprocess.h"

namespace signet::bench {

struct DaemonOptions {
  std::string signetd_path;
  // "main": token bench through SoftHSM, on <dir>/main.sock and (with
  // tcp_port) 127.0.0.1:<tcp_port> with mTLS.
  // "overhead": the same as "main" (VerifyMail too, extra_config added), on
  // <dir>/overhead.sock, for the overhead part (overhead_bench.h).
  // "many": token bench-many (10,000 objects) on <dir>/many.sock.
  // "latency": lat-0 .. lat-7 through module_path (the fault-injecting
  // module) with max_in_flight 1 each, on <dir>/latency.sock.
  // "verify-<anything>": no token, VerifyMail only, trusting
  // trust_anchors_file, with extra_config (a validation section) added; on
  // <dir>/<name>.sock.
  // "tsa": token bench through SoftHSM, its key tsa as signetd's RFC 3161
  // TSA (gRPC Timestamp, and HTTP on 127.0.0.1:<tsa_http_port>), and p256
  // signing with stamps from that same TSA when a call asks; on
  // <dir>/tsa.sock.
  // "directory": no token, EncryptMail and Directory.Lookup only, the
  // recipients' CA in trust_anchors_file (revocation off: the bench's
  // certificates name no CRL), the certificate directory's store at
  // store_path (no LDAP, no SMIMEA); on <dir>/directory.sock.
  std::string name;
  std::string module_path;
  int tcp_port = 0;
  int tsa_http_port = 0;
  int max_in_flight = 2;
  std::vector<std::string> environment;
  std::string trust_anchors_file;
  std::string extra_config;
  std::string store_path;
  // "main" and "overhead": audit.group_commit_window_microseconds (0: none).
  uint32_t audit_group_commit_window_micros = 0;
};

class BenchDaemon {
 public:
  static absl::StatusOr<std::unique_ptr<BenchDaemon>> Start(BenchTokens& tokens,
                                                            const DaemonOptions& options);
  pid_t pid() const { return process_->Pid(); }
  std::string Target() const { return "unix:" + socket_; }
  std::string Log() const;

 private:
  BenchDaemon(std::unique_ptr<fixtures::ChildProcess> process, std::string socket, std::string log)
      : process_(std::move(process)), socket_(std::move(socket)), log_(std::move(log)) {}

  std::unique_ptr<fixtures::ChildProcess> process_;
  std::string socket_;
  std::string log_;
};

// Server and client TLS material from tokens.ca(): <dir>/server.{pem,key}
// for localhost, <dir>/client.{pem,key} for CN=bench-client.
absl::Status WriteTlsFiles(BenchTokens& tokens);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_BENCH_DAEMON_H_
