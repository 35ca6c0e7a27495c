#include "tokens/tool/tool_status.h"

#include <cstdio>

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace signet::tool {

int Failed(const absl::Status& status) {
  absl::FPrintF(stderr, "signet-token: %s\n", status.message());
  return kExitFailed;
}

int UsageError(absl::string_view command, absl::string_view message) {
  absl::FPrintF(stderr, "signet-token %s: %s\nRun 'signet-token %s --help' for usage.\n", command,
                message, command);
  return kExitUsage;
}

void ConfigureLogging(bool verbose) {
  if (!verbose) {
    SetLogSink([](LogLevel, absl::string_view) {});
    return;
  }
  SetMinLogLevel(LogLevel::kDebug);
  SetLogSink([](LogLevel level, absl::string_view message) {
    static constexpr absl::string_view kNames[] = {"debug", "info", "warning", "error"};
    absl::FPrintF(stderr, "signet-token: [%s] %s\n", kNames[static_cast<int>(level)], message);
  });
}

}  // namespace signet::tool
