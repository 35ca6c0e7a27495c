#include "appliance/server/grpc_status.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "appliance/cms/recipient_check.h"
#include "appliance/cms/verifier.h"
#include "common/log.h"
#include "signet/v1/errors.pb.h"
#include "tokens/ck_status.h"

namespace signet::server {

namespace {
constexpr char kDetailsPayload[] = "type.signet.dev/signet.v1.ErrorDetails";
}  // namespace

void SetErrorDetails(absl::Status& status, const v1::ErrorDetails& details) {
  status.SetPayload(kDetailsPayload, absl::Cord(details.SerializeAsString()));
}

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view token) {
  if (status.ok()) return grpc::Status::OK;
  // absl's codes are gRPC's codes, number for number.
  const auto code = static_cast<grpc::StatusCode>(static_cast<int>(status.code()));
  // INTERNAL and UNKNOWN messages may hold OpenSSL's error text: a bug of
  // ours, nothing a caller can act on, and not for the outside to read.
  std::string message(status.message());
  if (status.code() == absl::StatusCode::kInternal || status.code() == absl::StatusCode::kUnknown) {
    message = "internal error";
    // The operator still needs the cause; the log is where it goes.
    Log(LogLevel::kError, absl::StrCat("internal error", token.empty() ? "" : " on token '", token,
                                       token.empty() ? "" : "'", ": ", status.message()));
  }
  v1::ErrorDetails details;
  if (std::optional<CK_RV> rv = CkRvOf(status)) details.set_ckr(CkrName(*rv));
  details.set_retryable(IsRetryable(status));
  details.set_token(std::string(token));
  if (std::optional<cms::VerifyFailure> failure = cms::VerifyFailureOf(status)) {
    details.set_verify_failure(cms::VerifyFailureName(*failure));
  }
  if (std::optional<cms::RecipientRefusal> refusal = cms::RecipientRefusalOf(status)) {
    v1::RecipientRefusal* out = details.mutable_recipient_refusal();
    out->set_index(refusal->index);
    out->set_subject(refusal->subject);
    for (const std::string& email : refusal->email_addresses) out->add_email_addresses(email);
    out->set_failure(cms::RecipientFailureName(refusal->failure));
    out->set_revocation_reason(refusal->revocation_reason);
  }
  if (absl::optional<absl::Cord> attached = status.GetPayload(kDetailsPayload)) {
    v1::ErrorDetails more;
    if (more.ParseFromString(std::string(*attached))) details.MergeFrom(more);
  }
  return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace signet::server
