#include "tokens/provider/uri_key_resolver.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "tokens/keys/key_locator.h"
#include "tokens/pkcs11_uri.h"
#include "tokens/token_selector.h"

namespace signet::provider {

absl::StatusOr<std::shared_ptr<UriKeyResolver>> UriKeyResolver::Create(
    UriKeyResolverOptions options) {
  if (options.module_path.empty()) {
    return absl::InvalidArgumentError("no PKCS#11 module is configured (pkcs11-module)");
  }
  std::shared_ptr<const PinSource> pin_source;
  if (!options.pin_source.empty()) {
    absl::StatusOr<std::unique_ptr<PinSource>> parsed = ParsePinSource(options.pin_source);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the configured pin-source is not usable: ", parsed.status().message()));
    }
    pin_source = std::move(*parsed);
  }
  return std::shared_ptr<UriKeyResolver>(new UriKeyResolver(std::move(options), pin_source));
}

absl::StatusOr<std::shared_ptr<Token>> UriKeyResolver::TokenFor(
    const std::shared_ptr<Module>& module, const TokenSelector& selector,
    std::shared_ptr<const PinSource> pin_source) {
  auto key = std::make_tuple(module.get(), selector.Describe(),
                             pin_source ? pin_source->Describe() : std::string());
  auto it = tokens_.find(key);
  if (it != tokens_.end()) return it->second;
  TokenOptions token_options;
  // Every message about the token names it by what the URI said.
  token_options.name = selector.Describe();
  token_options.selector = selector;
  token_options.pin_source = std::move(pin_source);
  ASSIGN_OR_RETURN(std::shared_ptr<Token> token, Token::Open(module, std::move(token_options)));
  tokens_.emplace(std::move(key), token);
  return token;
}

absl::StatusOr<std::shared_ptr<TokenKey>> UriKeyResolver::Resolve(absl::string_view reference) {
  ASSIGN_OR_RETURN(Pkcs11Uri uri, ParsePkcs11Uri(reference));
  if (uri.type && *uri.type != "private" && *uri.type != "public" && *uri.type != "cert") {
    return absl::InvalidArgumentError(absl::StrCat("a pkcs11: URI with type=", *uri.type,
                                                   " names no key pair; Signet serves keys"));
  }
  if (!uri.object && !uri.id) {
    return absl::InvalidArgumentError(
        "the pkcs11: URI names no key: give its label (object=) or its id (id=)");
  }
  if (uri.module_name) {
    return absl::UnimplementedError(
        "module-name in a pkcs11: URI is not supported; give module-path with an absolute path");
  }
  // The type only says what the caller wants of the key (store.cc hands
  // out the key, its public key or its certificate): one key per URI.
  Pkcs11Uri key_uri = uri;
  key_uri.type.reset();
  const std::string canonical = FormatPkcs11Uri(key_uri);

  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = keys_.find(canonical); it != keys_.end()) return it->second;

  ASSIGN_OR_RETURN(TokenSelector selector, TokenSelector::FromUri(key_uri));
  std::shared_ptr<const PinSource> pin_source = pin_source_;
  if (key_uri.pin_source) {
    absl::StatusOr<std::unique_ptr<PinSource>> parsed = ParsePinSource(*key_uri.pin_source);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the pkcs11: URI's pin-source is not usable: ", parsed.status().message()));
    }
    pin_source = std::move(*parsed);
  }
  const std::string& module_path =
      key_uri.module_path ? *key_uri.module_path : options_.module_path;
  ASSIGN_OR_RETURN(std::shared_ptr<Module> module, Module::Load(module_path));
  ASSIGN_OR_RETURN(std::shared_ptr<Token> token, TokenFor(module, selector, pin_source));

  KeySelector key_selector{.label = key_uri.object, .id = key_uri.id};
  absl::StatusOr<std::shared_ptr<TokenKey>> key =
      TokenKey::Load(token, key_selector, options_.policy, absl::Now() + options_.timeout);
  if (!key.ok()) {
    if (key.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(absl::StrCat("no private key ", key_selector.Describe(),
                                              " on token '", token->name(), "' (module ",
                                              module_path, ")"));
    }
    return key.status();
  }
  keys_.emplace(canonical, *key);
  return *key;
}

void UriKeyResolver::AbandonForExit() {
  // Never freed: whatever still holds a key (an EVP_PKEY the program did not
  // free) keeps its token too, and none of them is ever destroyed.
  static auto* abandoned = new std::vector<std::shared_ptr<const void>>();
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [uri, key] : keys_) abandoned->push_back(std::move(key));
  for (auto& [name, token] : tokens_) abandoned->push_back(std::move(token));
  keys_.clear();
  tokens_.clear();
}

}  // namespace signet::provider
