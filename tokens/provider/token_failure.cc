#include "tokens/provider/token_failure.h"

#include <utility>

namespace signet::provider {
namespace {

thread_local std::optional<absl::Status> last_failure;

}  // namespace

void RecordTokenFailure(const absl::Status& status) {
  if (!status.ok()) last_failure = status;
}

std::optional<absl::Status> TakeTokenFailure() {
  std::optional<absl::Status> failure = std::move(last_failure);
  last_failure.reset();
  return failure;
}

}  // namespace signet::provider
