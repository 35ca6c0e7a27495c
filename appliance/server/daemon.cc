#include "appliance/server/daemon.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/directory/public_endpoint.h"
#include "appliance/http/listen_address.h"
#include "appliance/server/directory_service.h"
#include "appliance/server/metrics_endpoint.h"
#include "appliance/server/server_limits.h"
#include "appliance/server/shutdown_bound.h"
#include "common/status_macros.h"

namespace signet::server {
namespace {

// Past the grace (limits.shutdown_grace_seconds), how long gRPC's shutdown
// may still take before the bound ends the daemon, and how long closing the
// audit log may take then.
constexpr absl::Duration kShutdownBoundAfterGrace = absl::Seconds(5);
constexpr absl::Duration kAuditCloseLimit = absl::Seconds(10);
// How long the last responses get to reach their clients before gRPC shuts
// down.
constexpr auto kConnectionLinger = std::chrono::milliseconds(200);
// How long an HTTP time-stamp request may wait for the TSA key's token
// queue; HTTP has no deadline of its own, and the listener's threads are
// few.
constexpr absl::Duration kHttpStampTimeout = absl::Seconds(10);

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// mTLS: a client certificate is required and must chain to the client CA.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentials(
    const config::v1::TcpListener& tcp) {
  ASSIGN_OR_RETURN(std::string certificate, ReadFile(tcp.certificate_file()));
  ASSIGN_OR_RETURN(std::string key, ReadFile(tcp.private_key_file()));
  ASSIGN_OR_RETURN(std::string client_ca, ReadFile(tcp.client_ca_file()));
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = client_ca;
  options.pem_key_cert_pairs.push_back({key, certificate});
  return grpc::SslServerCredentials(options);
}

// RFC 3161 section 3.4: POST application/timestamp-query to the TSA's
// address, no credentials (a stamp says when, not who asked).
absl::StatusOr<std::unique_ptr<http::HttpListener>> StartTsaHttp(const std::string& address,
                                                                 TimestampAuthority& tsa) {
  ASSIGN_OR_RETURN(http::ListenAddress listen, http::ParseListenAddress(address));
  http::HttpListenerOptions options;  // the defaults are the TSA's
  options.address = listen.ip;
  options.port = listen.port;
  return http::HttpListener::Start(std::move(options), [&tsa](std::string body) {
    return tsa.StampForHttp(std::move(body), kHttpStampTimeout);
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const config::v1::Config& config) {
  std::unique_ptr<Daemon> daemon(new Daemon());
  ASSIGN_OR_RETURN(std::unique_ptr<Appliance> appliance, Appliance::Create(config));
  daemon->appliance_ = std::move(appliance);
  Appliance& core = *daemon->appliance_;

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  ApplyServerLimits(builder, core.server_limits());
  daemon->mail_ = std::make_unique<MailService>(core);
  builder.RegisterService(daemon->mail_.get());
  daemon->keys_ = std::make_unique<KeysService>(core);
  builder.RegisterService(daemon->keys_.get());
  ASSIGN_OR_RETURN(daemon->tsa_, TimestampAuthority::Create(config, core));
  daemon->timestamps_ = std::make_unique<TimestampService>(core, daemon->tsa_.get());
  builder.RegisterService(daemon->timestamps_.get());
  daemon->directory_ = std::make_unique<DirectoryService>(core);
  builder.RegisterService(daemon->directory_.get());
  std::vector<uint32_t> uids;
  for (const config::v1::Caller& caller : config.callers()) {
    if (caller.has_unix_uid()) uids.push_back(caller.unix_uid());
  }
  for (const config::v1::Listener& listener : config.listeners()) {
    if (listener.has_unix()) {
      const mode_t mode = listener.unix().mode() != 0 ? listener.unix().mode() : 0600;
      ASSIGN_OR_RETURN(std::unique_ptr<UnixListener> unix_listener,
                       UnixListener::Create(builder, listener.unix().path(), mode, uids));
      daemon->unix_listeners_.push_back(std::move(unix_listener));
    } else if (listener.has_tcp()) {
      ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                       TlsCredentials(listener.tcp()));
      builder.AddListeningPort(listener.tcp().address(), credentials);
    }
  }
  daemon->listeners_ = config.listeners_size();
  daemon->server_ = builder.BuildAndStart();
  if (!daemon->server_) {
    return absl::FailedPreconditionError("the server did not start (a listener could not bind)");
  }
  for (auto& unix_listener : daemon->unix_listeners_) unix_listener->Start();
  // grpc.health.v1: "signet.token.<name>" per token; "" stays SERVING until
  // shutdown (one absent token must not take the appliance out of service).
  KeyRegistry& registry = core.keys();
  // Card tokens follow their cards: pulled, they fail calls at once; put
  // back, they are ready again without waiting for traffic.
  daemon->pcsc_watch_ = PcscTokenWatch::Start(registry.tokens());
  // HSM tokens whose module reports slot events follow them too.
  daemon->slot_watch_ = SlotEventWatch::Start(registry.tokens());
  TokenHealthOptions health_options;
  health_options.audit_writable = [&core] {
    return core.audit() != nullptr && core.audit()->status().ok();
  };
  if (daemon->pcsc_watch_ != nullptr) {
    PcscTokenWatch* watch = daemon->pcsc_watch_.get();
    health_options.pcscd_available = [watch] { return watch->MonitorStatus().pcscd_available; };
  }
  if (pki::CrlFreshness* freshness = core.crl_freshness()) {
    health_options.revocation_fresh = [freshness] { return freshness->Fresh(); };
  }
  daemon->token_health_ = std::make_unique<TokenHealth>(
      daemon->server_->GetHealthCheckService(), [&registry] { return registry.tokens().List(); },
      [&registry] { registry.tokens().Rescan(); }, health_options);
  if (!config.metrics_address().empty()) {
    ASSIGN_OR_RETURN(daemon->metrics_, StartMetricsEndpoint(config.metrics_address(),
                                                            core.validation(), core.audit()));
  }
  if (config.has_directory() && !config.directory().public_http_address().empty()) {
    ASSIGN_OR_RETURN(http::ListenAddress listen,
                     http::ParseListenAddress(config.directory().public_http_address()));
    directory::PublicEndpointOptions options;
    options.listen = listen;
    if (config.directory().public_requests_per_second() > 0) {
      options.requests_per_second = config.directory().public_requests_per_second();
    }
    if (config.directory().public_burst() > 0) {
      options.burst = static_cast<int>(config.directory().public_burst());
    }
    options.public_domains.assign(config.directory().public_domains().begin(),
                                  config.directory().public_domains().end());
    CertificateDirectory* certificates = core.directory();
    ASSIGN_OR_RETURN(daemon->public_certificates_,
                     directory::PublicEndpoint::Start(std::move(options),
                                                      [certificates](absl::string_view address) {
                                                        return certificates->PublishedFor(address);
                                                      }));
  }
  if (daemon->tsa_ != nullptr && !config.timestamp_authority().http_address().empty()) {
    ASSIGN_OR_RETURN(daemon->tsa_http_,
                     StartTsaHttp(config.timestamp_authority().http_address(), *daemon->tsa_));
  }
  return daemon;
}

Daemon::~Daemon() { Shutdown(); }

void Daemon::Shutdown() {
  if (shut_down_ || appliance_ == nullptr) return;
  shut_down_ = true;
  if (token_health_) token_health_->Shutdown();  // every health status NOT_SERVING
  if (metrics_) metrics_->Stop();
  if (public_certificates_) public_certificates_->Stop();
  // No new HTTP stamps; the ones running finish on the token queues, which
  // still run.
  if (tsa_http_) tsa_http_->Stop();
  pcsc_watch_.reset();
  slot_watch_.reset();
  // New calls are refused from here. The calls already admitted finish
  // before gRPC's own shutdown starts: gRPC closes a connection as soon as
  // its last call is done, and a client still answering that call's last
  // frames on the closed connection loses a result it was sent ("Broken
  // pipe"). So wait for the work to end, give the responses a moment to
  // reach their clients, and only then shut gRPC down (with what is left of
  // the grace for calls still uploading).
  const absl::Time grace_end =
      absl::Now() + absl::Seconds(appliance_->server_limits().shutdown_grace_seconds);
  // A call that never ends (a hung token) must not keep the daemon, and its
  // audit log unclosed, forever.
  audit::AuditLog* audit_log = appliance_->audit();
  std::optional<ShutdownBound> bound;
  bound.emplace(grace_end + kShutdownBoundAfterGrace, kAuditCloseLimit, [audit_log] {
    if (audit_log != nullptr) audit_log->Close().IgnoreError();
  });
  appliance_->StopAdmitting();
  while (!appliance_->Idle() && absl::Now() < grace_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(kConnectionLinger);
  if (server_) server_->Shutdown(absl::ToChronoTime(grace_end));
  appliance_->Drain();
  unix_listeners_.clear();
  token_health_.reset();
  server_.reset();
  appliance_.reset();
  // After the queues that ran its stamps are gone.
  tsa_.reset();
  bound.reset();
}

}  // namespace signet::server
