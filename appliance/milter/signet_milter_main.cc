// signet-milter: a milter for Postfix and Sendmail that has signetd sign,
// encrypt, decrypt and verify the mail passing through (docs/milter.md).
//
//   signet-milter --config /etc/signet/milter.textproto
//   signet-milter --check-config --config /etc/signet/milter.textproto
//
// Exit codes: 0 stopped (SIGTERM), 2 usage, 3 a bad configuration or a
// socket that could not be opened.
#include <libmilter/mfapi.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/http/metrics_listener.h"
#include "appliance/milter/listen_spec.h"
#include "appliance/milter/mail_handler.h"
#include "appliance/milter/milter_callbacks.h"
#include "appliance/milter/milter_config_defaults.h"
#include "appliance/milter/milter_config_loader.h"
#include "appliance/milter/milter_config_validator.h"
#include "appliance/milter/milter_counters.h"
#include "appliance/milter/signetd_client.h"
#include "common/log.h"

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitConfig = 3;

int Usage() {
  fputs(
      "usage: signet-milter --config PATH [--check-config] [--log-level "
      "debug|info|warning|error]\n",
      stderr);
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace signet;
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--log-level" && i + 1 < argc) {
      const std::string level = argv[++i];
      if (level == "debug") {
        SetMinLogLevel(LogLevel::kDebug);
      } else if (level == "info") {
        SetMinLogLevel(LogLevel::kInfo);
      } else if (level == "warning") {
        SetMinLogLevel(LogLevel::kWarning);
      } else if (level == "error") {
        SetMinLogLevel(LogLevel::kError);
      } else {
        return Usage();
      }
    } else {
      return Usage();
    }
  }
  if (config_path.empty()) return Usage();

  absl::StatusOr<milter::v1::MilterConfig> loaded = milter::LoadMilterConfig(config_path);
  if (!loaded.ok()) {
    fprintf(stderr, "signet-milter: %s\n", std::string(loaded.status().message()).c_str());
    return kExitConfig;
  }
  if (absl::Status valid = milter::ValidateMilterConfig(*loaded); !valid.ok()) {
    fprintf(stderr, "signet-milter: %s\n", std::string(valid.message()).c_str());
    return kExitConfig;
  }
  const milter::v1::MilterConfig config = milter::WithDefaults(*std::move(loaded));
  if (check_only) {
    printf("signet-milter: %s is valid\n", config_path.c_str());
    return 0;
  }

  milter::SignetdClientOptions client_options{
      .socket = config.signetd().socket(),
      .server = config.signetd().server(),
      .cert_file = config.signetd().cert_file(),
      .key_file = config.signetd().key_file(),
      .ca_file = config.signetd().ca_file(),
      .tls_name = config.signetd().tls_name(),
      .timeout = absl::Seconds(config.signetd_timeout_seconds())};
  absl::StatusOr<std::unique_ptr<milter::SignetdClient>> client =
      milter::SignetdClient::Create(std::move(client_options));
  if (!client.ok()) {
    fprintf(stderr, "signet-milter: %s\n", std::string(client.status().message()).c_str());
    return kExitConfig;
  }
  milter::MailPolicyHandler handler(config, **client);
  milter::MilterCounters counters;
  const milter::MilterSettings settings{
      .max_message_bytes = static_cast<size_t>(config.max_message_bytes()),
      .handler = [&handler](const milter::ReceivedMail& mail) { return handler.Handle(mail); },
      .counters = &counters};
  std::unique_ptr<http::HttpListener> metrics;
  if (!config.metrics_address().empty()) {
    absl::StatusOr<std::unique_ptr<http::HttpListener>> started = http::StartMetricsListener(
        config.metrics_address(), [&counters] { return counters.PrometheusText(); });
    if (!started.ok()) {
      fprintf(stderr, "signet-milter: metrics_address: %s\n",
              std::string(started.status().message()).c_str());
      return kExitConfig;
    }
    metrics = *std::move(started);
  }

  std::string listen = config.listen();
  if (smfi_setconn(listen.data()) != MI_SUCCESS ||
      milter::RegisterMilter(&settings) != MI_SUCCESS) {
    fprintf(stderr, "signet-milter: libmilter refused the socket %s\n", listen.c_str());
    return kExitConfig;
  }
  if (config.milter_io_timeout_seconds() > 0) {
    smfi_settimeout(static_cast<int>(config.milter_io_timeout_seconds()));
  }
  // A socket left by a previous run that was killed is removed first.
  if (smfi_opensocket(true) != MI_SUCCESS) {
    fprintf(stderr, "signet-milter: cannot open the socket %s\n", listen.c_str());
    return kExitConfig;
  }
  absl::StatusOr<milter::ListenSpec> spec = milter::ParseListenSpec(listen);
  if (spec.ok() && spec->kind == milter::ListenSpec::Kind::kUnix) {
    const mode_t mode = config.listen_mode() != 0 ? config.listen_mode() : 0660;
    if (chmod(spec->path.c_str(), mode) != 0) {
      fprintf(stderr, "signet-milter: cannot set the mode of %s\n", spec->path.c_str());
      return kExitConfig;
    }
  }
  Log(LogLevel::kInfo, absl::StrCat("signet-milter: serving on ", listen));
  // libmilter handles SIGTERM, SIGINT and SIGHUP itself: it stops taking
  // connections and returns once the sessions in progress are over.
  const int served = smfi_main();
  Log(LogLevel::kInfo, "signet-milter: stopped");
  return served == MI_SUCCESS ? 0 : 1;
}
