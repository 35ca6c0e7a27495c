// signetd itself, apart from its command line: the appliance (tokens, keys,
// audit log), the gRPC server on the configured listeners, the token watches
// and health, and the shutdown sequence. signetd_main.cc parses flags and
// waits for a signal; tests drive a Daemon in-process.
#ifndef SIGNET_APPLIANCE_SERVER_DAEMON_H_
#define SIGNET_APPLIANCE_SERVER_DAEMON_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "appliance/directory/public_endpoint.h"
#include "appliance/http/http_listener.h"
#include "appliance/server/appliance.h"
#include "appliance/server/directory_service.h"
#include "appliance/server/keys_service.h"
#include "appliance/server/mail_service.h"
#include "appliance/server/timestamp_authority.h"
#include "appliance/server/timestamp_service.h"
#include "appliance/server/token_health.h"
#include "appliance/server/unix_listener.h"
#include "signet/config/v1/config.pb.h"
#include "tokens/pcsc/pcsc_token_watch.h"
#include "tokens/slot_event_watch.h"

namespace signet::server {

class Daemon {
 public:
  // Opens the appliance of a validated config and serves it on its
  // listeners. Block the signals the caller waits for before this: it
  // starts threads.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const config::v1::Config& config);
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  // Shuts down if that was not done.
  ~Daemon();

  // Health NOT_SERVING, new calls refused, the calls in flight given
  // limits.shutdown_grace_seconds, gRPC shut down, the queues drained and
  // the audit log closed with its final checkpoint. Bounded: token work
  // still running 5 s past the grace ends the process (exit code 4) once the
  // audit log is closed (shutdown_bound.h).
  void Shutdown();

  int listeners() const { return listeners_; }
  Appliance& appliance() { return *appliance_; }

 private:
  Daemon() = default;

  std::unique_ptr<Appliance> appliance_;
  std::unique_ptr<MailService> mail_;
  std::unique_ptr<KeysService> keys_;
  // signetd's TSA (config timestamp_authority; null when not configured),
  // its gRPC service and its RFC 3161 HTTP listener (null without
  // http_address). The TSA's stamps run on the appliance's token queues, so
  // it goes after the appliance.
  std::unique_ptr<TimestampAuthority> tsa_;
  std::unique_ptr<TimestampService> timestamps_;
  std::unique_ptr<DirectoryService> directory_;
  std::unique_ptr<http::HttpListener> tsa_http_;
  std::vector<std::unique_ptr<UnixListener>> unix_listeners_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<PcscTokenWatch> pcsc_watch_;
  std::unique_ptr<SlotEventWatch> slot_watch_;
  std::unique_ptr<TokenHealth> token_health_;
  // GET /metrics (config metrics_address); null when not configured.
  std::unique_ptr<http::HttpListener> metrics_;
  // GET /certificates/<address> (directory.public_http_address); null when
  // not configured.
  std::unique_ptr<directory::PublicEndpoint> public_certificates_;
  int listeners_ = 0;
  bool shut_down_ = false;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_DAEMON_H_
