// signet.v1.Timestamps: signetd's TSA over gRPC, the same DER as its HTTP
// listener. The caller needs a TIMESTAMP grant; the stamp itself runs on the
// TSA key's token queue (timestamp_authority.h).
#ifndef SIGNET_APPLIANCE_SERVER_TIMESTAMP_SERVICE_H_
#define SIGNET_APPLIANCE_SERVER_TIMESTAMP_SERVICE_H_

#include "appliance/server/appliance.h"
#include "appliance/server/timestamp_authority.h"
#include "signet/v1/timestamp.grpc.pb.h"

namespace signet::server {

class TimestampService final : public v1::Timestamps::CallbackService {
 public:
  // `authority` is null when no timestamp_authority is configured (calls are
  // then FAILED_PRECONDITION); both outlive the service.
  TimestampService(Appliance& appliance, TimestampAuthority* authority)
      : appliance_(appliance), authority_(authority) {}

  grpc::ServerUnaryReactor* Timestamp(grpc::CallbackServerContext* context,
                                      const v1::TimestampRequest* request,
                                      v1::TimestampResponse* response) override;

 private:
  Appliance& appliance_;
  TimestampAuthority* const authority_;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_TIMESTAMP_SERVICE_H_
