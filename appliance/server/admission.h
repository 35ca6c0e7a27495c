// The first step of every call: who the caller is (by its transport
// identity) and whether it is within its rate limit.
#ifndef SIGNET_APPLIANCE_SERVER_ADMISSION_H_
#define SIGNET_APPLIANCE_SERVER_ADMISSION_H_

#include <grpcpp/server_context.h>

#include <string>

#include "absl/status/statusor.h"
#include "appliance/server/appliance.h"

namespace signet::server {

// The caller's configured name; PERMISSION_DENIED for an unknown identity,
// RESOURCE_EXHAUSTED over its rate limit.
absl::StatusOr<std::string> AdmitCaller(grpc::CallbackServerContext& context, Appliance& appliance);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_ADMISSION_H_
