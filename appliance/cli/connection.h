// The channel to signetd: a unix socket, or TCP with mutual TLS. Opened and
// connected before any call, so that "cannot reach signetd" (exit 3, nothing
// was sent) is told apart from a call the daemon failed.
#ifndef SIGNET_APPLIANCE_CLI_CONNECTION_H_
#define SIGNET_APPLIANCE_CLI_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "appliance/cli/command_line.h"

namespace signet::cli {

class Connection {
 public:
  // Waits for the connection until options.timeout has passed; the same
  // deadline then bounds the calls (the timeout is the whole operation's).
  // CannotConnectError when the daemon cannot be reached.
  static absl::StatusOr<Connection> Open(const ConnectionOptions& options);

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // Gives a call the operation's deadline.
  void Prepare(grpc::ClientContext& context) const;

 private:
  Connection(std::shared_ptr<grpc::Channel> channel, absl::Time deadline)
      : channel_(std::move(channel)), deadline_(deadline) {}

  std::shared_ptr<grpc::Channel> channel_;
  absl::Time deadline_;
};

}  // namespace signet::cli

#endif  // SIGNET_APPLIANCE_CLI_CONNECTION_H_
