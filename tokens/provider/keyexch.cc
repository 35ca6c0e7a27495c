#include "tokens/provider/keyexch.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstring>
#include <string>

#include "absl/time/clock.h"
#include "tokens/keys/public_key.h"
#include "tokens/provider/dispatch.h"
#include "tokens/provider/provider_context.h"
#include "tokens/provider/provider_key.h"

namespace signet::provider {
namespace {

struct ExchangeContext {
  ProviderContext* provider = nullptr;
  ProviderKey* key = nullptr;
  ProviderKey* peer = nullptr;
  bool x963_kdf = false;
  EvpMdPtr kdf_md;
  size_t kdf_outlen = 0;
  std::string ukm;
};

void* ExchangeNewCtx(void* provctx) {
  auto* ctx = new ExchangeContext();
  ctx->provider = static_cast<ProviderContext*>(provctx);
  return ctx;
}

void ExchangeFreeCtx(void* vctx) {
  auto* ctx = static_cast<ExchangeContext*>(vctx);
  OPENSSL_cleanse(ctx->ukm.data(), ctx->ukm.size());
  delete ctx;
}

void* ExchangeDupCtx(void* vctx) {
  const auto* ctx = static_cast<const ExchangeContext*>(vctx);
  auto* copy = new ExchangeContext();
  copy->provider = ctx->provider;
  copy->key = ctx->key;
  copy->peer = ctx->peer;
  copy->x963_kdf = ctx->x963_kdf;
  copy->kdf_md = ShareMd(ctx->kdf_md.get());
  copy->kdf_outlen = ctx->kdf_outlen;
  copy->ukm = ctx->ukm;
  return copy;
}

int ExchangeSetCtxParams(void* vctx, const OSSL_PARAM params[]);

int ExchangeInit(void* vctx, void* provkey, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<ExchangeContext*>(vctx);
  auto* key = static_cast<ProviderKey*>(provkey);
  if (key == nullptr || key->type != KeyType::kEc || key->token_key == nullptr) {
    RaiseError(ctx->provider, kReasonNoPrivateKeyMaterial, "ECDH needs an EC key on a token");
    return 0;
  }
  ctx->key = key;
  return ExchangeSetCtxParams(ctx, params);
}

int ExchangeSetPeer(void* vctx, void* provkey) {
  auto* ctx = static_cast<ExchangeContext*>(vctx);
  auto* peer = static_cast<ProviderKey*>(provkey);
  if (peer == nullptr || peer->type != KeyType::kEc || !peer->has_public_point) {
    RaiseError(ctx->provider, kReasonBadArgument, "the ECDH peer must be an EC public key");
    return 0;
  }
  ctx->peer = peer;
  return 1;
}

int ExchangeDerive(void* vctx, unsigned char* secret, size_t* secretlen, size_t outlen) {
  auto* ctx = static_cast<ExchangeContext*>(vctx);
  if (ctx->key == nullptr || ctx->peer == nullptr) return 0;
  const size_t size = ctx->x963_kdf ? ctx->kdf_outlen
                                    : static_cast<size_t>(EcFieldBytes(ctx->key->public_key.get()));
  if (secret == nullptr) {
    *secretlen = size;
    return 1;
  }
  if (outlen < size || size == 0) return 0;
  absl::StatusOr<std::string> point = EcPublicPoint(ctx->peer->public_key.get());
  if (!point.ok()) return 0;
  absl::StatusOr<SecretBytes> shared =
      ctx->key->token_key->DeriveEcdh(*point, absl::Now() + ctx->provider->operation_timeout);
  if (!shared.ok()) {
    RaiseError(ctx->provider, kReasonTokenOperation, shared.status());
    return 0;
  }
  if (!ctx->x963_kdf) {
    std::memcpy(secret, shared->data(), size);
    *secretlen = size;
    return 1;
  }
  OsslPtr<EVP_KDF, EVP_KDF_free> kdf(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_X963KDF, nullptr));
  OsslPtr<EVP_KDF_CTX, EVP_KDF_CTX_free> kdf_ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (!kdf_ctx || !ctx->kdf_md) return 0;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                       const_cast<char*>(EVP_MD_get0_name(ctx->kdf_md.get())), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, shared->data(), shared->size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, ctx->ukm.data(), ctx->ukm.size()),
      OSSL_PARAM_END};
  if (EVP_KDF_derive(kdf_ctx.get(), secret, size, params) != 1) return 0;
  *secretlen = size;
  return 1;
}

int ExchangeGetCtxParams(void* vctx, OSSL_PARAM params[]) {
  auto* ctx = static_cast<ExchangeContext*>(vctx);
  if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_TYPE)) {
    if (OSSL_PARAM_set_utf8_string(p, ctx->x963_kdf ? OSSL_KDF_NAME_X963KDF : "") != 1) return 0;
  }
  if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_DIGEST)) {
    if (OSSL_PARAM_set_utf8_string(p, ctx->kdf_md ? EVP_MD_get0_name(ctx->kdf_md.get()) : "") !=
        1) {
      return 0;
    }
  }
  if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_OUTLEN)) {
    if (OSSL_PARAM_set_size_t(p, ctx->kdf_outlen) != 1) return 0;
  }
  if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE)) {
    // The NIST curves have cofactor 1: both modes give the same secret.
    if (OSSL_PARAM_set_int(p, 0) != 1) return 0;
  }
  return 1;
}

int ExchangeSetCtxParams(void* vctx, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<ExchangeContext*>(vctx);
  if (params == nullptr) return 1;
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_TYPE)) {
    const char* name = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) return 0;
    if (name[0] == '\0') {
      ctx->x963_kdf = false;
    } else if (std::strcmp(name, OSSL_KDF_NAME_X963KDF) == 0) {
      ctx->x963_kdf = true;
    } else {
      RaiseError(ctx->provider, kReasonUnsupported, "ECDH supports no KDF or the X9.63 KDF");
      return 0;
    }
  }
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_DIGEST)) {
    const char* name = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) return 0;
    ctx->kdf_md.reset(EVP_MD_fetch(nullptr, name, nullptr));
    if (!ctx->kdf_md) return 0;
  }
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_OUTLEN)) {
    if (!OSSL_PARAM_get_size_t(p, &ctx->kdf_outlen)) return 0;
  }
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_UKM)) {
    void* data = nullptr;
    size_t size = 0;
    if (!OSSL_PARAM_get_octet_string(p, &data, 0, &size)) return 0;
    ctx->ukm.assign(static_cast<const char*>(data), size);
    OPENSSL_free(data);
  }
  if (const OSSL_PARAM* p =
          OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE)) {
    int mode = 0;
    if (!OSSL_PARAM_get_int(p, &mode) || mode < -1 || mode > 1) return 0;
  }
  return 1;
}

const OSSL_PARAM* ExchangeGettableCtxParams(void* vctx, void* provctx) {
  (void)vctx;
  (void)provctx;
  static const OSSL_PARAM kParams[] = {
      OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, nullptr, 0),
      OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, nullptr),
      OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, nullptr), OSSL_PARAM_END};
  return kParams;
}

const OSSL_PARAM* ExchangeSettableCtxParams(void* vctx, void* provctx) {
  (void)vctx;
  (void)provctx;
  static const OSSL_PARAM kParams[] = {
      OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST_PROPS, nullptr, 0),
      OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, nullptr),
      OSSL_PARAM_octet_string(OSSL_EXCHANGE_PARAM_KDF_UKM, nullptr, 0),
      OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, nullptr),
      OSSL_PARAM_END};
  return kParams;
}

}  // namespace

const OSSL_DISPATCH* EcdhKeyExchangeDispatch() {
  static const auto table = DispatchTable(
      Dispatch<OSSL_FUNC_keyexch_newctx_fn>(OSSL_FUNC_KEYEXCH_NEWCTX, &ExchangeNewCtx),
      Dispatch<OSSL_FUNC_keyexch_freectx_fn>(OSSL_FUNC_KEYEXCH_FREECTX, &ExchangeFreeCtx),
      Dispatch<OSSL_FUNC_keyexch_dupctx_fn>(OSSL_FUNC_KEYEXCH_DUPCTX, &ExchangeDupCtx),
      Dispatch<OSSL_FUNC_keyexch_init_fn>(OSSL_FUNC_KEYEXCH_INIT, &ExchangeInit),
      Dispatch<OSSL_FUNC_keyexch_set_peer_fn>(OSSL_FUNC_KEYEXCH_SET_PEER, &ExchangeSetPeer),
      Dispatch<OSSL_FUNC_keyexch_derive_fn>(OSSL_FUNC_KEYEXCH_DERIVE, &ExchangeDerive),
      Dispatch<OSSL_FUNC_keyexch_get_ctx_params_fn>(OSSL_FUNC_KEYEXCH_GET_CTX_PARAMS,
                                                    &ExchangeGetCtxParams),
      Dispatch<OSSL_FUNC_keyexch_gettable_ctx_params_fn>(OSSL_FUNC_KEYEXCH_GETTABLE_CTX_PARAMS,
                                                         &ExchangeGettableCtxParams),
      Dispatch<OSSL_FUNC_keyexch_set_ctx_params_fn>(OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS,
                                                    &ExchangeSetCtxParams),
      Dispatch<OSSL_FUNC_keyexch_settable_ctx_params_fn>(OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS,
                                                         &ExchangeSettableCtxParams));
  return table.data();
}

}  // namespace signet::provider
