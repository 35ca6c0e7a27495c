// How `signet` ends: the exit codes it documents, and the one line on stderr
// that says why a command failed.
//
// Every failure is an absl::Status. A daemon's gRPC status keeps its code and
// message, and its ErrorDetails (proto/signet/v1/errors.proto) ride along as
// a payload so that the line can name the CKR_* value, the token and whether
// a retry may succeed.
#ifndef SIGNET_APPLIANCE_CLI_CLI_STATUS_H_
#define SIGNET_APPLIANCE_CLI_CLI_STATUS_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace signet::cli {

// The exit codes (docs/operations.md, "The signet command").
inline constexpr int kExitOk = 0;
// The daemon refused or failed the operation, a file could not be read or
// written, or (audit verify, verify) what was checked did not hold.
inline constexpr int kExitFailed = 1;
// The command line is wrong; nothing was done.
inline constexpr int kExitUsage = 2;
// signetd could not be reached; nothing was sent.
inline constexpr int kExitCannotConnect = 3;

// A gRPC status as an absl::Status: the same code (the numbers agree), the
// message, and the serialized ErrorDetails, if any, as a payload.
absl::Status StatusFromGrpc(const grpc::Status& status);

// signetd could not be reached: UNAVAILABLE, marked so that ExitCodeFor
// tells it from a token fault the daemon reported with the same code.
absl::Status CannotConnectError(absl::string_view message);

int ExitCodeFor(const absl::Status& status);

// "(CKR_DEVICE_ERROR, retryable, token hsm-a)" for serialized ErrorDetails;
// empty when there is nothing to say or they do not parse.
std::string FormatErrorDetails(absl::string_view serialized);

// "signet: <operation>: <CODE>: <message> <details>", one line, no newline.
std::string FormatError(absl::string_view operation, const absl::Status& status);

}  // namespace signet::cli

#endif  // SIGNET_APPLIANCE_CLI_CLI_STATUS_H_
