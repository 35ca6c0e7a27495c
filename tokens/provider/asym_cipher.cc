#include "tokens/provider/asym_cipher.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tokens/keys/oaep.h"
#include "tokens/provider/dispatch.h"
#include "tokens/provider/provider_context.h"
#include "tokens/provider/provider_key.h"

namespace signet::provider {
namespace {

struct CipherContext {
  ProviderContext* provider = nullptr;
  ProviderKey* key = nullptr;
  bool decrypting = false;
  int pad_mode = RSA_PKCS1_PADDING;
  EvpMdPtr oaep_md;  // default SHA-1, as in OpenSSL
  EvpMdPtr mgf1_md;  // default: the OAEP digest
  bool has_label = false;
  // Kept for encryption (done in software, where a label is fine); a token
  // key never decrypts with one.
  std::string label;
};

void* CipherNewCtx(void* provctx) {
  auto* ctx = new CipherContext();
  ctx->provider = static_cast<ProviderContext*>(provctx);
  return ctx;
}

void CipherFreeCtx(void* vctx) { delete static_cast<CipherContext*>(vctx); }

void* CipherDupCtx(void* vctx) {
  const auto* ctx = static_cast<const CipherContext*>(vctx);
  auto* copy = new CipherContext();
  copy->provider = ctx->provider;
  copy->key = ctx->key;
  copy->decrypting = ctx->decrypting;
  copy->pad_mode = ctx->pad_mode;
  copy->oaep_md = ShareMd(ctx->oaep_md.get());
  copy->mgf1_md = ShareMd(ctx->mgf1_md.get());
  copy->has_label = ctx->has_label;
  copy->label = ctx->label;
  return copy;
}

int CipherSetCtxParams(void* vctx, const OSSL_PARAM params[]);

int Init(CipherContext* ctx, void* provkey, const OSSL_PARAM params[], bool decrypting) {
  auto* key = static_cast<ProviderKey*>(provkey);
  if (key == nullptr || key->type != KeyType::kRsa || !key->has_public_point) {
    RaiseError(ctx->provider, kReasonBadArgument, "RSA encryption needs an RSA key");
    return 0;
  }
  if (decrypting && key->token_key == nullptr) {
    RaiseError(ctx->provider, kReasonNoPrivateKeyMaterial,
               "this key is a public key only; it cannot decrypt");
    return 0;
  }
  ctx->key = key;
  ctx->decrypting = decrypting;
  return CipherSetCtxParams(ctx, params);
}

int CipherDecryptInit(void* vctx, void* provkey, const OSSL_PARAM params[]) {
  return Init(static_cast<CipherContext*>(vctx), provkey, params, /*decrypting=*/true);
}

int CipherEncryptInit(void* vctx, void* provkey, const OSSL_PARAM params[]) {
  return Init(static_cast<CipherContext*>(vctx), provkey, params, /*decrypting=*/false);
}

// The token scheme for the context's padding, or nothing if the token layer
// has none for it.
std::optional<DecryptionScheme> SchemeOf(const CipherContext* ctx) {
  if (ctx->pad_mode == RSA_PKCS1_PADDING) return DecryptionScheme::kRsaPkcs1;
  if (ctx->pad_mode != RSA_PKCS1_OAEP_PADDING || ctx->has_label) return std::nullopt;
  // OpenSSL's defaults: SHA-1, and MGF1 over the OAEP digest.
  const int md = ctx->oaep_md ? EVP_MD_get_type(ctx->oaep_md.get()) : NID_sha1;
  const int mgf1 = ctx->mgf1_md ? EVP_MD_get_type(ctx->mgf1_md.get()) : md;
  return OaepScheme(md, mgf1);
}

// The context's padding as a sender would name it, for an error.
std::string PaddingName(const CipherContext* ctx) {
  if (ctx->pad_mode != RSA_PKCS1_OAEP_PADDING) return "this padding";
  const char* md = ctx->oaep_md ? EVP_MD_get0_name(ctx->oaep_md.get()) : "SHA1";
  const char* mgf1 = ctx->mgf1_md ? EVP_MD_get0_name(ctx->mgf1_md.get()) : md;
  return absl::StrCat("OAEP with ", md, ", MGF1 with ", mgf1, ctx->has_label ? " and a label" : "");
}

int CipherDecrypt(void* vctx, unsigned char* out, size_t* outlen, size_t outsize,
                  const unsigned char* in, size_t inlen) {
  auto* ctx = static_cast<CipherContext*>(vctx);
  if (!ctx->decrypting) return 0;
  const size_t modulus_bytes = static_cast<size_t>(EVP_PKEY_get_size(ctx->key->public_key.get()));
  if (out == nullptr) {
    *outlen = modulus_bytes;
    return 1;
  }
  std::optional<DecryptionScheme> scheme = SchemeOf(ctx);
  if (!scheme) {
    const std::string message =
        absl::StrCat(PaddingName(ctx),
                     ": token keys decrypt PKCS#1 v1.5, or OAEP with SHA-1, SHA-256, SHA-384 or "
                     "SHA-512, MGF1 with the same hash and no label");
    RaiseError(ctx->provider, kReasonUnsupported, message.c_str());
    return 0;
  }
  absl::StatusOr<SecretBytes> plaintext = ctx->key->token_key->Decrypt(
      *scheme, absl::string_view(reinterpret_cast<const char*>(in), inlen),
      absl::Now() + ctx->provider->operation_timeout);
  if (!plaintext.ok()) {
    RaiseError(ctx->provider, kReasonTokenOperation, plaintext.status());
    return 0;
  }
  if (plaintext->size() > outsize) {
    RaiseError(ctx->provider, kReasonBadArgument, "the output buffer is too small");
    return 0;
  }
  std::memcpy(out, plaintext->data(), plaintext->size());
  *outlen = plaintext->size();
  return 1;
}

// Encryption is a public-key operation: the default provider does it.
int CipherEncrypt(void* vctx, unsigned char* out, size_t* outlen, size_t outsize,
                  const unsigned char* in, size_t inlen) {
  auto* ctx = static_cast<CipherContext*>(vctx);
  if (ctx->decrypting) return 0;
  EvpPkeyCtxPtr software(
      EVP_PKEY_CTX_new_from_pkey(nullptr, ctx->key->public_key.get(), "provider=default"));
  if (!software || EVP_PKEY_encrypt_init(software.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(software.get(), ctx->pad_mode) != 1) {
    return 0;
  }
  if (ctx->pad_mode == RSA_PKCS1_OAEP_PADDING) {
    if ((ctx->oaep_md && EVP_PKEY_CTX_set_rsa_oaep_md(software.get(), ctx->oaep_md.get()) != 1) ||
        (ctx->mgf1_md && EVP_PKEY_CTX_set_rsa_mgf1_md(software.get(), ctx->mgf1_md.get()) != 1)) {
      return 0;
    }
    if (ctx->has_label) {
      void* label = OPENSSL_memdup(ctx->label.data(), ctx->label.size());
      if (label == nullptr ||
          EVP_PKEY_CTX_set0_rsa_oaep_label(software.get(), label,
                                           static_cast<int>(ctx->label.size())) != 1) {
        OPENSSL_free(label);
        return 0;
      }
    }
  }
  *outlen = outsize;
  return EVP_PKEY_encrypt(software.get(), out, outlen, in, inlen) == 1 ? 1 : 0;
}

int CipherGetCtxParams(void* vctx, OSSL_PARAM params[]) {
  auto* ctx = static_cast<CipherContext*>(vctx);
  if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) {
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
      const char* name = ctx->pad_mode == RSA_PKCS1_OAEP_PADDING ? OSSL_PKEY_RSA_PAD_MODE_OAEP
                                                                 : OSSL_PKEY_RSA_PAD_MODE_PKCSV15;
      if (OSSL_PARAM_set_utf8_string(p, name) != 1) return 0;
    } else if (OSSL_PARAM_set_int(p, ctx->pad_mode) != 1) {
      return 0;
    }
  }
  if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST)) {
    const char* name = ctx->oaep_md ? EVP_MD_get0_name(ctx->oaep_md.get()) : "SHA1";
    if (OSSL_PARAM_set_utf8_string(p, name) != 1) return 0;
  }
  if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST)) {
    const EvpMdPtr& mgf1 = ctx->mgf1_md ? ctx->mgf1_md : ctx->oaep_md;
    if (OSSL_PARAM_set_utf8_string(p, mgf1 ? EVP_MD_get0_name(mgf1.get()) : "SHA1") != 1) {
      return 0;
    }
  }
  return 1;
}

bool FetchDigest(const OSSL_PARAM* p, EvpMdPtr* md) {
  const char* name = nullptr;
  if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) return false;
  md->reset(EVP_MD_fetch(nullptr, name, nullptr));
  return *md != nullptr;
}

int CipherSetCtxParams(void* vctx, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<CipherContext*>(vctx);
  if (params == nullptr) return 1;
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) {
    int pad_mode = 0;
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
      const char* name = nullptr;
      if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) return 0;
      if (std::strcmp(name, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0) pad_mode = RSA_PKCS1_PADDING;
      if (std::strcmp(name, OSSL_PKEY_RSA_PAD_MODE_OAEP) == 0) pad_mode = RSA_PKCS1_OAEP_PADDING;
    } else if (!OSSL_PARAM_get_int(p, &pad_mode)) {
      return 0;
    }
    if (pad_mode != RSA_PKCS1_PADDING && pad_mode != RSA_PKCS1_OAEP_PADDING) {
      RaiseError(ctx->provider, kReasonUnsupported,
                 "token keys decrypt with PKCS#1 v1.5 or OAEP padding only");
      return 0;
    }
    ctx->pad_mode = pad_mode;
  }
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST)) {
    if (!FetchDigest(p, &ctx->oaep_md)) return 0;
  }
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST)) {
    if (!FetchDigest(p, &ctx->mgf1_md)) return 0;
  }
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL)) {
    ctx->has_label = p->data_size > 0;
    ctx->label.assign(static_cast<const char*>(p->data), p->data != nullptr ? p->data_size : 0);
  }
  return 1;
}

const OSSL_PARAM* CipherGettableCtxParams(void* vctx, void* provctx) {
  (void)vctx;
  (void)provctx;
  static const OSSL_PARAM kParams[] = {
      OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, nullptr, 0), OSSL_PARAM_END};
  return kParams;
}

const OSSL_PARAM* CipherSettableCtxParams(void* vctx, void* provctx) {
  (void)vctx;
  (void)provctx;
  static const OSSL_PARAM kParams[] = {
      OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST_PROPS, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST_PROPS, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, nullptr, 0),
      OSSL_PARAM_END};
  return kParams;
}

}  // namespace

const OSSL_DISPATCH* RsaAsymCipherDispatch() {
  static const auto table = DispatchTable(
      Dispatch<OSSL_FUNC_asym_cipher_newctx_fn>(OSSL_FUNC_ASYM_CIPHER_NEWCTX, &CipherNewCtx),
      Dispatch<OSSL_FUNC_asym_cipher_freectx_fn>(OSSL_FUNC_ASYM_CIPHER_FREECTX, &CipherFreeCtx),
      Dispatch<OSSL_FUNC_asym_cipher_dupctx_fn>(OSSL_FUNC_ASYM_CIPHER_DUPCTX, &CipherDupCtx),
      Dispatch<OSSL_FUNC_asym_cipher_decrypt_init_fn>(OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT,
                                                      &CipherDecryptInit),
      Dispatch<OSSL_FUNC_asym_cipher_decrypt_fn>(OSSL_FUNC_ASYM_CIPHER_DECRYPT, &CipherDecrypt),
      Dispatch<OSSL_FUNC_asym_cipher_encrypt_init_fn>(OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT,
                                                      &CipherEncryptInit),
      Dispatch<OSSL_FUNC_asym_cipher_encrypt_fn>(OSSL_FUNC_ASYM_CIPHER_ENCRYPT, &CipherEncrypt),
      Dispatch<OSSL_FUNC_asym_cipher_get_ctx_params_fn>(OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS,
                                                        &CipherGetCtxParams),
      Dispatch<OSSL_FUNC_asym_cipher_gettable_ctx_params_fn>(
          OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS, &CipherGettableCtxParams),
      Dispatch<OSSL_FUNC_asym_cipher_set_ctx_params_fn>(OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS,
                                                        &CipherSetCtxParams),
      Dispatch<OSSL_FUNC_asym_cipher_settable_ctx_params_fn>(
          OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, &CipherSettableCtxParams));
  return table.data();
}

}  // namespace signet::provider
