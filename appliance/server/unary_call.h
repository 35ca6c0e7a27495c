// The common shape of signetd's unary calls (Keys, Directory): a log line
// per call, the caller admitted and authorised, the work run on a queue,
// never on gRPC's threads, and the call finished with its status.
#ifndef SIGNET_APPLIANCE_SERVER_UNARY_CALL_H_
#define SIGNET_APPLIANCE_SERVER_UNARY_CALL_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/server/appliance.h"
#include "appliance/server/call_log.h"
#include "appliance/server/work_queue.h"
#include "google/protobuf/message_lite.h"
#include "signet/config/v1/config.pb.h"

namespace signet::server {

// One unary call: its reactor, its log line and its response. Every call
// ends through RunOn or Refuse, which write the line before the status.
struct UnaryCall {
  grpc::CallbackServerContext* context;
  std::shared_ptr<CallLog> log;
  const google::protobuf::MessageLite* response;
};

UnaryCall StartCall(grpc::CallbackServerContext* context, absl::string_view method,
                    const google::protobuf::MessageLite& request,
                    const google::protobuf::MessageLite& response);

// Runs `work` on `queue` and finishes the call with its status.
grpc::ServerUnaryReactor* RunOn(const UnaryCall& call, WorkQueue& queue, std::string token,
                                std::function<absl::Status()> work);

grpc::ServerUnaryReactor* Refuse(const UnaryCall& call, const absl::Status& status);

// The caller, allowed `operation` on `key` ("" for the whole appliance);
// the caller and the key are named in the call's log line.
absl::StatusOr<std::string> Allowed(const UnaryCall& call, Appliance& appliance,
                                    const std::string& key, config::v1::Operation operation);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_UNARY_CALL_H_
