// The certificate directory through signetd (issue #18), on one daemon
// (bench_daemon.h, "directory") whose store was filled before it started:
//  - gRPC Directory.Lookup for random stored addresses at each concurrency:
//    lookups per second, p50, p99, and the store's size on disk;
//  - EncryptMail of a mail to one recipient given by certificate
//    (recipient_certificates) against the same recipient given by address
//    (recipient_addresses, resolved through the directory), each pair
//    measured one right after the other, the order alternating from one
//    concurrency to the next.
// The store is filled directly (CertificateStore::PutAll in transactions of
// 10,000, as directory_store_bench does), not through Publish: distinct
// certificates for user-<i>@bench.example, each issued by a customer CA
// that signetd trusts for recipients, for encryption (keyAgreement), all
// on one P-256 key pair.
#ifndef SIGNET_TESTS_BENCH_DIRECTORY_BENCH_H_
#define SIGNET_TESTS_BENCH_DIRECTORY_BENCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/bench/bench_results.h"
#include "tests/bench/bench_tokens.h"
#include "tests/bench/load_result.h"

namespace signet::bench {

struct DirectoryBenchOptions {
  std::string signetd_path;
  // Certificates in the store (one address each).
  uint64_t certificates = 100000;
  // Lookup, and EncryptMail both ways, at each of these.
  std::vector<int> concurrency;
  std::string mail;
  Timing timing;
};

// Adds points impl "signet" op "Lookup" token "directory", and op
// "EncryptMail" token "by-certificate" and "by-address" (one pair per
// concurrency), and the settings directory_certificates,
// directory_fill_seconds, directory_store_bytes (the SQLite file, closed
// and checkpointed, before signetd opened it), directory_store_wal_bytes,
// directory_lookup_addresses and directory_encrypt_recipients (how many
// distinct stored addresses the loads cycle through). Prints rates,
// latencies and the address ÷ certificate ratios to stderr as it goes.
absl::Status RunDirectoryComparison(BenchTokens& tokens, const DirectoryBenchOptions& options,
                                    BenchResults& results);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_DIRECTORY_BENCH_H_
