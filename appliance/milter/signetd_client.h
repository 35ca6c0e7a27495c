// signet-milter's side of signetd's API: one long-lived channel (a unix
// socket, or TCP with mutual TLS) and the mail calls the milter makes, each
// with its own deadline, the mail streamed in 64 KiB chunks as the API
// asks. The milter holds no key: every key operation is signetd's.
#ifndef SIGNET_APPLIANCE_MILTER_SIGNETD_CLIENT_H_
#define SIGNET_APPLIANCE_MILTER_SIGNETD_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "signet/v1/errors.pb.h"
#include "signet/v1/mail.grpc.pb.h"

namespace signet::milter {

struct SignetdClientOptions {
  // Exactly one: signetd's unix socket, or "host:port" with mTLS.
  std::string socket;
  std::string server;
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  // The name the server's certificate must carry, when not the host's.
  std::string tls_name;
  // Each call's deadline.
  absl::Duration timeout = absl::Seconds(120);
};

// What a mail call gave: the call's status (with signetd's ErrorDetails
// parsed), the response header and the output mail.
struct MailResult {
  grpc::Status status;
  ::signet::v1::ErrorDetails details;
  ::signet::v1::MailResponse::Header header;
  std::string mail;
};

class SignetdClient {
 public:
  // Reads the TLS files; connects lazily (a signetd that is down now may be
  // up for the first mail).
  static absl::StatusOr<std::unique_ptr<SignetdClient>> Create(SignetdClientOptions options);

  MailResult SignMail(const std::string& key, bool timestamp, const std::string& mail);
  MailResult SignAndEncryptMail(const std::string& key, bool timestamp,
                                const std::vector<std::string>& recipient_addresses,
                                const std::string& mail);
  MailResult EncryptMail(const std::vector<std::string>& recipient_addresses,
                         const std::string& mail);
  MailResult DecryptMail(const std::string& key, const std::string& mail);
  MailResult VerifyMail(const std::string& mail);

 private:
  SignetdClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
      : stub_(::signet::v1::Mail::NewStub(channel)),
        channel_(std::move(channel)),
        timeout_(timeout) {}

  template <typename Request>
  MailResult Stream(std::unique_ptr<grpc::ClientReaderWriter<Request, ::signet::v1::MailResponse>> (
                        ::signet::v1::Mail::Stub::*method)(grpc::ClientContext*),
                    const typename Request::Header& header, const std::string& mail);

  std::unique_ptr<::signet::v1::Mail::Stub> stub_;
  std::shared_ptr<grpc::Channel> channel_;
  absl::Duration timeout_;
};

// Whether a failed call may succeed when the mail is tried again later
// (signetd down, slow, a token away, its queue full, its audit log
// stopped): the milter then answers 4xx and the MTA keeps the mail.
bool IsTemporary(const MailResult& result);

}  // namespace signet::milter

#endif  // SIGNET_APPLIANCE_MILTER_SIGNETD_CLIENT_H_
