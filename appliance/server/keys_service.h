// signet.v1.Keys: the tokens and the configured keys on them, and the
// administrator's key generation, certificate requests and certificate
// import. Token work runs on the token's queue, the rest on the CPU queue,
// never on a gRPC thread.
#ifndef SIGNET_APPLIANCE_SERVER_KEYS_SERVICE_H_
#define SIGNET_APPLIANCE_SERVER_KEYS_SERVICE_H_

#include "appliance/server/appliance.h"
#include "signet/v1/keys.grpc.pb.h"

namespace signet::server {

class KeysService final : public v1::Keys::CallbackService {
 public:
  explicit KeysService(Appliance& appliance) : appliance_(appliance) {}

  grpc::ServerUnaryReactor* ListTokens(grpc::CallbackServerContext* context,
                                       const v1::ListTokensRequest* request,
                                       v1::ListTokensResponse* response) override;
  grpc::ServerUnaryReactor* ListKeys(grpc::CallbackServerContext* context,
                                     const v1::ListKeysRequest* request,
                                     v1::ListKeysResponse* response) override;
  grpc::ServerUnaryReactor* GetKey(grpc::CallbackServerContext* context,
                                   const v1::GetKeyRequest* request, v1::Key* response) override;
  grpc::ServerUnaryReactor* GenerateKey(grpc::CallbackServerContext* context,
                                        const v1::GenerateKeyRequest* request,
                                        v1::GeneratedKey* response) override;
  grpc::ServerUnaryReactor* CreateCsr(grpc::CallbackServerContext* context,
                                      const v1::CreateCsrRequest* request,
                                      v1::CreateCsrResponse* response) override;
  grpc::ServerUnaryReactor* ImportCertificate(grpc::CallbackServerContext* context,
                                              const v1::ImportCertificateRequest* request,
                                              v1::Key* response) override;

 private:
  Appliance& appliance_;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_KEYS_SERVICE_H_
