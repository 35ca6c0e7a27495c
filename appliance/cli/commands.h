// The commands, each given a parsed command line. They print their results
// themselves (stdout, or OUT) and return the failure, if any, for main to
// report in one line.
#ifndef SIGNET_APPLIANCE_CLI_COMMANDS_H_
#define SIGNET_APPLIANCE_CLI_COMMANDS_H_

#include "absl/status/status.h"
#include "appliance/cli/command_line.h"

namespace signet::cli {

// sign, encrypt, sign-encrypt, decrypt, verify. show_progress: stderr is a
// terminal or --progress was given.
absl::Status RunMailCommand(const Invocation& invocation, bool show_progress);
absl::Status RunSignDigest(const Invocation& invocation);

// timestamp: an RFC 3161 stamp over a file, from signetd or --url.
absl::Status RunTimestamp(const Invocation& invocation);

// tokens, keys, key, keygen, csr, import-cert.
absl::Status RunKeyCommand(const Invocation& invocation);

// lookup, publish, unpublish, certificates, export-smimea, export-ldif.
absl::Status RunDirectoryCommand(const Invocation& invocation);

// audit verify: offline, no daemon.
absl::Status RunAuditVerify(const Invocation& invocation);

}  // namespace signet::cli

#endif  // SIGNET_APPLIANCE_CLI_COMMANDS_H_
