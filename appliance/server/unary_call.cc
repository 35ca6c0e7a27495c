#include "appliance/server/unary_call.h"

#include <utility>

#include "appliance/server/admission.h"
#include "appliance/server/call_deadline.h"
#include "appliance/server/exception_status.h"
#include "appliance/server/grpc_status.h"
#include "common/status_macros.h"

namespace signet::server {

UnaryCall StartCall(grpc::CallbackServerContext* context, absl::string_view method,
                    const google::protobuf::MessageLite& request,
                    const google::protobuf::MessageLite& response) {
  return {context, std::make_shared<CallLog>(method, request.ByteSizeLong()), &response};
}

grpc::ServerUnaryReactor* RunOn(const UnaryCall& call, WorkQueue& queue, std::string token,
                                std::function<absl::Status()> work) {
  grpc::ServerUnaryReactor* reactor = call.context->DefaultReactor();
  absl::Status submitted =
      queue.Submit(DeadlineOf(*call.context), [reactor, log = call.log, response = call.response,
                                               token, work = std::move(work)](absl::Status start) {
        const absl::Status status = start.ok() ? ResultCatching<absl::Status>(work) : start;
        FinishUnary(*reactor, *log, ToGrpcStatus(status, token), *response);
      });
  if (!submitted.ok()) {
    FinishUnary(*reactor, *call.log, ToGrpcStatus(submitted, token), *call.response);
  }
  return reactor;
}

grpc::ServerUnaryReactor* Refuse(const UnaryCall& call, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = call.context->DefaultReactor();
  FinishUnary(*reactor, *call.log, ToGrpcStatus(status), *call.response);
  return reactor;
}

absl::StatusOr<std::string> Allowed(const UnaryCall& call, Appliance& appliance,
                                    const std::string& key, config::v1::Operation operation) {
  call.log->set_key(key);
  ASSIGN_OR_RETURN(std::string caller, AdmitCaller(*call.context, appliance));
  call.log->set_caller(caller);
  RETURN_IF_ERROR(appliance.authorizer().Check(caller, key, operation));
  return caller;
}

}  // namespace signet::server
