#include "tokens/provider/keymgmt.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "tokens/provider/dispatch.h"
#include "tokens/provider/provider_context.h"
#include "tokens/provider/provider_key.h"

namespace signet::provider {
namespace {

constexpr int kPrivateSelection = OSSL_KEYMGMT_SELECT_PRIVATE_KEY;

const char* SoftwareName(KeyType type) { return type == KeyType::kRsa ? "RSA" : "EC"; }

template <KeyType kType>
void* KeymgmtNew(void* provctx) {
  auto* key = new ProviderKey();
  key->provider = static_cast<ProviderContext*>(provctx);
  key->type = kType;
  return key;
}

void KeymgmtFree(void* keydata) { delete static_cast<ProviderKey*>(keydata); }

void* KeymgmtDup(const void* keydata, int selection) {
  const auto* key = static_cast<const ProviderKey*>(keydata);
  auto* copy = new ProviderKey();
  copy->provider = key->provider;
  copy->type = key->type;
  if (selection & kPrivateSelection) copy->token_key = key->token_key;
  copy->public_key = ShareKey(key->public_key.get());
  copy->has_public_point = key->has_public_point;
  return copy;
}

int KeymgmtHas(const void* keydata, int selection) {
  const auto* key = static_cast<const ProviderKey*>(keydata);
  if (key == nullptr) return 0;
  if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) && !key->has_public_point) return 0;
  if ((selection & OSSL_KEYMGMT_SELECT_ALL_PARAMETERS) && key->public_key == nullptr) return 0;
  if ((selection & kPrivateSelection) && key->token_key == nullptr) return 0;
  return 1;
}

int KeymgmtMatch(const void* keydata1, const void* keydata2, int selection) {
  const auto* a = static_cast<const ProviderKey*>(keydata1);
  const auto* b = static_cast<const ProviderKey*>(keydata2);
  if (a->type != b->type || !a->has_public_point || !b->has_public_point) return 0;
  // A token key is identified by its public key; comparing "private parts"
  // means comparing the keys they belong to.
  (void)selection;
  return EVP_PKEY_eq(a->public_key.get(), b->public_key.get()) == 1 ? 1 : 0;
}

int KeymgmtImport(void* keydata, int selection, const OSSL_PARAM params[]) {
  auto* key = static_cast<ProviderKey*>(keydata);
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, kKeyReferenceParam)) {
    const char* reference = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &reference)) {
      RaiseError(key->provider, kReasonBadArgument, "a token key reference must be a string");
      return 0;
    }
    std::shared_ptr<KeyResolver> resolver = key->provider->resolver.lock();
    if (resolver == nullptr) {
      RaiseError(key->provider, kReasonKeyNotFound, "no key resolver: the application released it");
      return 0;
    }
    absl::StatusOr<std::shared_ptr<TokenKey>> token_key = resolver->Resolve(reference);
    if (!token_key.ok()) {
      RaiseError(key->provider, kReasonKeyNotFound, token_key.status());
      return 0;
    }
    if ((*token_key)->type() != key->type) {
      RaiseError(key->provider, kReasonBadArgument,
                 absl::StrCat("key ", (*token_key)->Describe(), " is ",
                              KeyTypeName((*token_key)->type()), ", not ", KeyTypeName(key->type))
                     .c_str());
      return 0;
    }
    key->token_key = *token_key;
    key->public_key = ShareKey((*token_key)->public_key());
    key->has_public_point = true;
    return 1;
  }
  // Private key material never enters the provider: a software key that
  // OpenSSL offers us stays with the provider that holds it.
  if (selection & kPrivateSelection) return 0;
  const bool with_public = (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0;
  EvpPkeyCtxPtr ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, SoftwareName(key->type), "provider=default"));
  EVP_PKEY* imported = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &imported,
                        with_public ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEY_PARAMETERS,
                        const_cast<OSSL_PARAM*>(params)) != 1) {
    return 0;
  }
  key->public_key.reset(imported);
  key->has_public_point = with_public;
  return 1;
}

// Takes a key the store found (see KeyReference). The store's copy stays
// with the store; this one belongs to the EVP_PKEY OpenSSL makes.
template <KeyType kType>
void* KeymgmtLoad(const void* reference, size_t reference_size) {
  KeyReference ref;
  if (reference == nullptr || reference_size != sizeof(ref)) return nullptr;
  std::memcpy(&ref, reference, sizeof(ref));
  if (ref.tag != KeyReference::kTag || ref.key == nullptr || ref.key->type != kType ||
      ref.key->token_key == nullptr) {
    return nullptr;
  }
  return KeymgmtDup(ref.key, OSSL_KEYMGMT_SELECT_ALL);
}

template <KeyType kType>
const OSSL_PARAM* KeymgmtImportTypes(int selection) {
  static const OSSL_PARAM kRsa[] = {OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0),
                                    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0),
                                    OSSL_PARAM_utf8_string(kKeyReferenceParam, nullptr, 0),
                                    OSSL_PARAM_END};
  static const OSSL_PARAM kEc[] = {OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
                                   OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
                                   OSSL_PARAM_utf8_string(kKeyReferenceParam, nullptr, 0),
                                   OSSL_PARAM_END};
  if (selection & kPrivateSelection) return nullptr;
  return kType == KeyType::kRsa ? kRsa : kEc;
}

int KeymgmtExport(void* keydata, int selection, OSSL_CALLBACK* callback, void* callback_arg) {
  const auto* key = static_cast<const ProviderKey*>(keydata);
  // The private key is on the token and stays there.
  if ((selection & kPrivateSelection) || key->public_key == nullptr) return 0;
  // Only what was asked for: an ECDH peer is built from our domain
  // parameters, and must not come back with our public point in it.
  const bool with_public = (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0;
  if (with_public && !key->has_public_point) return 0;
  OSSL_PARAM* params = nullptr;
  if (EVP_PKEY_todata(key->public_key.get(),
                      with_public ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEY_PARAMETERS, &params) != 1) {
    return 0;
  }
  int result = callback(params, callback_arg);
  OSSL_PARAM_free(params);
  return result;
}

template <KeyType kType>
const OSSL_PARAM* KeymgmtExportTypes(int selection) {
  return KeymgmtImportTypes<kType>(selection);
}

int KeymgmtGetParams(void* keydata, OSSL_PARAM params[]) {
  const auto* key = static_cast<const ProviderKey*>(keydata);
  if (key->public_key == nullptr) return 0;
  // Every parameter OpenSSL may ask of a key here is public: the software
  // copy answers. A private parameter is simply not there to be filled.
  for (OSSL_PARAM* p = params; p->key != nullptr; ++p) {
    OSSL_PARAM one[] = {*p, OSSL_PARAM_END};
    if (EVP_PKEY_get_params(key->public_key.get(), one) == 1) *p = one[0];
  }
  return 1;
}

template <KeyType kType>
const OSSL_PARAM* KeymgmtGettableParams(void* provctx) {
  (void)provctx;
  static const OSSL_PARAM kRsa[] = {
      OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0),
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0),
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0),
      OSSL_PARAM_END};
  static const OSSL_PARAM kEc[] = {
      OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
      OSSL_PARAM_END};
  return kType == KeyType::kRsa ? kRsa : kEc;
}

// Only for public keys OpenSSL builds in steps (an ECDH peer: parameters,
// then the encoded point); a token key's public key is what the token says.
int KeymgmtSetParams(void* keydata, const OSSL_PARAM params[]) {
  auto* key = static_cast<ProviderKey*>(keydata);
  if (key->token_key != nullptr || key->public_key == nullptr) return 0;
  const OSSL_PARAM* point = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
  if (point == nullptr) return 1;
  const void* data = nullptr;
  size_t size = 0;
  if (!OSSL_PARAM_get_octet_string_ptr(point, &data, &size)) return 0;
  // A fresh key: the software one may be shared with other EVP_PKEYs.
  EvpPkeyPtr updated(EVP_PKEY_dup(key->public_key.get()));
  if (!updated || EVP_PKEY_set1_encoded_public_key(
                      updated.get(), static_cast<const unsigned char*>(data), size) != 1) {
    return 0;
  }
  key->public_key = std::move(updated);
  key->has_public_point = true;
  return 1;
}

template <KeyType kType>
const OSSL_PARAM* KeymgmtSettableParams(void* provctx) {
  (void)provctx;
  static const OSSL_PARAM kEc[] = {
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0), OSSL_PARAM_END};
  static const OSSL_PARAM kRsa[] = {OSSL_PARAM_END};
  return kType == KeyType::kEc ? kEc : kRsa;
}

template <KeyType kType>
const char* KeymgmtQueryOperationName(int operation_id) {
  if (kType == KeyType::kRsa) return "RSA";
  switch (operation_id) {
    case OSSL_OP_SIGNATURE:
      return "ECDSA";
    case OSSL_OP_KEYEXCH:
      return "ECDH";
    default:
      return "EC";
  }
}

template <KeyType kType>
const auto& Table() {
  static const auto table = DispatchTable(
      Dispatch<OSSL_FUNC_keymgmt_new_fn>(OSSL_FUNC_KEYMGMT_NEW, &KeymgmtNew<kType>),
      Dispatch<OSSL_FUNC_keymgmt_free_fn>(OSSL_FUNC_KEYMGMT_FREE, &KeymgmtFree),
      Dispatch<OSSL_FUNC_keymgmt_dup_fn>(OSSL_FUNC_KEYMGMT_DUP, &KeymgmtDup),
      Dispatch<OSSL_FUNC_keymgmt_has_fn>(OSSL_FUNC_KEYMGMT_HAS, &KeymgmtHas),
      Dispatch<OSSL_FUNC_keymgmt_match_fn>(OSSL_FUNC_KEYMGMT_MATCH, &KeymgmtMatch),
      Dispatch<OSSL_FUNC_keymgmt_load_fn>(OSSL_FUNC_KEYMGMT_LOAD, &KeymgmtLoad<kType>),
      Dispatch<OSSL_FUNC_keymgmt_import_fn>(OSSL_FUNC_KEYMGMT_IMPORT, &KeymgmtImport),
      Dispatch<OSSL_FUNC_keymgmt_import_types_fn>(OSSL_FUNC_KEYMGMT_IMPORT_TYPES,
                                                  &KeymgmtImportTypes<kType>),
      Dispatch<OSSL_FUNC_keymgmt_export_fn>(OSSL_FUNC_KEYMGMT_EXPORT, &KeymgmtExport),
      Dispatch<OSSL_FUNC_keymgmt_export_types_fn>(OSSL_FUNC_KEYMGMT_EXPORT_TYPES,
                                                  &KeymgmtExportTypes<kType>),
      Dispatch<OSSL_FUNC_keymgmt_get_params_fn>(OSSL_FUNC_KEYMGMT_GET_PARAMS, &KeymgmtGetParams),
      Dispatch<OSSL_FUNC_keymgmt_gettable_params_fn>(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS,
                                                     &KeymgmtGettableParams<kType>),
      Dispatch<OSSL_FUNC_keymgmt_set_params_fn>(OSSL_FUNC_KEYMGMT_SET_PARAMS, &KeymgmtSetParams),
      Dispatch<OSSL_FUNC_keymgmt_settable_params_fn>(OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS,
                                                     &KeymgmtSettableParams<kType>),
      Dispatch<OSSL_FUNC_keymgmt_query_operation_name_fn>(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME,
                                                          &KeymgmtQueryOperationName<kType>));
  return table;
}

}  // namespace

const OSSL_DISPATCH* RsaKeymgmtDispatch() { return Table<KeyType::kRsa>().data(); }
const OSSL_DISPATCH* EcKeymgmtDispatch() { return Table<KeyType::kEc>().data(); }

}  // namespace signet::provider
