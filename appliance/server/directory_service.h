// signet.v1.Directory: Lookup for callers with LOOKUP_CERTIFICATES;
// Publish, Remove and List for operators with PUBLISH_CERTIFICATES, the
// first two audited (PUBLISH_CERTIFICATE, REMOVE_CERTIFICATE, the record's
// input_sha256 the certificate's fingerprint). The work runs on the
// directory's queue.
#ifndef SIGNET_APPLIANCE_SERVER_DIRECTORY_SERVICE_H_
#define SIGNET_APPLIANCE_SERVER_DIRECTORY_SERVICE_H_

#include "appliance/server/appliance.h"
#include "signet/v1/directory.grpc.pb.h"

namespace signet::server {

class DirectoryService final : public v1::Directory::CallbackService {
 public:
  explicit DirectoryService(Appliance& appliance) : appliance_(appliance) {}

  grpc::ServerUnaryReactor* Lookup(grpc::CallbackServerContext* context,
                                   const v1::LookupRequest* request,
                                   v1::LookupResponse* response) override;
  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* context,
                                    const v1::PublishRequest* request,
                                    v1::PublishResponse* response) override;
  grpc::ServerUnaryReactor* Remove(grpc::CallbackServerContext* context,
                                   const v1::RemoveRequest* request,
                                   v1::RemoveResponse* response) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const v1::ListRequest* request,
                                 v1::ListResponse* response) override;

 private:
  Appliance& appliance_;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_DIRECTORY_SERVICE_H_
