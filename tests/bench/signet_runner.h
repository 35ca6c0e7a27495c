// Runs gRPC loads against one signetd and adds what they cost the server:
// CPU seconds per 1,000 requests and peak RSS from /proc, PKCS#11 calls per
// request from ListTokens (pkcs11_calls), all read before and after.
#ifndef SIGNET_TESTS_BENCH_SIGNET_RUNNER_H_
#define SIGNET_TESTS_BENCH_SIGNET_RUNNER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "signet/v1/keys.grpc.pb.h"
#include "tests/bench/bench_results.h"
#include "tests/bench/grpc_load.h"

namespace signet::bench {

class SignetRunner {
 public:
  // `token`: whose pkcs11_calls to read (its module's counts); empty for a
  // daemon with no token (VerifyMail only).
  SignetRunner(pid_t pid, const std::shared_ptr<grpc::Channel>& control, std::string token)
      : pid_(pid), keys_(v1::Keys::NewStub(control)), token_(std::move(token)) {}

  // Runs `load` over `channels` and fills point.load and the server fields.
  absl::Status Measure(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                       const GrpcLoad& load, Point& point);

 private:
  absl::StatusOr<std::map<std::string, uint64_t>> Calls();

  pid_t pid_;
  std::unique_ptr<v1::Keys::Stub> keys_;
  std::string token_;
};

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_SIGNET_RUNNER_H_
