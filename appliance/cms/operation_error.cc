#include "appliance/cms/operation_error.h"

#include <openssl/err.h>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/openssl_error.h"
#include "tokens/provider/token_failure.h"

namespace signet::cms {

void BeginOperation() {
  ERR_clear_error();
  provider::TakeTokenFailure();
}

std::optional<absl::Status> TokenFailure(absl::string_view what) {
  std::optional<absl::Status> failure = provider::TakeTokenFailure();
  if (!failure.has_value()) return std::nullopt;
  ERR_clear_error();
  absl::Status status(failure->code(), absl::StrCat(what, ": ", failure->message()));
  failure->ForEachPayload([&status](absl::string_view type_url, const absl::Cord& payload) {
    status.SetPayload(type_url, payload);
  });
  return status;
}

absl::Status OperationError(absl::string_view what) {
  if (std::optional<absl::Status> token = TokenFailure(what)) return *token;
  return OpenSslError(what);
}

}  // namespace signet::cms
