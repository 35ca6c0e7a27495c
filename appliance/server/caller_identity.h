// Who is calling, as the transport proved it: the client certificate of an
// mTLS connection, or the peer credentials of a unix socket connection.
#ifndef SIGNET_APPLIANCE_SERVER_CALLER_IDENTITY_H_
#define SIGNET_APPLIANCE_SERVER_CALLER_IDENTITY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace signet::server {

struct CallerIdentity {
  // mTLS: the verified client certificate's subject (RFC 4514) and its DNS
  // and e-mail subjectAltNames.
  std::string certificate_subject;
  std::vector<std::string> certificate_sans;
  // Unix socket: the peer's user id (SO_PEERCRED).
  std::optional<uint32_t> unix_uid;

  // For errors and the audit log: "uid 1000", "CN=mx1,O=Bank".
  std::string Describe() const;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_CALLER_IDENTITY_H_
