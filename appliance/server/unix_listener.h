// A unix socket listener that knows who is calling: it accepts connections
// itself, reads each peer's user id with SO_PEERCRED, and hands the
// connection to gRPC through an external connection acceptor whose
// credentials stamp that uid on the connection's auth context. gRPC alone
// tells a unix socket server nothing about its peer.
//
// One acceptor per configured uid (gRPC takes acceptors only before the
// server starts), and one for every other local user, whose calls carry no
// uid and are refused by the authorizer.
#ifndef SIGNET_APPLIANCE_SERVER_UNIX_LISTENER_H_
#define SIGNET_APPLIANCE_SERVER_UNIX_LISTENER_H_

#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_builder.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace signet::server {

class UnixListener {
 public:
  // Binds and listens on `path` (an existing socket file there is replaced;
  // any other file is an error) with file mode `mode`, and registers the
  // acceptors with `builder`. Call before builder.BuildAndStart().
  static absl::StatusOr<std::unique_ptr<UnixListener>> Create(grpc::ServerBuilder& builder,
                                                              const std::string& path, mode_t mode,
                                                              const std::vector<uint32_t>& uids);
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;
  // Stops accepting and removes the socket file.
  ~UnixListener();

  // Starts accepting; call after the server started.
  void Start();

 private:
  UnixListener(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  void Accept();

  std::string path_;
  int fd_;
  int wake_[2] = {-1, -1};  // a pipe that ends the accept loop
  std::map<uint32_t, std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor>> by_uid_;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> others_;
  std::thread thread_;
};

// The uid UnixListener stamped on the call's connection, if it came through
// one and its user is configured.
std::optional<uint32_t> PeerUid(const grpc::AuthContext& context);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_UNIX_LISTENER_H_
