// How a failed OpenSSL call inside a CMS operation becomes a Status: the
// token's own failure when the provider met one (keeping its code, CKR_*
// payload and retryable mark, so an absent or locked-out token is reported as
// such), otherwise OpenSSL's reasons.
#ifndef SIGNET_APPLIANCE_CMS_OPERATION_ERROR_H_
#define SIGNET_APPLIANCE_CMS_OPERATION_ERROR_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace signet::cms {

// Clears failures left over from earlier work on this thread; call it before
// the OpenSSL calls of an operation.
void BeginOperation();

// The token failure recorded since BeginOperation, prefixed with `what`,
// with OpenSSL's error queue cleared; nullopt when no token failed.
std::optional<absl::Status> TokenFailure(absl::string_view what);

// TokenFailure(what) if there is one, else an INTERNAL status with
// OpenSSL's reasons (the queue drained).
absl::Status OperationError(absl::string_view what);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_OPERATION_ERROR_H_
