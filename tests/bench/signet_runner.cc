#include "tests/bench/signet_runner.h"

#include "absl/strings/str_cat.h"
#include "tests/bench/process_stats.h"

namespace signet::bench {

absl::StatusOr<std::map<std::string, uint64_t>> SignetRunner::Calls() {
  if (token_.empty()) return std::map<std::string, uint64_t>();
  grpc::ClientContext context;
  v1::ListTokensResponse response;
  grpc::Status status = keys_->ListTokens(&context, {}, &response);
  if (!status.ok())
    return absl::UnavailableError(absl::StrCat("ListTokens: ", status.error_message()));
  for (const v1::Token& token : response.tokens()) {
    if (token.name() == token_) {
      return std::map<std::string, uint64_t>(token.pkcs11_calls().begin(),
                                             token.pkcs11_calls().end());
    }
  }
  std::string names;
  for (const v1::Token& token : response.tokens()) absl::StrAppend(&names, " ", token.name());
  return absl::NotFoundError(absl::StrCat("no token ", token_, " among:", names));
}

absl::Status SignetRunner::Measure(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                                   const GrpcLoad& load, Point& point) {
  absl::StatusOr<std::map<std::string, uint64_t>> calls_before = Calls();
  if (!calls_before.ok()) return calls_before.status();
  absl::StatusOr<ProcessStats> before = ReadProcessStats(pid_);
  if (!before.ok()) return before.status();
  absl::StatusOr<LoadResult> result = RunGrpcLoad(channels, load);
  if (!result.ok()) return result.status();
  absl::StatusOr<ProcessStats> after = ReadProcessStats(pid_);
  if (!after.ok()) return after.status();
  absl::StatusOr<std::map<std::string, uint64_t>> calls_after = Calls();
  if (!calls_after.ok()) return calls_after.status();
  point.load = std::move(*result);
  point.concurrency = load.concurrency;
  point.target_per_second = load.target_per_second;
  const double completed = static_cast<double>(point.load.all_completed);
  if (completed > 0) {
    point.server_cpu_seconds_per_1000 =
        (after->cpu_seconds - before->cpu_seconds) / completed * 1000;
    // The two ListTokens calls themselves make no PKCS#11 calls; whatever
    // else changed was made by these requests (and audit checkpoints).
    for (const auto& [function, count] : *calls_after) {
      auto it = calls_before->find(function);
      const uint64_t delta = count - (it == calls_before->end() ? 0 : it->second);
      if (delta != 0)
        point.pkcs11_calls_per_request[function] = static_cast<double>(delta) / completed;
    }
  }
  point.server_peak_rss_kib = after->peak_rss_kib;
  return absl::OkStatus();
}

}  // namespace signet::bench
