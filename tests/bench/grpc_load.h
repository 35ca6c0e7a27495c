// Signet's side of the comparison: many calls in flight against signetd
// over gRPC's callback API, from one client process.
//
// Closed loop (target_per_second == 0): `concurrency` calls are in flight at
// all times, each started the moment the previous one ends. Open loop: calls
// start at a fixed rate whatever the replies do (at most `concurrency` in
// flight), for latency at a given fraction of the peak.
#ifndef SIGNET_TESTS_BENCH_GRPC_LOAD_H_
#define SIGNET_TESTS_BENCH_GRPC_LOAD_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/bench/load_result.h"

namespace signet::bench {

enum class Rpc {
  kSignMail,
  kSignDigest,
  kDecryptMail,
  kVerifyMail,
  kTimestamp,
  // EncryptMail to one recipient: each key is that recipient's DER
  // certificate (recipient_certificates) or, with recipients_by_address,
  // its address (recipient_addresses, resolved by signetd's directory).
  kEncryptMail,
  // Directory.Lookup: each key is an address; a reply without a
  // certificate counts as an error.
  kLookup,
};

struct GrpcLoad {
  Rpc rpc = Rpc::kSignMail;
  // Round robin over these keys (the many-tokens run spreads its calls).
  std::vector<std::string> keys;
  // The mail (SignMail), the CMS message (DecryptMail), the SHA-256 digest
  // (SignDigest), the signed mail (VerifyMail, which takes no key: `keys`
  // then only sets how many copies of the call are kept, one is enough),
  // the DER TimeStampReq (Timestamp, no key either), the mail
  // (EncryptMail), nothing (Lookup).
  std::string payload;
  // EncryptMail: the keys are addresses, not certificates.
  bool recipients_by_address = false;
  // SignMail: SignOptions.timestamp, a stamp on each signature.
  bool timestamp = false;
  int concurrency = 1;
  double target_per_second = 0;
  Timing timing;
};

// Channels to spread the calls over: real gateways open a few connections,
// and one HTTP/2 connection serialises its frames on one client thread.
std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(
    const std::string& target, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    int count, const std::string& tls_name_override = "");

absl::StatusOr<LoadResult> RunGrpcLoad(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                                       const GrpcLoad& load);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_GRPC_LOAD_H_
