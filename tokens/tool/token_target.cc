#include "tokens/tool/token_target.h"

#include <cstdio>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "tokens/module.h"
#include "tokens/pkcs11_uri.h"
#include "tokens/tool/tool_status.h"

namespace signet::tool {

absl::StatusOr<TokenTarget> ParseTokenTarget(const ParsedOptions& options) {
  TokenTarget target;
  std::optional<std::string> module = options.Value("module");
  std::optional<std::string> pin_source = options.Value("pin-source");
  std::optional<std::string> token = options.Value("token");
  if (!token) return absl::InvalidArgumentError("--token is required (a label or a pkcs11: URI)");

  if (absl::StartsWithIgnoreCase(*token, "pkcs11:")) {
    absl::StatusOr<Pkcs11Uri> uri = ParsePkcs11Uri(*token);
    if (!uri.ok())
      return absl::InvalidArgumentError(absl::StrCat("--token: ", uri.status().message()));
    // A URI that names a key would suggest that only that key is meant.
    if (uri->object || uri->id || uri->type) {
      return absl::InvalidArgumentError(
          "--token takes a URI naming a token; object=, id= and type= have no meaning here");
    }
    if (uri->module_name) {
      return absl::InvalidArgumentError(
          "module-name in a --token URI is not supported; use module-path or --module");
    }
    if (uri->module_path) {
      if (module) {
        return absl::InvalidArgumentError(
            "the module is given twice: by --module and by module-path in the --token URI");
      }
      module = uri->module_path;
    }
    if (uri->pin_source) {
      if (pin_source) {
        return absl::InvalidArgumentError(
            "the PIN source is given twice: by --pin-source and by pin-source in the --token URI");
      }
      pin_source = uri->pin_source;
    }
    absl::StatusOr<TokenSelector> selector = TokenSelector::FromUri(*uri);
    if (!selector.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--token: ", selector.status().message()));
    }
    target.selector = *std::move(selector);
    target.name = target.selector.Describe();
  } else {
    target.selector = TokenSelector::ByLabel(*token);
    target.name = *token;
  }

  if (!module) return absl::InvalidArgumentError("--module is required");
  target.module_path = *std::move(module);
  if (pin_source) {
    absl::StatusOr<std::unique_ptr<PinSource>> parsed = ParsePinSource(*pin_source);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--pin-source: ", parsed.status().message()));
    }
    target.pin_source = *std::move(parsed);
  }
  target.clear_lockout = options.Has("clear-lockout");
  return target;
}

absl::StatusOr<std::shared_ptr<Token>> OpenToken(const TokenTarget& target) {
  ASSIGN_OR_RETURN(std::shared_ptr<Module> module, Module::Load(target.module_path));
  TokenOptions options = {
      .name = target.name,
      .selector = target.selector,
      .pin_source = target.pin_source,
      .max_in_flight = 2,
      // One command, one attempt: a failure at Open is retried at once by
      // Acquire.
      .recovery_interval = absl::ZeroDuration(),
  };
  ASSIGN_OR_RETURN(std::shared_ptr<Token> token,
                   Token::Open(std::move(module), std::move(options)));
  // Token::Open refused to log in without presenting the PIN; the operator
  // says that one attempt is wanted now.
  if (target.clear_lockout) token->ClearLockout();
  return token;
}

// A locked-out token stays so for the daemon until an operator acts; for
// this tool the operator's action is the flag.
int TokenFailed(const Token& token, const absl::Status& status) {
  Failed(status);
  if (token.state() == TokenState::kLockedOut) {
    absl::FPrintF(stderr,
                  "signet-token: once the PIN source is right (or the token's security officer "
                  "has reset the user PIN), run again with --clear-lockout to allow one login "
                  "attempt\n");
  }
  return kExitFailed;
}

}  // namespace signet::tool
