#include "appliance/server/key_registry.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

#include <filesystem>
#include <optional>
#include <system_error>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/server/config/config_validator.h"
#include "appliance/server/config/token_profiles.h"
#include "common/pem_certificates.h"
#include "common/status_macros.h"
#include "tokens/keys/key_locator.h"
#include "tokens/keys/key_policy.h"
#include "tokens/pin_source.h"
#include "tokens/token_selector.h"

namespace signet::server {
namespace {

constexpr absl::Duration kLoadTimeout = absl::Seconds(30);

absl::StatusOr<std::shared_ptr<const PinSource>> PinSourceOf(const config::v1::PinSource& pin) {
  switch (pin.source_case()) {
    case config::v1::PinSource::kFile:
      return std::make_shared<FilePinSource>(pin.file());
    case config::v1::PinSource::kEnv:
      return std::make_shared<EnvPinSource>(pin.env());
    case config::v1::PinSource::kSystemdCredential:
      return std::make_shared<SystemdCredentialPinSource>(pin.systemd_credential());
    case config::v1::PinSource::SOURCE_NOT_SET:
      break;
  }
  return nullptr;
}

absl::StatusOr<TokenSelector> SelectorOf(const config::v1::Token& token) {
  switch (token.selector_case()) {
    case config::v1::Token::kLabel:
      return TokenSelector::ByLabel(token.label());
    case config::v1::Token::kSerial:
      return TokenSelector::BySerial(token.serial());
    case config::v1::Token::kUri:
      return TokenSelector::FromUri(token.uri());
    case config::v1::Token::SELECTOR_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat("token '", token.name(), "' has no selector"));
}

// A module that the token's profile named and that is not installed: the
// error says which package puts it there.
absl::Status ExplainMissingModule(const config::v1::Token& token, const std::string& module_path,
                                  absl::Status status) {
  const TokenProfileInfo* profile = FindTokenProfile(token.profile());
  std::error_code ec;
  if (!token.module().empty() || profile == nullptr || std::filesystem::exists(module_path, ec)) {
    return status;
  }
  return absl::Status(
      status.code(),
      absl::StrCat(status.message(), " (token '", token.name(), "': the module of profile ",
                   TokenProfileName(profile->profile), "; install the package ", profile->package,
                   " or give the token a module)"));
}

// The key's object on its token. A PIV slot is the CKA_ID that the module
// of the token's profile gives the key in that slot.
absl::StatusOr<KeySelector> KeySelectorOf(const config::v1::Config& config,
                                          const config::v1::Key& key) {
  switch (key.object_case()) {
    case config::v1::Key::kLabel:
      return KeySelector::ByLabel(key.label());
    case config::v1::Key::kIdHex:
      return KeySelector::ById(absl::HexStringToBytes(key.id_hex()));
    case config::v1::Key::kPivSlot: {
      config::v1::TokenProfile profile = config::v1::TOKEN_PROFILE_UNSPECIFIED;
      for (const config::v1::Token& token : config.tokens()) {
        if (token.name() == key.token()) profile = token.profile();
      }
      const std::optional<std::uint8_t> slot = ParsePivSlot(key.piv_slot());
      std::optional<std::string> id = slot ? PivSlotKeyId(profile, *slot) : std::nullopt;
      if (!id) {
        return absl::InvalidArgumentError(absl::StrCat(
            "key '", key.name(), "': piv_slot needs a PIV key slot on a token with a PIV profile"));
      }
      return KeySelector::ById(*std::move(id));
    }
    case config::v1::Key::OBJECT_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat("key '", key.name(), "' names no object"));
}

absl::StatusOr<std::vector<X509Ptr>> ReadChain(const std::string& path) {
  absl::StatusOr<std::vector<X509Ptr>> chain = ReadPemCertificates(path);
  if (!chain.ok()) return absl::FailedPreconditionError(chain.status().message());
  return chain;
}

}  // namespace

absl::StatusOr<std::shared_ptr<KeyRegistry>> KeyRegistry::Create(const config::v1::Config& config) {
  std::shared_ptr<KeyRegistry> registry(new KeyRegistry(config));
  RETURN_IF_ERROR(registry->OpenTokens());
  registry->libctx_ = OSSL_LIB_CTX_new();
  if (registry->libctx_ == nullptr) return absl::InternalError("cannot make a library context");
  ASSIGN_OR_RETURN(registry->providers_,
                   provider::RegisterBuiltinProvider(registry->libctx_, registry));
  // Keys whose token is not there yet load on first use.
  for (const config::v1::Key& key : registry->config_.keys())
    registry->Get(key.name()).IgnoreError();
  return registry;
}

KeyRegistry::~KeyRegistry() {
  // Token keys go first, the library context last (see provider.h).
  keys_.clear();
  token_keys_.clear();
  providers_.reset();
  if (libctx_ != nullptr) OSSL_LIB_CTX_free(libctx_);
}

absl::Status KeyRegistry::OpenTokens() {
  for (const config::v1::Token& token : config_.tokens()) {
    TokenConfig token_config;
    // The module, or the one its profile names where the distribution puts
    // it; a profile's cards are reached through pcscd and do one operation
    // at a time (token_profiles.h).
    const std::string module_path = EffectiveModulePath(token);
    token_config.module_path = module_path;
    token_config.options.pcsc = EffectivePcsc(token);
    token_config.options.verify_ecdsa =
        token_config.options.pcsc || token.verify_ecdsa_signatures();
    token_config.options.name = token.name();
    ASSIGN_OR_RETURN(TokenSelector selector, SelectorOf(token));
    token_config.options.selector = selector;
    ASSIGN_OR_RETURN(std::shared_ptr<const PinSource> pin, PinSourceOf(token.pin()));
    token_config.options.pin_source = pin;
    token_config.options.max_in_flight = EffectiveMaxInFlight(token);
    absl::StatusOr<std::shared_ptr<Token>> added = tokens_.Add(std::move(token_config));
    if (!added.ok()) return ExplainMissingModule(token, module_path, added.status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const ConfiguredKey>> KeyRegistry::Get(absl::string_view name) {
  const config::v1::Key* configured = nullptr;
  for (const config::v1::Key& key : config_.keys()) {
    if (key.name() == name) configured = &key;
  }
  if (configured == nullptr) return absl::NotFoundError(absl::StrCat("no key named '", name, "'"));
  std::shared_ptr<std::mutex> load_lock;
  {
    std::lock_guard<std::mutex> lock(keys_mutex_);
    if (auto it = keys_.find(name); it != keys_.end()) return it->second;
    std::shared_ptr<std::mutex>& slot = load_locks_[configured->name()];
    if (!slot) slot = std::make_shared<std::mutex>();
    load_lock = slot;
  }
  // One load per key at a time, and none of them in the way of the keys
  // already loaded: loading from a token that is slow or gone can take
  // as long as the token's timeouts.
  std::lock_guard<std::mutex> loading(*load_lock);
  {
    std::lock_guard<std::mutex> lock(keys_mutex_);
    if (auto it = keys_.find(name); it != keys_.end()) return it->second;
  }
  absl::StatusOr<std::shared_ptr<const ConfiguredKey>> loaded = Load(*configured);
  if (loaded.ok()) {
    std::lock_guard<std::mutex> lock(keys_mutex_);
    keys_[configured->name()] = *loaded;
  }
  return loaded;
}

void KeyRegistry::Forget(absl::string_view name) {
  std::lock_guard<std::mutex> lock(keys_mutex_);
  if (auto it = keys_.find(name); it != keys_.end()) keys_.erase(it);
}

absl::StatusOr<std::shared_ptr<TokenKey>> KeyRegistry::Resolve(absl::string_view reference) {
  std::lock_guard<std::mutex> lock(token_keys_mutex_);
  auto it = token_keys_.find(reference);
  if (it == token_keys_.end()) {
    return absl::NotFoundError(absl::StrCat("no key named '", reference, "'"));
  }
  return it->second;
}

absl::StatusOr<std::shared_ptr<const ConfiguredKey>> KeyRegistry::Load(const config::v1::Key& key) {
  ASSIGN_OR_RETURN(std::shared_ptr<Token> token, tokens_.Get(key.token()));
  ASSIGN_OR_RETURN(KeySelector selector, KeySelectorOf(config_, key));
  KeyPolicy policy;
  policy.allow_imported_keys = key.allow_imported();
  absl::StatusOr<std::shared_ptr<TokenKey>> token_key =
      TokenKey::Load(token, selector, policy, absl::Now() + kLoadTimeout);
  if (!token_key.ok()) return token_key.status();
  {
    std::lock_guard<std::mutex> lock(token_keys_mutex_);
    token_keys_[key.name()] = *token_key;
  }
  auto configured = std::make_shared<ConfiguredKey>();
  configured->config = key;
  configured->token_key = *token_key;
  ASSIGN_OR_RETURN(configured->key, provider::LoadTokenKey(libctx_, key.name()));
  if (!key.certificate_chain_file().empty()) {
    ASSIGN_OR_RETURN(configured->chain, ReadChain(key.certificate_chain_file()));
  } else if (X509Ptr stored = (*token_key)->certificate()) {
    configured->chain.push_back(std::move(stored));
  }
  // A key without a certificate loads too, so that a new key can have its
  // request signed and its certificate imported; mail calls refuse it.
  if (!configured->chain.empty() && EVP_PKEY_eq(X509_get0_pubkey(configured->chain.front().get()),
                                                (*token_key)->public_key()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError(
        absl::StrCat("the certificate of key '", key.name(), "' is for another key"));
  }
  return configured;
}

}  // namespace signet::server
