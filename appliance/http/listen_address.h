// "127.0.0.1:9464" or "[::1]:9464", as the configuration writes a plain-HTTP
// endpoint's address, into the IP literal and port HttpListener takes.
#ifndef SIGNET_APPLIANCE_HTTP_LISTEN_ADDRESS_H_
#define SIGNET_APPLIANCE_HTTP_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::http {

struct ListenAddress {
  std::string ip;  // without brackets
  int port = 0;
};

// INVALID_ARGUMENT, saying what is expected, for anything else: a host name
// (resolving one at start would make the socket depend on DNS), a port
// outside 1..65535 (0 is refused too: the configuration must say where
// monitoring and clients find it).
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text);

}  // namespace signet::http

#endif  // SIGNET_APPLIANCE_HTTP_LISTEN_ADDRESS_H_
