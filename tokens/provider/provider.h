// Signet's OpenSSL 3 provider: token keys as EVP_PKEYs, so that OpenSSL's own
// CMS code signs with keys that never leave the token (docs/architecture.md, decision D7).
//
// Inside the daemon it is a built-in provider of the daemon's own
// OSSL_LIB_CTX, next to the default provider, sharing the token layer's
// modules and sessions:
//
//   OSSL_LIB_CTX* libctx = OSSL_LIB_CTX_new();
//   auto providers = RegisterBuiltinProvider(libctx, resolver);  // + "default"
//   absl::StatusOr<EvpPkeyPtr> key = LoadTokenKey(libctx, "bank-signing");
//   CMS_sign_ex(cert, key->get(), ..., libctx, nullptr);
//   ... keys freed, then providers.reset(), then OSSL_LIB_CTX_free(libctx).
//
// The application owns the resolver and keeps it (and with it the token
// keys) alive for as long as it uses the provider; the provider holds it
// only weakly. Release the token keys before the library context.
#ifndef SIGNET_TOKENS_PROVIDER_PROVIDER_H_
#define SIGNET_TOKENS_PROVIDER_PROVIDER_H_

#include <openssl/core.h>
#include <openssl/types.h>

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ossl_ptr.h"
#include "tokens/keys/token_key.h"

namespace signet::provider {

inline constexpr char kProviderName[] = "signet";
// The property query that selects Signet's implementations.
inline constexpr char kProviderProperty[] = "provider=signet";

// Turns the names keys are known by (a configured key name, a pkcs11: URI)
// into token keys.
class KeyResolver {
 public:
  virtual ~KeyResolver() = default;
  virtual absl::StatusOr<std::shared_ptr<TokenKey>> Resolve(absl::string_view reference) = 0;
};

// The providers RegisterBuiltinProvider loaded; unloads them when destroyed
// (before the library context is freed, after the last key of it).
class LoadedProviders {
 public:
  LoadedProviders() = default;
  LoadedProviders(const LoadedProviders&) = delete;
  LoadedProviders& operator=(const LoadedProviders&) = delete;
  ~LoadedProviders();
  void Add(OSSL_PROVIDER* provider) { providers_.push_back(provider); }

 private:
  std::vector<OSSL_PROVIDER*> providers_;
};

// Registers and loads the provider (and the default provider) in `libctx`,
// and makes the default provider preferred for everything that is not a
// token key, so unrelated software keys never reach Signet's code.
absl::StatusOr<std::unique_ptr<LoadedProviders>> RegisterBuiltinProvider(
    OSSL_LIB_CTX* libctx, std::shared_ptr<KeyResolver> resolver);

// An EVP_PKEY for the token key `reference` names, backed by Signet's
// provider in `libctx`.
absl::StatusOr<EvpPkeyPtr> LoadTokenKey(OSSL_LIB_CTX* libctx, absl::string_view reference);

// The provider's entry point (OSSL_provider_init's signature).
int ProviderInit(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in, const OSSL_DISPATCH** out,
                 void** provctx);

}  // namespace signet::provider

#endif  // SIGNET_TOKENS_PROVIDER_PROVIDER_H_
