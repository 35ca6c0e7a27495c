#include "tokens/provider/signature.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/der.h"
#include "tokens/provider/dispatch.h"
#include "tokens/provider/provider_context.h"
#include "tokens/provider/provider_key.h"

namespace signet::provider {
namespace {

struct SignatureContext {
  ProviderContext* provider = nullptr;
  KeyType type = KeyType::kRsa;
  ProviderKey* key = nullptr;  // owned by the EVP_PKEY, which outlives us
  bool signing = false;
  int pad_mode = RSA_PKCS1_PADDING;
  // CMS (RFC 4056) and most verifiers expect a salt as long as the digest.
  int salt_length = RSA_PSS_SALTLEN_DIGEST;
  EvpMdPtr md;
  EvpMdPtr mgf1_md;
  EvpMdCtxPtr md_ctx;  // digest-sign and digest-verify only
};

std::optional<HashAlgorithm> HashOf(const EVP_MD* md) {
  if (md == nullptr) return std::nullopt;
  if (EVP_MD_is_a(md, "SHA2-256")) return HashAlgorithm::kSha256;
  if (EVP_MD_is_a(md, "SHA2-384")) return HashAlgorithm::kSha384;
  if (EVP_MD_is_a(md, "SHA2-512")) return HashAlgorithm::kSha512;
  return std::nullopt;
}

std::optional<HashAlgorithm> HashOfLength(size_t length) {
  for (HashAlgorithm hash :
       {HashAlgorithm::kSha256, HashAlgorithm::kSha384, HashAlgorithm::kSha512}) {
    if (DigestLength(hash) == length) return hash;
  }
  return std::nullopt;
}

bool SetDigest(SignatureContext* ctx, const char* name) {
  EvpMdPtr md(EVP_MD_fetch(nullptr, name, nullptr));
  if (!md || !HashOf(md.get())) {
    RaiseError(ctx->provider, kReasonUnsupported,
               absl::StrCat("digest ", name ? name : "(none)",
                            " is not supported; Signet signs SHA-256, SHA-384 or SHA-512")
                   .c_str());
    return false;
  }
  ctx->md = std::move(md);
  return true;
}

template <KeyType kType>
void* SignatureNewCtx(void* provctx, const char* propq) {
  (void)propq;
  auto* ctx = new SignatureContext();
  ctx->provider = static_cast<ProviderContext*>(provctx);
  ctx->type = kType;
  return ctx;
}

void SignatureFreeCtx(void* vctx) { delete static_cast<SignatureContext*>(vctx); }

void* SignatureDupCtx(void* vctx) {
  const auto* ctx = static_cast<const SignatureContext*>(vctx);
  auto* copy = new SignatureContext();
  copy->provider = ctx->provider;
  copy->type = ctx->type;
  copy->key = ctx->key;
  copy->signing = ctx->signing;
  copy->pad_mode = ctx->pad_mode;
  copy->salt_length = ctx->salt_length;
  copy->md = ShareMd(ctx->md.get());
  copy->mgf1_md = ShareMd(ctx->mgf1_md.get());
  if (ctx->md_ctx) {
    copy->md_ctx.reset(EVP_MD_CTX_new());
    if (!copy->md_ctx || EVP_MD_CTX_copy_ex(copy->md_ctx.get(), ctx->md_ctx.get()) != 1) {
      delete copy;
      return nullptr;
    }
  }
  return copy;
}

int SignatureSetCtxParams(void* vctx, const OSSL_PARAM params[]);

int Init(SignatureContext* ctx, void* provkey, const OSSL_PARAM params[], bool signing) {
  auto* key = static_cast<ProviderKey*>(provkey);
  if (key == nullptr || key->type != ctx->type || !key->has_public_point) {
    RaiseError(ctx->provider, kReasonBadArgument, "the key does not fit this signature");
    return 0;
  }
  if (signing && key->token_key == nullptr) {
    RaiseError(ctx->provider, kReasonNoPrivateKeyMaterial,
               "this key is a public key only; it cannot sign");
    return 0;
  }
  ctx->key = key;
  ctx->signing = signing;
  return SignatureSetCtxParams(ctx, params);
}

int SignatureSignInit(void* vctx, void* provkey, const OSSL_PARAM params[]) {
  return Init(static_cast<SignatureContext*>(vctx), provkey, params, /*signing=*/true);
}

int SignatureVerifyInit(void* vctx, void* provkey, const OSSL_PARAM params[]) {
  return Init(static_cast<SignatureContext*>(vctx), provkey, params, /*signing=*/false);
}

size_t MaxSignatureSize(const SignatureContext* ctx) {
  return static_cast<size_t>(EVP_PKEY_get_size(ctx->key->public_key.get()));
}

int SignDigest(SignatureContext* ctx, unsigned char* sig, size_t* siglen, size_t sigsize,
               const unsigned char* digest, size_t digest_length) {
  if (sig == nullptr) {
    *siglen = MaxSignatureSize(ctx);
    return 1;
  }
  std::optional<HashAlgorithm> hash = ctx->md ? HashOf(ctx->md.get()) : HashOfLength(digest_length);
  if (!hash || DigestLength(*hash) != digest_length) {
    RaiseError(ctx->provider, kReasonBadArgument,
               "the input is not a SHA-256, SHA-384 or SHA-512 digest");
    return 0;
  }
  if (ctx->mgf1_md && HashOf(ctx->mgf1_md.get()) != hash) {
    RaiseError(ctx->provider, kReasonUnsupported,
               "RSA-PSS with an MGF1 digest other than the message digest is not supported");
    return 0;
  }
  SignOptions options{.hash = *hash};
  if (ctx->type == KeyType::kEc) {
    options.scheme = SignatureScheme::kEcdsa;
  } else if (ctx->pad_mode == RSA_PKCS1_PADDING) {
    options.scheme = SignatureScheme::kRsaPkcs1;
  } else if (ctx->pad_mode == RSA_PKCS1_PSS_PADDING) {
    options.scheme = SignatureScheme::kRsaPss;
    const int max_salt =
        static_cast<int>(MaxSignatureSize(ctx)) - static_cast<int>(digest_length) - 2;
    switch (ctx->salt_length) {
      case RSA_PSS_SALTLEN_DIGEST:
        options.pss_salt_length = static_cast<int>(digest_length);
        break;
      case RSA_PSS_SALTLEN_MAX:
      case RSA_PSS_SALTLEN_AUTO:
        options.pss_salt_length = max_salt;
        break;
      default:
        options.pss_salt_length = ctx->salt_length;
    }
  } else {
    RaiseError(ctx->provider, kReasonUnsupported,
               "only PKCS#1 v1.5 and PSS padding sign with a token key");
    return 0;
  }
  absl::StatusOr<std::string> signature = ctx->key->token_key->Sign(
      options, absl::string_view(reinterpret_cast<const char*>(digest), digest_length),
      absl::Now() + ctx->provider->operation_timeout);
  if (!signature.ok()) {
    RaiseError(ctx->provider, kReasonTokenOperation, signature.status());
    return 0;
  }
  if (signature->size() > sigsize) {
    RaiseError(ctx->provider, kReasonBadArgument, "the signature buffer is too small");
    return 0;
  }
  std::memcpy(sig, signature->data(), signature->size());
  *siglen = signature->size();
  return 1;
}

int SignatureSign(void* vctx, unsigned char* sig, size_t* siglen, size_t sigsize,
                  const unsigned char* tbs, size_t tbslen) {
  auto* ctx = static_cast<SignatureContext*>(vctx);
  if (!ctx->signing) return 0;
  return SignDigest(ctx, sig, siglen, sigsize, tbs, tbslen);
}

// Verification needs no token: OpenSSL's default provider does it with the
// public key.
EvpPkeyCtxPtr SoftwareVerifier(const SignatureContext* ctx) {
  EvpPkeyCtxPtr verifier(
      EVP_PKEY_CTX_new_from_pkey(nullptr, ctx->key->public_key.get(), "provider=default"));
  if (!verifier || EVP_PKEY_verify_init(verifier.get()) != 1) return nullptr;
  if (ctx->md && EVP_PKEY_CTX_set_signature_md(verifier.get(), ctx->md.get()) != 1) return nullptr;
  if (ctx->type == KeyType::kRsa) {
    if (EVP_PKEY_CTX_set_rsa_padding(verifier.get(), ctx->pad_mode) != 1) return nullptr;
    if (ctx->pad_mode == RSA_PKCS1_PSS_PADDING) {
      if (EVP_PKEY_CTX_set_rsa_pss_saltlen(verifier.get(), ctx->salt_length) != 1) return nullptr;
      if (ctx->mgf1_md && EVP_PKEY_CTX_set_rsa_mgf1_md(verifier.get(), ctx->mgf1_md.get()) != 1) {
        return nullptr;
      }
    }
  }
  return verifier;
}

int VerifyDigest(SignatureContext* ctx, const unsigned char* sig, size_t siglen,
                 const unsigned char* digest, size_t digest_length) {
  EvpPkeyCtxPtr verifier = SoftwareVerifier(ctx);
  if (!verifier) return 0;
  return EVP_PKEY_verify(verifier.get(), sig, siglen, digest, digest_length) == 1 ? 1 : 0;
}

int SignatureVerify(void* vctx, const unsigned char* sig, size_t siglen, const unsigned char* tbs,
                    size_t tbslen) {
  auto* ctx = static_cast<SignatureContext*>(vctx);
  if (ctx->signing) return 0;
  return VerifyDigest(ctx, sig, siglen, tbs, tbslen);
}

int DigestInit(SignatureContext* ctx, const char* mdname, void* provkey, const OSSL_PARAM params[],
               bool signing) {
  if (!Init(ctx, provkey, params, signing)) return 0;
  if (!SetDigest(ctx, mdname != nullptr ? mdname : "SHA256")) return 0;
  ctx->md_ctx.reset(EVP_MD_CTX_new());
  return ctx->md_ctx && EVP_DigestInit_ex(ctx->md_ctx.get(), ctx->md.get(), nullptr) == 1 ? 1 : 0;
}

int SignatureDigestSignInit(void* vctx, const char* mdname, void* provkey,
                            const OSSL_PARAM params[]) {
  return DigestInit(static_cast<SignatureContext*>(vctx), mdname, provkey, params, true);
}

int SignatureDigestVerifyInit(void* vctx, const char* mdname, void* provkey,
                              const OSSL_PARAM params[]) {
  return DigestInit(static_cast<SignatureContext*>(vctx), mdname, provkey, params, false);
}

int SignatureDigestUpdate(void* vctx, const unsigned char* data, size_t datalen) {
  auto* ctx = static_cast<SignatureContext*>(vctx);
  return ctx->md_ctx && EVP_DigestUpdate(ctx->md_ctx.get(), data, datalen) == 1 ? 1 : 0;
}

int SignatureDigestSignFinal(void* vctx, unsigned char* sig, size_t* siglen, size_t sigsize) {
  auto* ctx = static_cast<SignatureContext*>(vctx);
  if (!ctx->signing || !ctx->md_ctx) return 0;
  // A size query must leave the running digest untouched.
  if (sig == nullptr) return SignDigest(ctx, nullptr, siglen, sigsize, nullptr, 0);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx->md_ctx.get(), digest, &length) != 1) return 0;
  return SignDigest(ctx, sig, siglen, sigsize, digest, length);
}

int SignatureDigestVerifyFinal(void* vctx, const unsigned char* sig, size_t siglen) {
  auto* ctx = static_cast<SignatureContext*>(vctx);
  if (ctx->signing || !ctx->md_ctx) return 0;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx->md_ctx.get(), digest, &length) != 1) return 0;
  return VerifyDigest(ctx, sig, siglen, digest, length);
}

// RSASSA-PSS-params (RFC 4055): the hash, MGF1 with its hash, the salt
// length; the trailer field keeps its default.
std::string RsaPssAlgorithmIdentifier(const SignatureContext* ctx) {
  const EVP_MD* mgf1_md = ctx->mgf1_md ? ctx->mgf1_md.get() : ctx->md.get();
  const int digest_length = EVP_MD_get_size(ctx->md.get());
  int salt = ctx->salt_length;
  if (salt == RSA_PSS_SALTLEN_DIGEST) salt = digest_length;
  if (salt == RSA_PSS_SALTLEN_MAX || salt == RSA_PSS_SALTLEN_AUTO) {
    salt = static_cast<int>(MaxSignatureSize(ctx)) - digest_length - 2;
  }
  if (salt < 0) return {};
  RsaPssParamsPtr pss(RSA_PSS_PARAMS_new());
  X509AlgorPtr mgf1_hash(X509_ALGOR_new());
  if (!pss || !mgf1_hash) return {};
  pss->hashAlgorithm = X509_ALGOR_new();
  pss->maskGenAlgorithm = X509_ALGOR_new();
  pss->saltLength = ASN1_INTEGER_new();
  if (pss->hashAlgorithm == nullptr || pss->maskGenAlgorithm == nullptr ||
      pss->saltLength == nullptr || ASN1_INTEGER_set(pss->saltLength, salt) != 1) {
    return {};
  }
  X509_ALGOR_set_md(pss->hashAlgorithm, ctx->md.get());
  X509_ALGOR_set_md(mgf1_hash.get(), mgf1_md);
  ASN1_STRING* mgf1_params = ASN1_item_pack(mgf1_hash.get(), ASN1_ITEM_rptr(X509_ALGOR), nullptr);
  if (mgf1_params == nullptr) return {};
  if (X509_ALGOR_set0(pss->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE, mgf1_params) !=
      1) {
    ASN1_STRING_free(mgf1_params);
    return {};
  }
  ASN1_STRING* params = ASN1_item_pack(pss.get(), ASN1_ITEM_rptr(RSA_PSS_PARAMS), nullptr);
  X509AlgorPtr algorithm(X509_ALGOR_new());
  if (params == nullptr || !algorithm ||
      X509_ALGOR_set0(algorithm.get(), OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE, params) != 1) {
    ASN1_STRING_free(params);
    return {};
  }
  return DerOf<X509_ALGOR, i2d_X509_ALGOR>(algorithm.get());
}

// The DER AlgorithmIdentifier of the signature, for the X.509 and CMS code
// that asks the provider for it (OpenSSL 3.0's CMS does for RSA-PSS).
std::string AlgorithmIdentifier(const SignatureContext* ctx) {
  if (!ctx->md) return {};
  if (ctx->type == KeyType::kRsa && ctx->pad_mode == RSA_PKCS1_PSS_PADDING) {
    return RsaPssAlgorithmIdentifier(ctx);
  }
  int signature_nid = NID_undef;
  const int key_nid = ctx->type == KeyType::kRsa ? NID_rsaEncryption : NID_X9_62_id_ecPublicKey;
  if (!OBJ_find_sigid_by_algs(&signature_nid, EVP_MD_get_type(ctx->md.get()), key_nid)) return {};
  OsslPtr<X509_ALGOR, X509_ALGOR_free> algorithm(X509_ALGOR_new());
  if (!algorithm ||
      X509_ALGOR_set0(algorithm.get(), OBJ_nid2obj(signature_nid),
                      ctx->type == KeyType::kRsa ? V_ASN1_NULL : V_ASN1_UNDEF, nullptr) != 1) {
    return {};
  }
  return DerOf<X509_ALGOR, i2d_X509_ALGOR>(algorithm.get());
}

bool SetIntOrName(OSSL_PARAM* p, int value, const char* name) {
  if (p->data_type == OSSL_PARAM_UTF8_STRING) {
    return name != nullptr && OSSL_PARAM_set_utf8_string(p, name) == 1;
  }
  return OSSL_PARAM_set_int(p, value) == 1;
}

const char* PadModeName(int pad_mode) {
  switch (pad_mode) {
    case RSA_PKCS1_PADDING:
      return OSSL_PKEY_RSA_PAD_MODE_PKCSV15;
    case RSA_PKCS1_PSS_PADDING:
      return OSSL_PKEY_RSA_PAD_MODE_PSS;
    default:
      return nullptr;
  }
}

const char* SaltLengthName(int salt_length) {
  switch (salt_length) {
    case RSA_PSS_SALTLEN_DIGEST:
      return OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST;
    case RSA_PSS_SALTLEN_MAX:
      return OSSL_PKEY_RSA_PSS_SALT_LEN_MAX;
    case RSA_PSS_SALTLEN_AUTO:
      return OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO;
    default:
      return nullptr;
  }
}

int SignatureGetCtxParams(void* vctx, OSSL_PARAM params[]) {
  auto* ctx = static_cast<SignatureContext*>(vctx);
  if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) {
    // Failing beats leaving the parameter untouched: callers would decode
    // whatever their buffer held.
    std::string der = AlgorithmIdentifier(ctx);
    if (der.empty() || OSSL_PARAM_set_octet_string(p, der.data(), der.size()) != 1) return 0;
  }
  if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) {
    if (ctx->md && OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(ctx->md.get())) != 1) return 0;
  }
  if (ctx->type != KeyType::kRsa) return 1;
  if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) {
    if (!SetIntOrName(p, ctx->pad_mode, PadModeName(ctx->pad_mode))) return 0;
  }
  if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) {
    if (p->data_type == OSSL_PARAM_UTF8_STRING && SaltLengthName(ctx->salt_length) == nullptr) {
      if (OSSL_PARAM_set_utf8_string(p, std::to_string(ctx->salt_length).c_str()) != 1) return 0;
    } else if (!SetIntOrName(p, ctx->salt_length, SaltLengthName(ctx->salt_length))) {
      return 0;
    }
  }
  if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) {
    const EVP_MD* mgf1 = ctx->mgf1_md ? ctx->mgf1_md.get() : ctx->md.get();
    if (mgf1 != nullptr && OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(mgf1)) != 1) return 0;
  }
  return 1;
}

int SignatureSetCtxParams(void* vctx, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<SignatureContext*>(vctx);
  if (params == nullptr) return 1;
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST)) {
    const char* name = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !SetDigest(ctx, name)) return 0;
  }
  if (ctx->type != KeyType::kRsa) return 1;
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) {
    int pad_mode = 0;
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
      const char* name = nullptr;
      if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) return 0;
      if (std::strcmp(name, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0) pad_mode = RSA_PKCS1_PADDING;
      if (std::strcmp(name, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0) pad_mode = RSA_PKCS1_PSS_PADDING;
    } else if (!OSSL_PARAM_get_int(p, &pad_mode)) {
      return 0;
    }
    if (pad_mode != RSA_PKCS1_PADDING && pad_mode != RSA_PKCS1_PSS_PADDING) {
      RaiseError(ctx->provider, kReasonUnsupported,
                 "token keys sign with PKCS#1 v1.5 or PSS padding only");
      return 0;
    }
    ctx->pad_mode = pad_mode;
  }
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) {
    int salt_length = 0;
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
      const char* name = nullptr;
      if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) return 0;
      if (std::strcmp(name, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0) {
        salt_length = RSA_PSS_SALTLEN_DIGEST;
      } else if (std::strcmp(name, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX) == 0) {
        salt_length = RSA_PSS_SALTLEN_MAX;
      } else if (std::strcmp(name, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO) == 0) {
        salt_length = RSA_PSS_SALTLEN_AUTO;
      } else {
        salt_length = std::atoi(name);
      }
    } else if (!OSSL_PARAM_get_int(p, &salt_length)) {
      return 0;
    }
    ctx->salt_length = salt_length;
  }
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) {
    const char* name = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) return 0;
    EvpMdPtr md(EVP_MD_fetch(nullptr, name, nullptr));
    if (!md) return 0;
    ctx->mgf1_md = std::move(md);
  }
  return 1;
}

template <KeyType kType>
const OSSL_PARAM* SignatureGettableCtxParams(void* vctx, void* provctx) {
  (void)vctx;
  (void)provctx;
  static const OSSL_PARAM kRsa[] = {
      OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, nullptr, 0),
      OSSL_PARAM_END};
  static const OSSL_PARAM kEc[] = {
      OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0), OSSL_PARAM_END};
  return kType == KeyType::kRsa ? kRsa : kEc;
}

template <KeyType kType>
const OSSL_PARAM* SignatureSettableCtxParams(void* vctx, void* provctx) {
  (void)vctx;
  (void)provctx;
  static const OSSL_PARAM kRsa[] = {
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, nullptr, 0),
      OSSL_PARAM_END};
  static const OSSL_PARAM kEc[] = {
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, nullptr, 0), OSSL_PARAM_END};
  return kType == KeyType::kRsa ? kRsa : kEc;
}

template <KeyType kType>
const auto& Table() {
  static const auto table = DispatchTable(
      Dispatch<OSSL_FUNC_signature_newctx_fn>(OSSL_FUNC_SIGNATURE_NEWCTX, &SignatureNewCtx<kType>),
      Dispatch<OSSL_FUNC_signature_freectx_fn>(OSSL_FUNC_SIGNATURE_FREECTX, &SignatureFreeCtx),
      Dispatch<OSSL_FUNC_signature_dupctx_fn>(OSSL_FUNC_SIGNATURE_DUPCTX, &SignatureDupCtx),
      Dispatch<OSSL_FUNC_signature_sign_init_fn>(OSSL_FUNC_SIGNATURE_SIGN_INIT, &SignatureSignInit),
      Dispatch<OSSL_FUNC_signature_sign_fn>(OSSL_FUNC_SIGNATURE_SIGN, &SignatureSign),
      Dispatch<OSSL_FUNC_signature_verify_init_fn>(OSSL_FUNC_SIGNATURE_VERIFY_INIT,
                                                   &SignatureVerifyInit),
      Dispatch<OSSL_FUNC_signature_verify_fn>(OSSL_FUNC_SIGNATURE_VERIFY, &SignatureVerify),
      Dispatch<OSSL_FUNC_signature_digest_sign_init_fn>(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT,
                                                        &SignatureDigestSignInit),
      Dispatch<OSSL_FUNC_signature_digest_sign_update_fn>(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE,
                                                          &SignatureDigestUpdate),
      Dispatch<OSSL_FUNC_signature_digest_sign_final_fn>(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL,
                                                         &SignatureDigestSignFinal),
      Dispatch<OSSL_FUNC_signature_digest_verify_init_fn>(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT,
                                                          &SignatureDigestVerifyInit),
      Dispatch<OSSL_FUNC_signature_digest_verify_update_fn>(
          OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, &SignatureDigestUpdate),
      Dispatch<OSSL_FUNC_signature_digest_verify_final_fn>(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL,
                                                           &SignatureDigestVerifyFinal),
      Dispatch<OSSL_FUNC_signature_get_ctx_params_fn>(OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS,
                                                      &SignatureGetCtxParams),
      Dispatch<OSSL_FUNC_signature_gettable_ctx_params_fn>(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS,
                                                           &SignatureGettableCtxParams<kType>),
      Dispatch<OSSL_FUNC_signature_set_ctx_params_fn>(OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS,
                                                      &SignatureSetCtxParams),
      Dispatch<OSSL_FUNC_signature_settable_ctx_params_fn>(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS,
                                                           &SignatureSettableCtxParams<kType>));
  return table;
}

}  // namespace

const OSSL_DISPATCH* RsaSignatureDispatch() { return Table<KeyType::kRsa>().data(); }
const OSSL_DISPATCH* EcdsaSignatureDispatch() { return Table<KeyType::kEc>().data(); }

}  // namespace signet::provider
