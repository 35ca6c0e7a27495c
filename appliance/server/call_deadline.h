// A call's gRPC deadline as an absl::Time (infinite when the client set
// none), for the work queues.
#ifndef SIGNET_APPLIANCE_SERVER_CALL_DEADLINE_H_
#define SIGNET_APPLIANCE_SERVER_CALL_DEADLINE_H_

#include <grpcpp/server_context.h>

#include <chrono>

#include "absl/time/time.h"

namespace signet::server {

inline absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  if (context.deadline() == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(context.deadline());
}

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_CALL_DEADLINE_H_
