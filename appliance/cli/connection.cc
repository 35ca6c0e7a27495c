#include "appliance/cli/connection.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/cli/cli_status.h"
#include "appliance/cli/files.h"
#include "common/status_macros.h"

namespace signet::cli {
namespace {

constexpr char kSocketHint[] =
    "(is signetd running? --socket or SIGNET_SOCKET name another socket)";

// gRPC says only that the channel failed; connect() itself says why.
std::string WhyUnixConnectFails(const std::string& path) {
  sockaddr_un address{.sun_family = AF_UNIX};
  if (path.size() >= sizeof address.sun_path) return "the socket path is too long";
  memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return strerror(errno);
  const int connected = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const int error = errno;
  close(fd);
  // It accepted this time: the daemon closed gRPC's connection (it was
  // starting or stopping).
  if (connected == 0) return "the daemon closed the connection";
  return strerror(error);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> UnixChannel(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return CannotConnectError(absl::StrCat("cannot connect to signetd at ", path, ": ",
                                           strerror(errno), " ", kSocketHint));
  }
  if (!S_ISSOCK(info.st_mode)) {
    return CannotConnectError(
        absl::StrCat("cannot connect to signetd at ", path, ": not a socket ", kSocketHint));
  }
  return grpc::CreateChannel(absl::StrCat("unix:", path), grpc::InsecureChannelCredentials());
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> TlsChannel(const ConnectionOptions& options) {
  grpc::SslCredentialsOptions ssl;
  ASSIGN_OR_RETURN(std::string ca, ReadSmallFile(options.ca_file));
  absl::StatusOr<std::string> cert = ReadSmallFile(options.cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadSmallFile(options.key_file);
  if (!key.ok()) return key.status();
  ssl.pem_root_certs = std::move(ca);
  ssl.pem_cert_chain = std::move(*cert);
  ssl.pem_private_key = std::move(*key);
  grpc::ChannelArguments arguments;
  if (!options.tls_name.empty()) arguments.SetSslTargetNameOverride(options.tls_name);
  return grpc::CreateCustomChannel(options.server, grpc::SslCredentials(ssl), arguments);
}

}  // namespace

absl::StatusOr<Connection> Connection::Open(const ConnectionOptions& options) {
  const absl::Time deadline = absl::Now() + options.timeout;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      options.server.empty() ? UnixChannel(options.socket) : TlsChannel(options);
  if (!channel.ok()) return channel.status();

  grpc_connectivity_state state = (*channel)->GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) {
      if (options.server.empty()) {
        return CannotConnectError(absl::StrCat("cannot connect to signetd at ", options.socket,
                                               ": ", WhyUnixConnectFails(options.socket), " ",
                                               kSocketHint));
      }
      return CannotConnectError(absl::StrCat(
          "cannot connect to signetd at ", options.server,
          ": refused, unreachable, or the TLS handshake failed (check --ca, --cert, --key-file "
          "and --tls-name)"));
    }
    if (!(*channel)->WaitForStateChange(state, absl::ToChronoTime(deadline))) {
      return CannotConnectError(absl::StrCat(
          "cannot connect to signetd at ", options.server.empty() ? options.socket : options.server,
          ": no connection within ", absl::FormatDuration(options.timeout), " (see --timeout)"));
    }
    state = (*channel)->GetState(/*try_to_connect=*/true);
  }
  return Connection(std::move(*channel), deadline);
}

void Connection::Prepare(grpc::ClientContext& context) const {
  context.set_deadline(absl::ToChronoTime(deadline_));
}

}  // namespace signet::cli
