// signetd: the appliance's command line. Reads and checks the
// configuration, starts the Daemon (daemon.h) and, on SIGTERM or SIGINT,
// shuts it down, which finishes the calls in flight first.
//   signetd --config /etc/signet/signetd.textproto
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "appliance/dev/dev_environment.h"
#include "appliance/server/config/config_loader.h"
#include "appliance/server/config/config_validator.h"
#include "appliance/server/daemon.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace signet::server {
namespace {

constexpr int kExitUsage = 2;
// Blocks of this size or more are mapped for the call and unmapped when
// freed: every buffer of a mail past 2 MiB. Smaller ones (a chunk, gRPC's
// and OpenSSL's per-call allocations, the buffers of a mail up to about a
// MiB) come from glibc's heaps and are reused by the next call rather than
// faulted in afresh (issue #20: a fresh 1 MiB buffer costs 256 page faults).
constexpr int kMmapThresholdBytes = 2 * 1024 * 1024;
// What a heap keeps free at its top before it gives pages back: above what
// one call of a 1 MiB mail frees, so that the next one finds its pages. A
// bound on what each of glibc's heaps keeps between calls.
constexpr int kTrimThresholdBytes = 4 * 1024 * 1024;
constexpr int kExitConfig = 3;

constexpr char kUsage[] =
    "usage: signetd --config FILE [--log-level debug|info|warning|error]\n"
    "       signetd --dev DIR [--listen ADDRESS|none] [--tsa-listen ADDRESS|none]\n"
    "                     [--log-level ...]\n"
    "  --dev DIR  development mode: a SoftHSM2 token with demo keys and certificates,\n"
    "             made in DIR on first use and reused later; unix socket DIR/signetd.sock\n"
    "  --listen   dev mode's loopback mTLS listener (default 127.0.0.1:8443; none: off)\n"
    "  --tsa-listen  dev mode's RFC 3161 TSA over HTTP (default 127.0.0.1:3180; none:\n"
    "             gRPC only, and bank-signing does not stamp)\n";

struct Flags {
  std::string config_path;
  std::string dev_dir;
  std::string dev_listen = "127.0.0.1:8443";
  bool listen_given = false;
  std::string dev_tsa_listen = "127.0.0.1:3180";
  LogLevel log_level = LogLevel::kInfo;
};

absl::Status ParseFlags(int argc, char** argv, Flags& flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg != "--config" && arg != "--log-level" && arg != "--dev" && arg != "--listen" &&
        arg != "--tsa-listen") {
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
    } else if (arg == "--tsa-listen") {
      flags.dev_tsa_listen = value == "none" ? "" : value;
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
    return absl::InvalidArgumentError(
        "--listen and --tsa-listen are for --dev; a config names its own listeners");
  }
  return absl::OkStatus();
}

// Dev mode prepares its directory, then runs like any other config.
absl::StatusOr<std::string> PrepareDev(const Flags& flags) {
  ASSIGN_OR_RETURN(config::v1::Config config,
                   dev::PrepareDevEnvironment({.dir = flags.dev_dir,
                                               .tcp_address = flags.dev_listen,
                                               .tsa_address = flags.dev_tsa_listen,
                                               .uid = getuid()}));
  const std::string dir = config.audit().path().substr(0, config.audit().path().rfind('/'));
  std::fprintf(stderr,
               "signetd: dev mode in %s\n"
               "  config:       %s/signetd.textproto\n"
               "  unix socket:  %s/signetd.sock (uid %u)\n",
               dir.c_str(), dir.c_str(), dir.c_str(), static_cast<unsigned>(getuid()));
  if (!flags.dev_listen.empty()) {
    std::fprintf(stderr, "  mTLS:         %s (client cert %s/tls/client.pem)\n",
                 flags.dev_listen.c_str(), dir.c_str());
  }
  if (!flags.dev_tsa_listen.empty()) {
    std::fprintf(stderr, "  TSA (HTTP):   http://%s/ (certificate %s/certs/tsa.pem)\n",
                 flags.dev_tsa_listen.c_str(), dir.c_str());
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

  absl::StatusOr<std::unique_ptr<Daemon>> daemon = Daemon::Start(*config);
  if (!daemon.ok()) {
    std::fprintf(stderr, "signetd: %s\n", daemon.status().ToString().c_str());
    return kExitConfig;
  }
  std::fprintf(stderr, "signetd: serving (%d listeners)\n", (*daemon)->listeners());

  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    std::fprintf(stderr,
                 "signetd: SIGHUP ignored: the configuration is read only at start; restart "
                 "signetd to change it\n");
  }
  std::fprintf(stderr, "signetd: %s, finishing the calls in flight\n", strsignal(signal_number));
  (*daemon)->Shutdown();
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
  // glibc otherwise raises this threshold after the first large free (up
  // to 32 MiB) and serves later large blocks from its heap, which keeps the
  // pages of the largest calls ever made: the resident memory would follow
  // the peak of the past, not the calls in flight that the byte budget
  // bounds. Set, the thresholds stay where they are put.
  mallopt(M_MMAP_THRESHOLD, signet::server::kMmapThresholdBytes);
  mallopt(M_TRIM_THRESHOLD, signet::server::kTrimThresholdBytes);
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
