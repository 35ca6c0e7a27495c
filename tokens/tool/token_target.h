// The token a command works on, as --module, --token and --pin-source name
// it, and opening it through the token layer as the daemon would.
#ifndef SIGNET_TOKENS_TOOL_TOKEN_TARGET_H_
#define SIGNET_TOKENS_TOOL_TOKEN_TARGET_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/command_options.h"
#include "tokens/pin_source.h"
#include "tokens/token.h"
#include "tokens/token_selector.h"

namespace signet::tool {

// One operator command should not hang on a token that stopped answering.
inline constexpr absl::Duration kCommandTimeout = absl::Seconds(60);

// The options of every command that opens a token (keys, keygen).
inline constexpr OptionSpec kTokenOptions[] = {
    {"module"},
    {"token"},
    {"pin-source"},
    {"clear-lockout", OptionKind::kFlag},
    {"verbose", OptionKind::kFlag},
};

// Their help, for the end of such a command's usage.
inline constexpr char kTokenOptionsHelp[] =
    R"(  --module PATH        the PKCS#11 module (a shared library); may instead be
                       given as module-path in a --token URI
  --token LABEL|URI    the token: its label, or a pkcs11: URI with token=,
                       serial=, manufacturer=, model= or slot-id=
  --pin-source SPEC    where the user PIN is read: file:/path (a regular file
                       of yours with mode 0600 or 0400), env:NAME or
                       systemd-credential:NAME; may instead be given as
                       pin-source in a --token URI. Never the PIN itself.
  --clear-lockout      allow one login although the PIN was rejected before or
                       the token reports failed PIN attempts (do this only
                       after fixing the PIN source)
  --verbose            also print the token layer's log lines
)";

struct TokenTarget {
  std::string module_path;
  std::string name;  // for messages
  TokenSelector selector;
  std::shared_ptr<const PinSource> pin_source;
  bool clear_lockout = false;
};

// InvalidArgument for a usage error; nothing here touches the module or the
// token.
absl::StatusOr<TokenTarget> ParseTokenTarget(const ParsedOptions& options);

// Loads the module and opens the token, logged in when there is a PIN source.
absl::StatusOr<std::shared_ptr<Token>> OpenToken(const TokenTarget& target);

// Reports a failure on an open token like Failed (tool_status.h), and says
// how to get past a lockout if that is where the token is; returns
// kExitFailed.
int TokenFailed(const Token& token, const absl::Status& status);

}  // namespace signet::tool

#endif  // SIGNET_TOKENS_TOOL_TOKEN_TARGET_H_
