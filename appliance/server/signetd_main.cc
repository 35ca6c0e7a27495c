// signetd: the appliance. Reads its configuration, opens its tokens, keys and
// audit log, serves signet.v1 on its listeners, and on SIGTERM or SIGINT
// finishes the calls in flight before it exits.
//   signetd --config /etc/signet/signetd.textproto
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "appliance/dev/dev_environment.h"
#include "appliance/server/appliance.h"
#include "appliance/server/config_loader.h"
#include "appliance/server/config_validator.h"
#include "appliance/server/keys_service.h"
#include "appliance/server/mail_service.h"
#include "appliance/server/server_limits.h"
#include "appliance/server/shutdown_bound.h"
#include "appliance/server/token_health.h"
#include "appliance/server/unix_listener.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "tokens/pcsc_token_watch.h"
#include "tokens/slot_event_watch.h"

namespace signet::server {
namespace {

constexpr int kExitUsage = 2;
// Below a mail block (1 MiB), above a chunk (64 KiB) and what gRPC and
// OpenSSL allocate per call.
constexpr int kMmapThresholdBytes = 256 * 1024;
constexpr int kExitConfig = 3;
// Past the grace (limits.shutdown_grace_seconds), how long gRPC's shutdown
// may still take before the bound ends the daemon, and how long closing the
// audit log may take then.
constexpr absl::Duration kShutdownBoundAfterGrace = absl::Seconds(5);
constexpr absl::Duration kAuditCloseLimit = absl::Seconds(10);
// How long the last responses get to reach their clients before gRPC shuts
// down.
constexpr auto kConnectionLinger = std::chrono::milliseconds(200);

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
  absl::StatusOr<std::string> key = ReadFile(tcp.private_key_file());
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> client_ca = ReadFile(tcp.client_ca_file());
  if (!client_ca.ok()) return client_ca.status();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = *client_ca;
  options.pem_key_cert_pairs.push_back({*key, certificate});
  return grpc::SslServerCredentials(options);
}

constexpr char kUsage[] =
    "usage: signetd --config FILE [--log-level debug|info|warning|error]\n"
    "       signetd --dev DIR [--listen ADDRESS|none] [--log-level ...]\n"
    "  --dev DIR  development mode: a SoftHSM2 token with demo keys and certificates,\n"
    "             made in DIR on first use and reused later; unix socket DIR/signetd.sock\n"
    "  --listen   dev mode's loopback mTLS listener (default 127.0.0.1:8443; none: off)\n";

struct Flags {
  std::string config_path;
  std::string dev_dir;
  std::string dev_listen = "127.0.0.1:8443";
  bool listen_given = false;
  LogLevel log_level = LogLevel::kInfo;
};

absl::Status ParseFlags(int argc, char** argv, Flags& flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg != "--config" && arg != "--log-level" && arg != "--dev" && arg != "--listen") {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag '", arg, "'"));
    }
    if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
    const std::string value = argv[++i];
    if (arg == "--config") {
      flags.config_path = value;
    } else if (arg == "--dev") {
      flags.dev_dir = value;
    } else if (arg == "--listen") {
      flags.dev_listen = value == "none" ? "" : value;
      flags.listen_given = true;
    } else if (arg == "--log-level") {
      if (value == "debug") {
        flags.log_level = LogLevel::kDebug;
      } else if (value == "info") {
        flags.log_level = LogLevel::kInfo;
      } else if (value == "warning") {
        flags.log_level = LogLevel::kWarning;
      } else if (value == "error") {
        flags.log_level = LogLevel::kError;
      } else {
        return absl::InvalidArgumentError(absl::StrCat("unknown log level '", value, "'"));
      }
    }
  }
  if (flags.config_path.empty() == flags.dev_dir.empty()) {
    return absl::InvalidArgumentError("give either --config FILE or --dev DIR");
  }
  if (flags.listen_given && flags.dev_dir.empty()) {
    return absl::InvalidArgumentError("--listen is for --dev; a config names its own listeners");
  }
  return absl::OkStatus();
}

// Dev mode prepares its directory, then runs like any other config.
absl::StatusOr<std::string> PrepareDev(const Flags& flags) {
  absl::StatusOr<config::v1::Config> config = dev::PrepareDevEnvironment(
      {.dir = flags.dev_dir, .tcp_address = flags.dev_listen, .uid = getuid()});
  if (!config.ok()) return config.status();
  const std::string dir = config->audit().path().substr(0, config->audit().path().rfind('/'));
  std::fprintf(stderr,
               "signetd: dev mode in %s\n"
               "  config:       %s/signetd.textproto\n"
               "  unix socket:  %s/signetd.sock (uid %u)\n",
               dir.c_str(), dir.c_str(), dir.c_str(), static_cast<unsigned>(getuid()));
  if (!flags.dev_listen.empty()) {
    std::fprintf(stderr, "  mTLS:         %s (client cert %s/tls/client.pem)\n",
                 flags.dev_listen.c_str(), dir.c_str());
  }
  return dir + "/signetd.textproto";
}

int Run(const std::string& config_path) {
  absl::StatusOr<config::v1::Config> config = LoadConfig(config_path);
  if (config.ok()) {
    if (absl::Status valid = ValidateConfig(*config); !valid.ok()) config = valid;
  }
  if (!config.ok()) {
    std::fprintf(stderr, "signetd: %s\n", std::string(config.status().message()).c_str());
    return kExitConfig;
  }
  // Block the signals before any thread starts, so that only sigwait sees
  // them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  // Without a handler SIGHUP would end the daemon at once, with no calls
  // drained and no final checkpoint.
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<Appliance>> appliance = Appliance::Create(*config);
  if (!appliance.ok()) {
    std::fprintf(stderr, "signetd: %s\n", appliance.status().ToString().c_str());
    return kExitConfig;
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  ApplyServerLimits(builder, (*appliance)->server_limits());
  MailService mail(**appliance);
  builder.RegisterService(&mail);
  KeysService keys(**appliance);
  builder.RegisterService(&keys);
  std::vector<uint32_t> uids;
  for (const config::v1::Caller& caller : config->callers()) {
    if (caller.has_unix_uid()) uids.push_back(caller.unix_uid());
  }
  std::vector<std::unique_ptr<UnixListener>> unix_listeners;
  for (const config::v1::Listener& listener : config->listeners()) {
    if (listener.has_unix()) {
      const mode_t mode = listener.unix().mode() != 0 ? listener.unix().mode() : 0600;
      absl::StatusOr<std::unique_ptr<UnixListener>> unix_listener =
          UnixListener::Create(builder, listener.unix().path(), mode, uids);
      if (!unix_listener.ok()) {
        std::fprintf(stderr, "signetd: %s\n", unix_listener.status().ToString().c_str());
        return kExitConfig;
      }
      unix_listeners.push_back(std::move(*unix_listener));
    } else if (listener.has_tcp()) {
      absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
          TlsCredentials(listener.tcp());
      if (!credentials.ok()) {
        std::fprintf(stderr, "signetd: %s\n", credentials.status().ToString().c_str());
        return kExitConfig;
      }
      builder.AddListeningPort(listener.tcp().address(), *credentials);
    }
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    std::fprintf(stderr, "signetd: the server did not start (a listener could not bind)\n");
    return kExitConfig;
  }
  for (auto& unix_listener : unix_listeners) unix_listener->Start();
  // grpc.health.v1: "signet.token.<name>" per token; "" stays SERVING until
  // shutdown (one absent token must not take the appliance out of service).
  KeyRegistry& registry = (*appliance)->keys();
  // Card tokens follow their cards: pulled, they fail calls at once; put
  // back, they are ready again without waiting for traffic.
  std::unique_ptr<PcscTokenWatch> pcsc_watch = PcscTokenWatch::Start(registry.tokens());
  // HSM tokens whose module reports slot events follow them too.
  std::unique_ptr<SlotEventWatch> slot_watch = SlotEventWatch::Start(registry.tokens());
  TokenHealthOptions health_options;
  health_options.audit_writable = [&appliance] {
    return (*appliance)->audit() != nullptr && (*appliance)->audit()->status().ok();
  };
  if (pcsc_watch != nullptr) {
    health_options.pcscd_available = [&pcsc_watch] {
      return pcsc_watch->MonitorStatus().pcscd_available;
    };
  }
  TokenHealth token_health(
      server->GetHealthCheckService(), [&registry] { return registry.tokens().List(); },
      [&registry] { registry.tokens().Rescan(); }, health_options);
  std::fprintf(stderr, "signetd: serving (%d listeners)\n", config->listeners_size());

  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    std::fprintf(stderr,
                 "signetd: SIGHUP ignored: the configuration is read only at start; restart "
                 "signetd to change it\n");
  }
  std::fprintf(stderr, "signetd: %s, finishing the calls in flight\n", strsignal(signal_number));
  token_health.Shutdown();  // every health status NOT_SERVING
  pcsc_watch.reset();
  slot_watch.reset();
  // New calls are refused from here. The calls already admitted finish
  // before gRPC's own shutdown starts: gRPC closes a connection as soon as
  // its last call is done, and a client still answering that call's last
  // frames on the closed connection loses a result it was sent ("Broken
  // pipe"). So wait for the work to end, give the responses a moment to
  // reach their clients, and only then shut gRPC down (with what is left of
  // the grace for calls still uploading).
  const absl::Time grace_end =
      absl::Now() + absl::Seconds((*appliance)->server_limits().shutdown_grace_seconds);
  // A call that never ends (a hung token) must not keep the daemon, and its
  // audit log unclosed, forever.
  audit::AuditLog* audit_log = (*appliance)->audit();
  std::optional<ShutdownBound> bound;
  bound.emplace(grace_end + kShutdownBoundAfterGrace, kAuditCloseLimit, [audit_log] {
    if (audit_log != nullptr) audit_log->Close().IgnoreError();
  });
  (*appliance)->StopAdmitting();
  while (!(*appliance)->Idle() && absl::Now() < grace_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(kConnectionLinger);
  server->Shutdown(absl::ToChronoTime(grace_end));
  (*appliance)->Drain();
  unix_listeners.clear();
  appliance->reset();
  bound.reset();
  std::fprintf(stderr, "signetd: stopped\n");
  return 0;
}

}  // namespace
}  // namespace signet::server

int main(int argc, char** argv) {
  if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::fputs(signet::server::kUsage, stdout);
    return 0;
  }
  signet::server::Flags flags;
  if (absl::Status parsed = signet::server::ParseFlags(argc, argv, flags); !parsed.ok()) {
    std::fprintf(stderr, "signetd: %s\n%s", std::string(parsed.message()).c_str(),
                 signet::server::kUsage);
    return signet::server::kExitUsage;
  }
  signet::SetMinLogLevel(flags.log_level);
  // Mail-sized blocks come from the kernel and go back to it when freed.
  // glibc otherwise raises this threshold after the first large free and
  // serves later large blocks from its heap, which keeps the pages of the
  // largest calls ever made: the resident memory would follow the peak of
  // the past, not the calls in flight that the byte budget bounds.
  mallopt(M_MMAP_THRESHOLD, signet::server::kMmapThresholdBytes);
  // Debian's abseil checks every absl::Mutex (gRPC's) for lock-order cycles,
  // a debugging aid that costs a graph update on each lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (!flags.dev_dir.empty()) {
    absl::StatusOr<std::string> config_path = signet::server::PrepareDev(flags);
    if (!config_path.ok()) {
      std::fprintf(stderr, "signetd: dev mode: %s\n", config_path.status().ToString().c_str());
      return signet::server::kExitConfig;
    }
    flags.config_path = *config_path;
  }
  return signet::server::Run(flags.config_path);
}
