// The one mapping from Signet's statuses to what a gRPC caller sees
// (proto/signet/v1/errors.proto): the code, a message that never carries
// OpenSSL's or a module's raw text, and ErrorDetails (the CKR_* name, whether
// a retry may succeed, the token, why a mail did not verify).
#ifndef SIGNET_APPLIANCE_SERVER_GRPC_STATUS_H_
#define SIGNET_APPLIANCE_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "signet/v1/errors.pb.h"

namespace signet::server {

// `token`: the configured name of the token the call used, if any.
grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view token = {});

// Attaches details a service fills itself (the unresolved recipient
// addresses) to `status`; ToGrpcStatus merges them into the ErrorDetails it
// sends.
void SetErrorDetails(absl::Status& status, const v1::ErrorDetails& details);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_GRPC_STATUS_H_
