#include "tokens/token_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace signet {

absl::StatusOr<std::shared_ptr<Token>> TokenRegistry::Add(TokenConfig config) {
  const std::string name = config.options.name;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (tokens_.count(name) > 0) {
      return absl::AlreadyExistsError(
          absl::StrCat("a token named '", name, "' is configured twice"));
    }
  }
  ASSIGN_OR_RETURN(std::shared_ptr<Module> module, Module::Load(config.module_path));
  ASSIGN_OR_RETURN(std::shared_ptr<Token> token, Token::Open(module, std::move(config.options)));
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = tokens_.emplace(name, token);
  if (!inserted) {
    return absl::AlreadyExistsError(absl::StrCat("a token named '", name, "' is configured twice"));
  }
  return it->second;
}

absl::StatusOr<std::shared_ptr<Token>> TokenRegistry::Get(absl::string_view name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = tokens_.find(name);
  if (it == tokens_.end()) {
    return absl::NotFoundError(absl::StrCat("no token named '", name, "' is configured"));
  }
  return it->second;
}

std::vector<TokenStatus> TokenRegistry::List() const {
  std::vector<std::shared_ptr<Token>> tokens;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, token] : tokens_) tokens.push_back(token);
  }
  std::vector<TokenStatus> statuses;
  for (const auto& token : tokens) statuses.push_back(token->Status());
  return statuses;
}

std::vector<std::shared_ptr<Token>> TokenRegistry::Tokens(bool on_pcsc) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<Token>> tokens;
  for (const auto& [name, token] : tokens_) {
    if (token->options().pcsc == on_pcsc) tokens.push_back(token);
  }
  return tokens;
}

std::vector<TokenStatus> TokenRegistry::Rescan() {
  std::vector<std::shared_ptr<Token>> tokens;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, token] : tokens_) tokens.push_back(token);
  }
  for (const auto& token : tokens) {
    const TokenStatus status = token->Status();
    if (status.state == TokenState::kReady) continue;
    // A card token is not searched for beside an operation still failing on
    // it: OpenSC 0.23 can deadlock when C_GetSlotList runs beside a card
    // operation. The next rescan comes back for it.
    if (token->options().pcsc && status.in_flight > 0) continue;
    (void)token->Rescan();
  }
  return List();
}

absl::StatusOr<std::vector<TokenDescription>> TokenRegistry::Discover(
    const std::string& module_path) {
  ASSIGN_OR_RETURN(std::shared_ptr<Module> module, Module::Load(module_path));
  return ListPresentTokens(*module);
}

}  // namespace signet
