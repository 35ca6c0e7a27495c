#include "tokens/provider/store.h"

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/der.h"
#include "tokens/pkcs11_uri.h"
#include "tokens/provider/dispatch.h"
#include "tokens/provider/keymgmt.h"
#include "tokens/provider/provider_context.h"
#include "tokens/provider/provider_key.h"

namespace signet::provider {
namespace {

struct StoreContext {
  ProviderContext* provider = nullptr;
  // Canonical: it can hold no PIN, so it may appear in messages.
  std::string uri;
  // From the URI's type attribute, or empty.
  std::string type;
  int expected = 0;  // OSSL_STORE_INFO_*, 0 for anything
  bool eof = false;
  // The key behind the reference handed to OpenSSL; the keymgmt copies it,
  // so it lives exactly as long as the store and never leaks.
  std::unique_ptr<ProviderKey> key;
};

void* StoreOpen(void* provctx, const char* uri) {
  auto* provider = static_cast<ProviderContext*>(provctx);
  // Other schemes are other loaders' business: no error for them.
  if (uri == nullptr || !absl::StartsWithIgnoreCase(uri, "pkcs11:")) return nullptr;
  absl::StatusOr<Pkcs11Uri> parsed = ParsePkcs11Uri(uri);
  if (!parsed.ok()) {
    RaiseError(provider, kReasonBadArgument, parsed.status());
    return nullptr;
  }
  auto ctx = std::make_unique<StoreContext>();
  ctx->provider = provider;
  ctx->uri = FormatPkcs11Uri(*parsed);
  ctx->type = parsed->type.value_or("");
  return ctx.release();
}

const OSSL_PARAM* StoreSettableCtxParams(void* provctx) {
  (void)provctx;
  static const OSSL_PARAM kParams[] = {OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, nullptr),
                                       OSSL_PARAM_END};
  return kParams;
}

// Searches by subject, serial, fingerprint or alias mean nothing for a URI
// that names one object: they are accepted and ignored.
int StoreSetCtxParams(void* loaderctx, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<StoreContext*>(loaderctx);
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);
  if (p != nullptr && !OSSL_PARAM_get_int(p, &ctx->expected)) return 0;
  return 1;
}

const char* DataType(KeyType type) { return type == KeyType::kRsa ? "RSA" : "EC"; }

int LoadCertificate(StoreContext* ctx, const TokenKey& key, OSSL_CALLBACK* object_cb,
                    void* object_cbarg) {
  X509Ptr certificate = key.certificate();
  if (certificate == nullptr) {
    RaiseError(ctx->provider, kReasonKeyNotFound,
               absl::StrCat("no certificate is stored beside key ", key.Describe()).c_str());
    return 0;
  }
  std::string der = DerOf<X509, i2d_X509>(certificate.get());
  if (der.empty()) {
    RaiseError(ctx->provider, kReasonTokenOperation, "cannot encode the token's certificate");
    return 0;
  }
  int object_type = OSSL_OBJECT_CERT;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &object_type),
      OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der.data(), der.size()),
      OSSL_PARAM_END};
  return object_cb(params, object_cbarg);
}

int LoadPublicKey(StoreContext* ctx, const TokenKey& key, OSSL_CALLBACK* object_cb,
                  void* object_cbarg) {
  std::string der = DerOf<EVP_PKEY, i2d_PUBKEY>(key.public_key());
  if (der.empty()) {
    RaiseError(ctx->provider, kReasonTokenOperation, "cannot encode the token key's public key");
    return 0;
  }
  int object_type = OSSL_OBJECT_PKEY;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &object_type),
      OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
                                       const_cast<char*>(DataType(key.type())), 0),
      OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE,
                                       const_cast<char*>("SubjectPublicKeyInfo"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der.data(), der.size()),
      OSSL_PARAM_END};
  return object_cb(params, object_cbarg);
}

int LoadPrivateKey(StoreContext* ctx, std::shared_ptr<TokenKey> key, OSSL_CALLBACK* object_cb,
                   void* object_cbarg) {
  ctx->key = std::make_unique<ProviderKey>();
  ctx->key->provider = ctx->provider;
  ctx->key->type = key->type();
  ctx->key->public_key = ShareKey(key->public_key());
  ctx->key->has_public_point = true;
  ctx->key->token_key = std::move(key);
  KeyReference reference;
  reference.key = ctx->key.get();
  int object_type = OSSL_OBJECT_PKEY;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &object_type),
      OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
                                       const_cast<char*>(DataType(ctx->key->type)), 0),
      OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &reference, sizeof(reference)),
      OSSL_PARAM_END};
  return object_cb(params, object_cbarg);
}

// PINs come from the configured or the URI's pin-source (docs/architecture.md,
// decision D10), never from a prompt: pw_cb is not used.
int StoreLoad(void* loaderctx, OSSL_CALLBACK* object_cb, void* object_cbarg,
              OSSL_PASSPHRASE_CALLBACK* pw_cb, void* pw_cbarg) {
  (void)pw_cb;
  (void)pw_cbarg;
  auto* ctx = static_cast<StoreContext*>(loaderctx);
  if (ctx->eof) return 0;
  ctx->eof = true;  // one object per URI, whatever happens next
  std::shared_ptr<KeyResolver> resolver = ctx->provider->resolver.lock();
  if (resolver == nullptr) {
    RaiseError(ctx->provider, kReasonKeyNotFound, "no key resolver: the application released it");
    return 0;
  }
  absl::StatusOr<std::shared_ptr<TokenKey>> key = resolver->Resolve(ctx->uri);
  if (!key.ok()) {
    RaiseError(ctx->provider,
               key.status().code() == absl::StatusCode::kNotFound ? kReasonKeyNotFound
                                                                  : kReasonTokenOperation,
               key.status());
    return 0;
  }
  if (ctx->type == "cert" || (ctx->type.empty() && ctx->expected == OSSL_STORE_INFO_CERT)) {
    return LoadCertificate(ctx, **key, object_cb, object_cbarg);
  }
  if (ctx->type == "public" || (ctx->type.empty() && ctx->expected == OSSL_STORE_INFO_PUBKEY)) {
    return LoadPublicKey(ctx, **key, object_cb, object_cbarg);
  }
  return LoadPrivateKey(ctx, *std::move(key), object_cb, object_cbarg);
}

int StoreEof(void* loaderctx) { return static_cast<StoreContext*>(loaderctx)->eof ? 1 : 0; }

int StoreClose(void* loaderctx) {
  delete static_cast<StoreContext*>(loaderctx);
  return 1;
}

}  // namespace

const OSSL_DISPATCH* StoreDispatch() {
  static const auto table =
      DispatchTable(Dispatch<OSSL_FUNC_store_open_fn>(OSSL_FUNC_STORE_OPEN, &StoreOpen),
                    Dispatch<OSSL_FUNC_store_settable_ctx_params_fn>(
                        OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, &StoreSettableCtxParams),
                    Dispatch<OSSL_FUNC_store_set_ctx_params_fn>(OSSL_FUNC_STORE_SET_CTX_PARAMS,
                                                                &StoreSetCtxParams),
                    Dispatch<OSSL_FUNC_store_load_fn>(OSSL_FUNC_STORE_LOAD, &StoreLoad),
                    Dispatch<OSSL_FUNC_store_eof_fn>(OSSL_FUNC_STORE_EOF, &StoreEof),
                    Dispatch<OSSL_FUNC_store_close_fn>(OSSL_FUNC_STORE_CLOSE, &StoreClose));
  return table.data();
}

}  // namespace signet::provider
