// How signet-token ends: its exit codes, and the one line on stderr that says
// why a command failed or what is wrong with its command line.
#ifndef SIGNET_TOKENS_TOOL_TOOL_STATUS_H_
#define SIGNET_TOKENS_TOOL_TOOL_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace signet::tool {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the operation failed
inline constexpr int kExitUsage = 2;   // the command line is wrong

// "signet-token: <message>"; returns kExitFailed.
int Failed(const absl::Status& status);

// "signet-token <command>: <message>" and where its usage is; returns
// kExitUsage.
int UsageError(absl::string_view command, absl::string_view message);

// The token layer logs to stderr by default; for a one-shot command its
// warnings repeat the error the command prints, so they show only on request
// (--verbose).
void ConfigureLogging(bool verbose);

}  // namespace signet::tool

#endif  // SIGNET_TOKENS_TOOL_TOOL_STATUS_H_
