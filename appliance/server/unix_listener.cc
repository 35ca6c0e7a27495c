#include "appliance/server/unix_listener.h"

#include <fcntl.h>
#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/server_credentials.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace signet::server {
namespace {

constexpr char kUidProperty[] = "signet.peer_uid";

// Stamps the uid its listener saw on every connection it is given.
class StampUid : public grpc::AuthMetadataProcessor {
 public:
  explicit StampUid(std::optional<uint32_t> uid) : uid_(uid) {}
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata&, grpc::AuthContext* context, OutputMetadata*,
                       OutputMetadata*) override {
    if (uid_.has_value() && context->FindPropertyValues(kUidProperty).empty()) {
      context->AddProperty(kUidProperty, std::to_string(*uid_));
    }
    return grpc::Status::OK;
  }

 private:
  std::optional<uint32_t> uid_;
};

std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> AcceptorFor(
    grpc::ServerBuilder& builder, std::optional<uint32_t> uid) {
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::experimental::LocalServerCredentials(UDS);
  credentials->SetAuthMetadataProcessor(std::make_shared<StampUid>(uid));
  return builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, credentials);
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<UnixListener>> UnixListener::Create(
    grpc::ServerBuilder& builder, const std::string& path, mode_t mode,
    const std::vector<uint32_t>& uids) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("unix socket path too long: ", path));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  struct stat existing {};
  if (lstat(path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a socket"));
    }
    unlink(path.c_str());
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("cannot make a socket for", path);
  std::unique_ptr<UnixListener> listener(new UnixListener(path, fd));
  // The mode is set on the file before anyone can connect: umask while
  // binding, then chmod to exactly `mode`.
  const mode_t old_mask = umask(0177);
  const int bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  umask(old_mask);
  if (bound != 0) return Errno("cannot bind", path);
  if (chmod(path.c_str(), mode) != 0) return Errno("cannot set the mode of", path);
  // The kernel's maximum: a burst of clients (a gateway opening its pool)
  // must not find the queue full, which a unix socket reports at once as
  // EAGAIN rather than by retrying.
  if (listen(fd, SOMAXCONN) != 0) return Errno("cannot listen on", path);
  if (pipe2(listener->wake_, O_CLOEXEC) != 0) return Errno("cannot make a pipe for", path);
  for (uint32_t uid : uids) listener->by_uid_[uid] = AcceptorFor(builder, uid);
  listener->others_ = AcceptorFor(builder, std::nullopt);
  return listener;
}

UnixListener::~UnixListener() {
  if (wake_[1] >= 0) {
    const char byte = 0;
    (void)!write(wake_[1], &byte, 1);
  }
  if (thread_.joinable()) thread_.join();
  close(fd_);
  for (int end : wake_) {
    if (end >= 0) close(end);
  }
  unlink(path_.c_str());
}

void UnixListener::Start() {
  thread_ = std::thread([this] { Accept(); });
}

void UnixListener::Accept() {
  while (true) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    // gRPC polls the connection and expects it non-blocking.
    const int connection = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (connection < 0) continue;
    ucred peer{};
    socklen_t length = sizeof(peer);
    grpc::experimental::ExternalConnectionAcceptor* acceptor = others_.get();
    if (getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &peer, &length) == 0) {
      auto it = by_uid_.find(peer.uid);
      if (it != by_uid_.end()) acceptor = it->second.get();
    }
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters parameters;
    parameters.listener_fd = fd_;
    parameters.fd = connection;
    // gRPC owns the connection from here, and closes it.
    acceptor->HandleNewConnection(&parameters);
  }
}

std::optional<uint32_t> PeerUid(const grpc::AuthContext& context) {
  std::vector<grpc::string_ref> values = context.FindPropertyValues(kUidProperty);
  if (values.size() != 1) return std::nullopt;
  uint32_t uid = 0;
  if (!absl::SimpleAtoi(absl::string_view(values[0].data(), values[0].size()), &uid)) {
    return std::nullopt;
  }
  return uid;
}

}  // namespace signet::server
