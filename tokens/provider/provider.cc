#include "tokens/provider/provider.h"

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/openssl_error.h"
#include "common/status_macros.h"
#include "tokens/provider/asym_cipher.h"
#include "tokens/provider/dispatch.h"
#include "tokens/provider/keyexch.h"
#include "tokens/provider/keymgmt.h"
#include "tokens/provider/provider_context.h"
#include "tokens/provider/signature.h"
#include "tokens/provider/store.h"

namespace signet::provider {
namespace {

// Resolvers of the built-in instances, by library context: the core tells
// a provider its library context at init, nothing else. Weak: the
// application owns its resolver (see ProviderContext::resolver).
std::mutex& ResolversMutex() {
  static auto* mutex = new std::mutex();
  return *mutex;
}
std::map<const void*, std::weak_ptr<KeyResolver>>& Resolvers() {
  static auto* resolvers = new std::map<const void*, std::weak_ptr<KeyResolver>>();
  return *resolvers;
}

std::shared_ptr<KeyResolver> ResolverFor(const void* libctx) {
  std::lock_guard<std::mutex> lock(ResolversMutex());
  auto it = Resolvers().find(libctx);
  return it == Resolvers().end() ? nullptr : it->second.lock();
}

constexpr char kRsaNames[] = "RSA:rsaEncryption:1.2.840.113549.1.1.1";
constexpr char kEcNames[] = "EC:id-ecPublicKey:1.2.840.10045.2.1";

const OSSL_ALGORITHM* Keymgmts() {
  static const auto table = AlgorithmTable(
      OSSL_ALGORITHM{kRsaNames, kProviderProperty, RsaKeymgmtDispatch(), "RSA keys on tokens"},
      OSSL_ALGORITHM{kEcNames, kProviderProperty, EcKeymgmtDispatch(), "EC keys on tokens"});
  return table.data();
}

const OSSL_ALGORITHM* Signatures() {
  static const auto table =
      AlgorithmTable(OSSL_ALGORITHM{kRsaNames, kProviderProperty, RsaSignatureDispatch(),
                                    "RSA PKCS#1 v1.5 and PSS signatures with token keys"},
                     OSSL_ALGORITHM{"ECDSA", kProviderProperty, EcdsaSignatureDispatch(),
                                    "ECDSA signatures with token keys"});
  return table.data();
}

const OSSL_ALGORITHM* AsymCiphers() {
  static const auto table = AlgorithmTable(OSSL_ALGORITHM{
      kRsaNames, kProviderProperty, RsaAsymCipherDispatch(), "RSA decryption with token keys"});
  return table.data();
}

const OSSL_ALGORITHM* KeyExchanges() {
  static const auto table = AlgorithmTable(
      OSSL_ALGORITHM{"ECDH", kProviderProperty, EcdhKeyExchangeDispatch(), "ECDH with token keys"});
  return table.data();
}

const OSSL_ALGORITHM* Stores() {
  static const auto table = AlgorithmTable(OSSL_ALGORITHM{
      kPkcs11Scheme, kProviderProperty, StoreDispatch(), "RFC 7512 pkcs11: URIs of token keys"});
  return table.data();
}

const OSSL_ALGORITHM* ProviderQueryOperation(void* provctx, int operation_id, int* no_cache) {
  (void)provctx;
  *no_cache = 0;
  switch (operation_id) {
    case OSSL_OP_KEYMGMT:
      return Keymgmts();
    case OSSL_OP_SIGNATURE:
      return Signatures();
    case OSSL_OP_ASYM_CIPHER:
      return AsymCiphers();
    case OSSL_OP_KEYEXCH:
      return KeyExchanges();
    case OSSL_OP_STORE:
      return Stores();
    default:
      return nullptr;
  }
}

const OSSL_PARAM* ProviderGettableParams(void* provctx) {
  (void)provctx;
  static const OSSL_PARAM kParams[] = {OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, nullptr, 0),
                                       OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, nullptr, 0),
                                       OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, nullptr, 0),
                                       OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, nullptr),
                                       OSSL_PARAM_END};
  return kParams;
}

int ProviderGetParams(void* provctx, OSSL_PARAM params[]) {
  (void)provctx;
  OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
  if (p != nullptr && !OSSL_PARAM_set_utf8_ptr(p, "Signet token provider")) return 0;
  p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
  if (p != nullptr && !OSSL_PARAM_set_utf8_ptr(p, "0.1.0")) return 0;
  p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
  if (p != nullptr && !OSSL_PARAM_set_utf8_ptr(p, "signet")) return 0;
  p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
  if (p != nullptr && !OSSL_PARAM_set_int(p, 1)) return 0;
  return 1;
}

const OSSL_ITEM* ProviderGetReasonStrings(void* provctx) {
  (void)provctx;
  return ReasonStrings();
}

void ProviderTeardown(void* provctx) {
  auto* context = static_cast<ProviderContext*>(provctx);
  // Only built-in instances are registered by library context.
  if (context->owned_resolver == nullptr) {
    std::lock_guard<std::mutex> lock(ResolversMutex());
    auto it = Resolvers().find(context->libctx);
    if (it != Resolvers().end() && it->second.lock() == context->resolver.lock()) {
      Resolvers().erase(it);
    }
  }
  delete context;
}

const OSSL_DISPATCH* ProviderDispatch() {
  static const auto table = DispatchTable(
      Dispatch<OSSL_FUNC_provider_teardown_fn>(OSSL_FUNC_PROVIDER_TEARDOWN, &ProviderTeardown),
      Dispatch<OSSL_FUNC_provider_gettable_params_fn>(OSSL_FUNC_PROVIDER_GETTABLE_PARAMS,
                                                      &ProviderGettableParams),
      Dispatch<OSSL_FUNC_provider_get_params_fn>(OSSL_FUNC_PROVIDER_GET_PARAMS, &ProviderGetParams),
      Dispatch<OSSL_FUNC_provider_query_operation_fn>(OSSL_FUNC_PROVIDER_QUERY_OPERATION,
                                                      &ProviderQueryOperation),
      Dispatch<OSSL_FUNC_provider_get_reason_strings_fn>(OSSL_FUNC_PROVIDER_GET_REASON_STRINGS,
                                                         &ProviderGetReasonStrings));
  return table.data();
}

}  // namespace

void CaptureCoreFunctions(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in,
                          ProviderContext* context) {
  context->handle = handle;
  for (const OSSL_DISPATCH* f = in; f != nullptr && f->function_id != 0; ++f) {
    switch (f->function_id) {
      case OSSL_FUNC_CORE_NEW_ERROR:
        context->new_error = OSSL_FUNC_core_new_error(f);
        break;
      case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
        context->set_error_debug = OSSL_FUNC_core_set_error_debug(f);
        break;
      case OSSL_FUNC_CORE_VSET_ERROR:
        context->vset_error = OSSL_FUNC_core_vset_error(f);
        break;
      case OSSL_FUNC_CORE_GET_PARAMS:
        context->get_params = OSSL_FUNC_core_get_params(f);
        break;
      default:
        break;
    }
  }
}

int InitProvider(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in, const OSSL_DISPATCH** out,
                 void** provctx, std::shared_ptr<KeyResolver> owned_resolver) {
  auto context = std::make_unique<ProviderContext>();
  CaptureCoreFunctions(handle, in, context.get());
  OSSL_FUNC_core_get_libctx_fn* get_libctx = nullptr;
  for (const OSSL_DISPATCH* f = in; f != nullptr && f->function_id != 0; ++f) {
    if (f->function_id == OSSL_FUNC_CORE_GET_LIBCTX) get_libctx = OSSL_FUNC_core_get_libctx(f);
  }
  if (get_libctx != nullptr) context->libctx = get_libctx(handle);
  if (owned_resolver != nullptr) {
    context->resolver = owned_resolver;
    context->owned_resolver = std::move(owned_resolver);
  } else if (context->libctx != nullptr) {
    context->resolver = ResolverFor(context->libctx);
  }
  *out = ProviderDispatch();
  *provctx = context.release();
  return 1;
}

int ProviderInit(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in, const OSSL_DISPATCH** out,
                 void** provctx) {
  return InitProvider(handle, in, out, provctx, nullptr);
}

LoadedProviders::~LoadedProviders() {
  for (auto it = providers_.rbegin(); it != providers_.rend(); ++it) OSSL_PROVIDER_unload(*it);
}

absl::StatusOr<std::unique_ptr<LoadedProviders>> RegisterBuiltinProvider(
    OSSL_LIB_CTX* libctx, std::shared_ptr<KeyResolver> resolver) {
  if (libctx == nullptr) {
    return absl::InvalidArgumentError("the provider needs the application's own OSSL_LIB_CTX");
  }
  {
    std::lock_guard<std::mutex> lock(ResolversMutex());
    Resolvers()[libctx] = std::move(resolver);
  }
  if (OSSL_PROVIDER_add_builtin(libctx, kProviderName, &ProviderInit) != 1) {
    return OpenSslError("registering Signet's provider");
  }
  auto loaded = std::make_unique<LoadedProviders>();
  OSSL_PROVIDER* default_provider = OSSL_PROVIDER_load(libctx, "default");
  if (default_provider == nullptr) return OpenSslError("loading OpenSSL's default provider");
  loaded->Add(default_provider);
  OSSL_PROVIDER* signet = OSSL_PROVIDER_load(libctx, kProviderName);
  if (signet == nullptr) return OpenSslError("loading Signet's provider");
  loaded->Add(signet);
  // Software keys and algorithms keep coming from the default provider;
  // only keys that Signet's keymgmt made are served by Signet.
  if (EVP_set_default_properties(libctx, "?provider=default") != 1) {
    return OpenSslError("preferring the default provider");
  }
  return loaded;
}

absl::StatusOr<EvpPkeyPtr> LoadTokenKey(OSSL_LIB_CTX* libctx, absl::string_view reference) {
  std::shared_ptr<KeyResolver> resolver = ResolverFor(libctx);
  if (resolver == nullptr) {
    return absl::FailedPreconditionError("Signet's provider is not registered in this context");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<TokenKey> token_key, resolver->Resolve(reference));
  std::string name(reference);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(kKeyReferenceParam, name.data(), 0),
                         OSSL_PARAM_END};
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(
      libctx, (token_key)->type() == KeyType::kRsa ? "RSA" : "EC", kProviderProperty));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_KEYPAIR, params) != 1) {
    return OpenSslError(absl::StrCat("making an EVP_PKEY for token key ", reference));
  }
  return EvpPkeyPtr(key);
}

}  // namespace signet::provider
