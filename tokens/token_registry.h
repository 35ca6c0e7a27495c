// Every token the appliance is configured with, by name, across modules.
#ifndef SIGNET_TOKENS_TOKEN_REGISTRY_H_
#define SIGNET_TOKENS_TOKEN_REGISTRY_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tokens/token.h"

namespace signet {

struct TokenConfig {
  std::string module_path;
  TokenOptions options;
};

class TokenRegistry {
 public:
  TokenRegistry() = default;
  TokenRegistry(const TokenRegistry&) = delete;
  TokenRegistry& operator=(const TokenRegistry&) = delete;

  // Loads the module (once per file) and opens the token. A token that is
  // absent or locked out is still added and reports its state.
  absl::StatusOr<std::shared_ptr<Token>> Add(TokenConfig config);

  // NOT_FOUND for a name that is not configured.
  absl::StatusOr<std::shared_ptr<Token>> Get(absl::string_view name) const;

  std::vector<TokenStatus> List() const;

  // The tokens whose options say they sit on PC/SC (TokenOptions::pcsc)
  // when `on_pcsc`, the others when not: the reader watch takes the first,
  // the slot-event watch the second.
  std::vector<std::shared_ptr<Token>> Tokens(bool on_pcsc) const;

  // Tries to bring every token that is not ready back now; returns the
  // states after the attempt.
  std::vector<TokenStatus> Rescan();

  // Every token present in a module's slots, configured or not (for
  // `signet tokens` and setup).
  static absl::StatusOr<std::vector<TokenDescription>> Discover(const std::string& module_path);

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Token>, std::less<>> tokens_;
};

}  // namespace signet

#endif  // SIGNET_TOKENS_TOKEN_REGISTRY_H_
