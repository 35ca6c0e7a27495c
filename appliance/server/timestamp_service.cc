#include "appliance/server/timestamp_service.h"

#include <memory>
#include <utility>

#include "appliance/server/admission.h"
#include "appliance/server/call_deadline.h"
#include "appliance/server/call_log.h"
#include "appliance/server/exception_status.h"
#include "appliance/server/grpc_status.h"

namespace signet::server {

grpc::ServerUnaryReactor* TimestampService::Timestamp(grpc::CallbackServerContext* context,
                                                      const v1::TimestampRequest* request,
                                                      v1::TimestampResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto log = std::make_shared<CallLog>("Timestamp", request->ByteSizeLong());
  auto finish = [reactor, log, response](const grpc::Status& status) {
    FinishUnary(*reactor, *log, status, *response);
  };
  absl::StatusOr<std::string> caller = AdmitCaller(*context, appliance_);
  if (!caller.ok()) {
    finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  log->set_caller(*caller);
  // The grant first: a caller that may not stamp learns nothing of the TSA.
  if (absl::Status allowed = appliance_.authorizer().Check(*caller, "", config::v1::TIMESTAMP);
      !allowed.ok()) {
    finish(ToGrpcStatus(allowed));
    return reactor;
  }
  if (authority_ == nullptr) {
    finish(ToGrpcStatus(absl::FailedPreconditionError(
        "no time-stamping authority is configured (timestamp_authority)")));
    return reactor;
  }
  log->set_key(authority_->key_name());
  authority_->Stamp(*caller, request->query(), DeadlineOf(*context),
                    [finish, response](absl::StatusOr<TimestampReply> reply) {
                      if (!reply.ok()) return finish(ToGrpcStatus(reply.status()));
                      absl::Status answered = RunCatching([&] {
                        response->set_reply(std::move(reply->der));
                        response->set_status(static_cast<int32_t>(reply->status));
                        response->set_failure(reply->failure);
                      });
                      finish(answered.ok() ? grpc::Status::OK : ToGrpcStatus(answered));
                    });
  return reactor;
}

}  // namespace signet::server
