// The milter's listening socket as libmilter spells it (smfi_setconn):
// "unix:/path" or "local:/path", "inet:PORT[@HOST]", "inet6:PORT[@HOST]".
// Parsed so that --check-config catches a typo before libmilter does at
// start-up, and so that the daemon knows which path to chmod.
#ifndef SIGNET_APPLIANCE_MILTER_LISTEN_SPEC_H_
#define SIGNET_APPLIANCE_MILTER_LISTEN_SPEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::milter {

struct ListenSpec {
  enum class Kind { kUnix, kInet, kInet6 };
  Kind kind = Kind::kUnix;
  // kUnix: the socket's absolute path.
  std::string path;
  // kInet, kInet6: the port (1-65535) and the host or address; an empty host
  // is every address (INADDR_ANY), as libmilter reads "inet:PORT".
  int port = 0;
  std::string host;
};

// INVALID_ARGUMENT saying what is wrong: no or an unknown prefix (libmilter
// would take a bare word for a unix path, hiding a typo such as "inte:"),
// a relative or empty path, a port that is not 1-65535.
absl::StatusOr<ListenSpec> ParseListenSpec(absl::string_view spec);

}  // namespace signet::milter

#endif  // SIGNET_APPLIANCE_MILTER_LISTEN_SPEC_H_
