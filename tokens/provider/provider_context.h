// The state one loaded instance of the provider keeps, and the error
// reporting every dispatch function uses.
#ifndef SIGNET_TOKENS_PROVIDER_PROVIDER_CONTEXT_H_
#define SIGNET_TOKENS_PROVIDER_PROVIDER_CONTEXT_H_

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tokens/provider/provider.h"

namespace signet::provider {

struct ProviderContext {
  const OSSL_CORE_HANDLE* handle = nullptr;
  // The library context the provider was loaded into (opaque to us).
  const void* libctx = nullptr;
  // Weak, because a token key's public EVP_PKEY can end up holding the
  // provider (OpenSSL caches exports of a key to another provider's keymgmt
  // on the key): a strong reference back would make a cycle that keeps the
  // provider, the keys and the PKCS#11 module alive for good.
  std::weak_ptr<KeyResolver> resolver;
  // Set only in the loadable module (signet.so): there no application
  // exists to own the resolver, so the instance owns it. No cycle forms
  // there, because the module's token keys' public EVP_PKEYs are used only
  // with provider=default and never exported to Signet's keymgmt (see
  // module_entry.cc).
  std::shared_ptr<KeyResolver> owned_resolver;
  // How long one token operation may wait for a session.
  absl::Duration operation_timeout = absl::Seconds(30);
  OSSL_FUNC_core_new_error_fn* new_error = nullptr;
  OSSL_FUNC_core_set_error_debug_fn* set_error_debug = nullptr;
  OSSL_FUNC_core_vset_error_fn* vset_error = nullptr;
  // Reads the provider's configuration section (openssl.cnf).
  OSSL_FUNC_core_get_params_fn* get_params = nullptr;
};

// Takes the core functions the provider uses from `in`: error reporting,
// and get_params for the loadable module's configuration, which it reads
// before the provider is set up.
void CaptureCoreFunctions(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in,
                          ProviderContext* context);

// ProviderInit's body. `owned_resolver` null: the built-in provider, which
// finds its (weakly held) resolver by library context. Otherwise the
// instance owns that resolver (the loadable module).
int InitProvider(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in, const OSSL_DISPATCH** out,
                 void** provctx, std::shared_ptr<KeyResolver> owned_resolver);

// Reasons in the provider's error strings (provider_get_reason_strings).
enum ProviderReason : int {
  kReasonTokenOperation = 1,
  kReasonUnsupported = 2,
  kReasonBadArgument = 3,
  kReasonKeyNotFound = 4,
  kReasonNoPrivateKeyMaterial = 5,
};

// Puts one error on OpenSSL's error queue through the core, with the
// status's message (which never carries a PIN or key material).
void RaiseError(const ProviderContext* provider, int reason, const absl::Status& status);
void RaiseError(const ProviderContext* provider, int reason, const char* message);

// The provider's reason strings, for provider_get_reason_strings.
const OSSL_ITEM* ReasonStrings();

}  // namespace signet::provider

#endif  // SIGNET_TOKENS_PROVIDER_PROVIDER_CONTEXT_H_
