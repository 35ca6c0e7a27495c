// signet: the client of signetd (docs/operations.md, "The signet command").
#include <grpc/support/log.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/cli/cli_status.h"
#include "appliance/cli/command_line.h"
#include "appliance/cli/commands.h"
#include "appliance/cli/files.h"

namespace signet::cli {
namespace {

// gRPC's own log lines would break the promise of one line per error; the
// error line says what they would. GRPC_VERBOSITY, when set, brings them
// back for debugging.
void Silent(gpr_log_func_args*) {}

absl::Status Run(const Invocation& invocation) {
  switch (invocation.command) {
    case Command::kSign:
    case Command::kEncrypt:
    case Command::kSignEncrypt:
    case Command::kDecrypt:
    case Command::kVerify:
      return RunMailCommand(invocation, invocation.progress || isatty(STDERR_FILENO) == 1);
    case Command::kSignDigest:
      return RunSignDigest(invocation);
    case Command::kTimestamp:
      return RunTimestamp(invocation);
    case Command::kAuditVerify:
      return RunAuditVerify(invocation);
    case Command::kTokens:
    case Command::kKeys:
    case Command::kKey:
    case Command::kKeygen:
    case Command::kCsr:
    case Command::kImportCert:
      return RunKeyCommand(invocation);
    case Command::kLookup:
    case Command::kPublish:
    case Command::kUnpublish:
    case Command::kCertificates:
    case Command::kExportSmimea:
    case Command::kExportLdif:
      return RunDirectoryCommand(invocation);
    case Command::kHelp:
    case Command::kVersion:
      break;
  }
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  if (getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function(Silent);
  // A closed stdout is an error to report, not a signal to die of.
  signal(SIGPIPE, SIG_IGN);
  RemoveTemporaryOnSignals();

  const std::vector<std::string> args(argv + 1, argv + argc);
  const char* env_socket = getenv("SIGNET_SOCKET");
  std::variant<Invocation, UsageError> parsed = ParseCommandLine(
      args, env_socket == nullptr ? std::nullopt : std::optional<std::string>(env_socket));
  if (const UsageError* error = std::get_if<UsageError>(&parsed)) {
    const std::string line = error->command.empty() ? absl::StrCat("signet: ", error->message, "\n")
                                                    : absl::StrCat("signet: ", error->command, ": ",
                                                                   error->message, "\n");
    fputs(line.c_str(), stderr);
    fputs(ShortUsage(error->command).c_str(), stderr);
    return kExitUsage;
  }
  const Invocation& invocation = std::get<Invocation>(parsed);
  if (invocation.command == Command::kHelp) {
    fputs(UsageText(invocation.help_topic).c_str(), stdout);
    return kExitOk;
  }
  if (invocation.command == Command::kVersion) {
    printf("signet %s\n", SIGNET_VERSION);
    return kExitOk;
  }
  absl::Status status = Run(invocation);
  if (!status.ok()) {
    fflush(stdout);
    fputs(absl::StrCat(FormatError(invocation.name, status), "\n").c_str(), stderr);
  }
  return ExitCodeFor(status);
}

}  // namespace
}  // namespace signet::cli

int main(int argc, char** argv) { return signet::cli::Main(argc, argv); }
