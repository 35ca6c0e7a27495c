#include "appliance/milter/signetd_client.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/read_file.h"

namespace signet::milter {
namespace {

constexpr size_t kChunkBytes = 64 << 10;

// TLS credentials: a certificate chain, a key or a CA list, never large.
constexpr size_t kMaxCredentialBytes = 1 << 20;

absl::StatusOr<std::string> ReadCredential(const std::string& path) {
  return ReadFileUpTo(path, kMaxCredentialBytes, "not a PEM credential file");
}

// gRPC's reconnect backoff grows to 120 s by default: after an outage of
// some seconds a signetd back up was not tried again within a call's
// deadline, and mail kept being deferred. signetd is local or on the LAN; a
// connection attempt a second costs nothing.
grpc::ChannelArguments ReconnectQuickly() {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 250);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return arguments;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SignetdClient>> SignetdClient::Create(SignetdClientOptions options) {
  if (options.socket.empty() == options.server.empty()) {
    return absl::InvalidArgumentError(
        "signetd is reached by a unix socket or a server, one of them");
  }
  std::shared_ptr<grpc::Channel> channel;
  if (!options.socket.empty()) {
    channel = grpc::CreateCustomChannel(absl::StrCat("unix:", options.socket),
                                        grpc::InsecureChannelCredentials(), ReconnectQuickly());
  } else {
    grpc::SslCredentialsOptions ssl;
    absl::StatusOr<std::string> ca = ReadCredential(options.ca_file);
    if (!ca.ok()) return ca.status();
    absl::StatusOr<std::string> cert = ReadCredential(options.cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadCredential(options.key_file);
    if (!key.ok()) return key.status();
    ssl.pem_root_certs = *std::move(ca);
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
    grpc::ChannelArguments arguments = ReconnectQuickly();
    if (!options.tls_name.empty()) arguments.SetSslTargetNameOverride(options.tls_name);
    channel = grpc::CreateCustomChannel(options.server, grpc::SslCredentials(ssl), arguments);
  }
  return std::unique_ptr<SignetdClient>(new SignetdClient(std::move(channel), options.timeout));
}

template <typename Request>
MailResult SignetdClient::Stream(
    std::unique_ptr<grpc::ClientReaderWriter<Request, ::signet::v1::MailResponse>> (
        ::signet::v1::Mail::Stub::*method)(grpc::ClientContext*),
    const typename Request::Header& header, const std::string& mail) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  // A signetd restarting is waited for within the deadline rather than
  // failing the mail at once: the MTA's retry would come later still.
  context.set_wait_for_ready(true);
  auto stream = (stub_.get()->*method)(&context);
  Request first;
  *first.mutable_header() = header;
  bool sent = stream->Write(first);
  for (size_t offset = 0; sent && offset < mail.size(); offset += kChunkBytes) {
    Request chunk;
    chunk.set_chunk(mail.substr(offset, kChunkBytes));
    sent = stream->Write(chunk);
  }
  stream->WritesDone();
  MailResult result;
  ::signet::v1::MailResponse response;
  while (stream->Read(&response)) {
    if (response.has_header()) {
      result.header = std::move(*response.mutable_header());
    } else {
      result.mail += response.chunk();
    }
  }
  result.status = stream->Finish();
  if (!result.status.ok()) {
    result.details.ParseFromString(result.status.error_details());
    result.mail.clear();
  }
  return result;
}

MailResult SignetdClient::SignMail(const std::string& key, bool timestamp,
                                   const std::string& mail) {
  ::signet::v1::SignMailRequest::Header header;
  header.set_key(key);
  header.mutable_options()->set_timestamp(timestamp);
  header.set_size(mail.size());
  return Stream<::signet::v1::SignMailRequest>(&::signet::v1::Mail::Stub::SignMail, header, mail);
}

MailResult SignetdClient::SignAndEncryptMail(const std::string& key, bool timestamp,
                                             const std::vector<std::string>& recipient_addresses,
                                             const std::string& mail) {
  ::signet::v1::SignAndEncryptMailRequest::Header header;
  header.set_signing_key(key);
  header.mutable_sign()->set_timestamp(timestamp);
  for (const std::string& address : recipient_addresses) {
    header.mutable_encrypt()->add_recipient_addresses(address);
  }
  header.set_size(mail.size());
  return Stream<::signet::v1::SignAndEncryptMailRequest>(
      &::signet::v1::Mail::Stub::SignAndEncryptMail, header, mail);
}

MailResult SignetdClient::EncryptMail(const std::vector<std::string>& recipient_addresses,
                                      const std::string& mail) {
  ::signet::v1::EncryptMailRequest::Header header;
  for (const std::string& address : recipient_addresses) {
    header.mutable_options()->add_recipient_addresses(address);
  }
  header.set_size(mail.size());
  return Stream<::signet::v1::EncryptMailRequest>(&::signet::v1::Mail::Stub::EncryptMail, header,
                                                  mail);
}

MailResult SignetdClient::DecryptMail(const std::string& key, const std::string& mail) {
  ::signet::v1::DecryptMailRequest::Header header;
  header.set_key(key);
  header.set_size(mail.size());
  return Stream<::signet::v1::DecryptMailRequest>(&::signet::v1::Mail::Stub::DecryptMail, header,
                                                  mail);
}

MailResult SignetdClient::VerifyMail(const std::string& mail) {
  ::signet::v1::VerifyMailRequest::Header header;
  // The result goes into Authentication-Results either way; an untrusted
  // signer is reported, not refused.
  header.set_require_trusted_chain(false);
  header.set_size(mail.size());
  return Stream<::signet::v1::VerifyMailRequest>(&::signet::v1::Mail::Stub::VerifyMail, header,
                                                 mail);
}

bool IsTemporary(const MailResult& result) {
  // PERMISSION_DENIED for the mail's own From or Sender (a key bound to its
  // senders): no retry mends it, unlike a grant an operator may add.
  if (!result.details.sender_refusal().empty()) return false;
  switch (result.status.error_code()) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::UNIMPLEMENTED:
      return false;
    // Everything else is the appliance's state or configuration, never the
    // mail's: unreachable, overloaded, a token locked out or away, the
    // audit log stopped, a grant missing. The mail waits in the MTA's queue
    // for an operator rather than being bounced or sent unprotected.
    default:
      return true;
  }
}

}  // namespace signet::milter
