// signet.v1.Mail on gRPC's callback API: each streamed call collects its
// mail (bounded by the size limit), is authorized as soon as its header
// arrives, runs on its token's work queue (never on a gRPC thread), is
// audited, and streams its result back in 64 KiB chunks.
#ifndef SIGNET_APPLIANCE_SERVER_MAIL_SERVICE_H_
#define SIGNET_APPLIANCE_SERVER_MAIL_SERVICE_H_

#include "appliance/server/appliance.h"
#include "signet/v1/mail.grpc.pb.h"

namespace signet::server {

class MailService final : public v1::Mail::CallbackService {
 public:
  explicit MailService(Appliance& appliance) : appliance_(appliance) {}

  grpc::ServerBidiReactor<v1::SignMailRequest, v1::MailResponse>* SignMail(
      grpc::CallbackServerContext* context) override;
  grpc::ServerBidiReactor<v1::EncryptMailRequest, v1::MailResponse>* EncryptMail(
      grpc::CallbackServerContext* context) override;
  grpc::ServerBidiReactor<v1::SignAndEncryptMailRequest, v1::MailResponse>* SignAndEncryptMail(
      grpc::CallbackServerContext* context) override;
  grpc::ServerBidiReactor<v1::DecryptMailRequest, v1::MailResponse>* DecryptMail(
      grpc::CallbackServerContext* context) override;
  grpc::ServerBidiReactor<v1::VerifyMailRequest, v1::MailResponse>* VerifyMail(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* SignDigest(grpc::CallbackServerContext* context,
                                       const v1::SignDigestRequest* request,
                                       v1::SignDigestResponse* response) override;

 private:
  Appliance& appliance_;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_MAIL_SERVICE_H_
