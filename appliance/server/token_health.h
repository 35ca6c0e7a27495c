// Per-token health behind grpc.health.v1: for each configured token the
// service name "signet.token.<name>" is SERVING while the token is ready and
// NOT_SERVING otherwise (absent, recovering, locked out). The overall ""
// status is left alone while the daemon serves: one absent USB token must
// not make a load balancer drop the whole appliance. Shutdown() turns every
// name, "" included, NOT_SERVING.
//
// TokenHealth only publishes what the token layer knows; it recovers
// nothing itself. The token states change when operations meet faults and
// when tokens are rescanned; an optional `rescan` hook (the registry's
// Rescan(), which tries tokens that are not ready) is called at most once
// per rescan interval, so that a token that came back is seen without
// waiting for traffic.
#ifndef SIGNET_APPLIANCE_SERVER_TOKEN_HEALTH_H_
#define SIGNET_APPLIANCE_SERVER_TOKEN_HEALTH_H_

#include <grpcpp/health_check_service_interface.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokens/token.h"

namespace signet::server {

struct TokenHealthOptions {
  // How often the token states are read and published.
  absl::Duration publish_interval = absl::Milliseconds(200);
  // How often `rescan` is called (when given).
  absl::Duration rescan_interval = absl::Seconds(1);
  // When given, "signet.audit" is SERVING while it answers true: the audit
  // log can be written, so key operations go on (when it fails, every key
  // operation stops until an operator restarts signetd).
  std::function<bool()> audit_writable;
  // When given (signetd watches PC/SC readers), "signet.pcscd" is SERVING
  // while pcscd can be reached: without it no card token can come back.
  std::function<bool()> pcscd_available;
  // When given (revocation is checked with CRLs), "signet.revocation" is
  // SERVING while no CRL source has been stale too long
  // (pki::CrlFreshness).
  std::function<bool()> revocation_fresh;
};

class TokenHealth {
 public:
  // The current state of every token (TokenRegistry::List()).
  using StateReader = std::function<std::vector<TokenStatus>()>;
  // Tries to bring tokens that are not ready back (TokenRegistry::Rescan());
  // may be empty.
  using Rescan = std::function<void()>;

  // Publishes the states once before it returns, then on its own thread
  // every publish interval. A null `health` (the health service disabled)
  // makes an object that does nothing.
  TokenHealth(grpc::HealthCheckServiceInterface* health, StateReader read_states,
              Rescan rescan = nullptr, TokenHealthOptions options = {});
  TokenHealth(const TokenHealth&) = delete;
  TokenHealth& operator=(const TokenHealth&) = delete;
  // Stops the thread (without touching the published states).
  ~TokenHealth();

  // The health service name of a token: "signet.token.<name>".
  static std::string ServiceName(absl::string_view token);
  static constexpr char kAuditServiceName[] = "signet.audit";
  static constexpr char kPcscdServiceName[] = "signet.pcscd";
  static constexpr char kRevocationServiceName[] = "signet.revocation";

  // Stops publishing and joins the thread, then sets every service name, ""
  // included, NOT_SERVING for good (the health service's Shutdown()). For
  // the start of the daemon's shutdown. Idempotent.
  void Shutdown();

 private:
  void Run();
  void Stop();
  // Reads the states and publishes the ones that changed.
  void Publish();
  void PublishIfChanged(const std::string& service, bool serving);

  grpc::HealthCheckServiceInterface* const health_;
  const StateReader read_states_;
  const Rescan rescan_;
  const TokenHealthOptions options_;

  // Last published serving status per service name; only the thread (or
  // the constructor, before it starts) touches it.
  std::map<std::string, bool> published_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_TOKEN_HEALTH_H_
