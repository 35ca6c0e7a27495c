#include "appliance/cms/signed_data.h"

#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <memory>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/cms/cms_content.h"
#include "appliance/cms/operation_error.h"
#include "appliance/cms/signed_data_template.h"
#include "common/der.h"
#include "common/ossl_ptr.h"
#include "common/status_macros.h"
#include "tokens/keys/signature_check.h"

namespace signet::cms {
namespace {

// What the appliance decrypts, strongest first (RFC 8551 §2.5.2): a sender
// that honours it picks AES-GCM, never the RC2 and DES that OpenSSL's
// standard list still offers. The same for every signature, so encoded
// once (as CMS_add_smimecap would encode it) and added as it is; empty when
// it could not be built.
std::string EncodeSmimeCapabilities() {
  X509AlgorStackPtr algorithms(sk_X509_ALGOR_new_null());
  if (!algorithms) return "";
  for (int nid :
       {NID_aes_256_gcm, NID_aes_128_gcm, NID_aes_256_cbc, NID_aes_192_cbc, NID_aes_128_cbc}) {
    // Appends to the existing stack, which stays owned by `algorithms`.
    STACK_OF(X509_ALGOR)* stack = algorithms.get();
    if (CMS_add_simple_smimecap(&stack, nid, -1) != 1) return "";
  }
  // RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 4055 section 6's
  // rSAES-OAEP-SHA256-Identifier): without it a sender that honours
  // capabilities falls back to PKCS#1 v1.5 key transport to this key.
  static constexpr unsigned char kOaepSha256[] = {
      0x30, 0x38, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07, 0x30, 0x2b,
      0xa0, 0x0d, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
      0xa1, 0x1a, 0x30, 0x18, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
      0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
  const unsigned char* cursor = kOaepSha256;
  X509AlgorPtr oaep(d2i_X509_ALGOR(nullptr, &cursor, sizeof(kOaepSha256)));
  if (!oaep || sk_X509_ALGOR_push(algorithms.get(), oaep.get()) == 0) return "";
  oaep.release();  // owned by the stack now
  unsigned char* der = nullptr;
  const int length = i2d_X509_ALGORS(algorithms.get(), &der);
  if (length <= 0) return "";
  std::string encoded(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return encoded;
}

absl::Status AddSmimeCapabilities(CMS_SignerInfo* signer_info) {
  static const std::string* const kEncoded = new std::string(EncodeSmimeCapabilities());
  if (kEncoded->empty()) return OperationError("cannot build SMIMECapabilities");
  if (CMS_signed_add1_attr_by_NID(signer_info, NID_SMIMECapabilities, V_ASN1_SEQUENCE,
                                  kEncoded->data(), static_cast<int>(kEncoded->size())) != 1) {
    return OperationError("cannot add SMIMECapabilities");
  }
  return absl::OkStatus();
}

// The ESS signingCertificateV2 attribute's value (RFC 5035) that
// CMS_add1_signer's CMS_CADES would build for `certificate` with `md`:
// the certificate's hash with its issuer and serial.
absl::StatusOr<std::string> EncodeSigningCertificateV2(X509* certificate, const EVP_MD* md) {
  OsslPtr<ESS_SIGNING_CERT_V2, ESS_SIGNING_CERT_V2_free> value(
      OSSL_ESS_signing_cert_v2_new_init(md, certificate, nullptr, /*set_issuer_serial=*/1));
  if (!value) return OperationError("cannot build signingCertificateV2");
  std::string der = DerOf<ESS_SIGNING_CERT_V2, i2d_ESS_SIGNING_CERT_V2>(value.get());
  if (der.empty()) return OperationError("cannot encode signingCertificateV2");
  return der;
}

// That value per signer certificate and digest, built once: a key signs
// with the same certificate call after call, and hashing and encoding the
// certificate each time cost more than the rest of the attributes. Each
// entry holds a reference to its certificate, so a pointer in the cache is
// never a freed certificate's address reused by another one.
class SigningCertificateCache {
 public:
  absl::StatusOr<std::string> Get(X509* certificate, DigestAlgorithm digest, const EVP_MD* md) {
    {
      std::lock_guard lock(mutex_);
      for (const Entry& entry : entries_) {
        if (entry.certificate.get() == certificate && entry.digest == digest) return entry.der;
      }
    }
    ASSIGN_OR_RETURN(std::string der, EncodeSigningCertificateV2(certificate, md));
    if (X509_up_ref(certificate) != 1) return der;
    std::lock_guard lock(mutex_);
    // Keys are few; a daemon reloaded many times starts over rather than
    // keep every certificate it ever had.
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_.push_back({X509Ptr(certificate), digest, der});
    return der;
  }

 private:
  static constexpr size_t kMaxEntries = 64;
  struct Entry {
    X509Ptr certificate;
    DigestAlgorithm digest;
    std::string der;
  };
  std::mutex mutex_;
  std::vector<Entry> entries_;
};

absl::Status AddSigningCertificate(CMS_SignerInfo* signer_info, X509* certificate,
                                   DigestAlgorithm digest, const EVP_MD* md) {
  static SigningCertificateCache* const cache = new SigningCertificateCache();
  ASSIGN_OR_RETURN(std::string der, cache->Get(certificate, digest, md));
  if (CMS_signed_add1_attr_by_NID(signer_info, NID_id_smime_aa_signingCertificateV2,
                                  V_ASN1_SEQUENCE, der.data(), static_cast<int>(der.size())) != 1) {
    return OperationError("cannot add signingCertificateV2");
  }
  return absl::OkStatus();
}

absl::Status AddSigningTime(CMS_SignerInfo* signer_info, absl::Time when) {
  Asn1TimePtr time(ASN1_TIME_set(nullptr, absl::ToTimeT(when)));
  if (!time) return OperationError("cannot encode the signing time");
  if (CMS_signed_add1_attr_by_NID(signer_info, NID_pkcs9_signingTime, time->type, time.get(), -1) !=
      1) {
    return OperationError("cannot add the signing time");
  }
  return absl::OkStatus();
}

absl::Status UsePss(CMS_SignerInfo* signer_info, const EVP_MD* md) {
  EVP_PKEY_CTX* pctx = CMS_SignerInfo_get0_pkey_ctx(signer_info);
  if (pctx == nullptr || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1) {
    return OperationError("cannot select RSA-PSS");
  }
  return absl::OkStatus();
}

// The RSASSA-PSS signatureAlgorithm (RFC 4055 §3.1) for a signature with
// `md`, MGF1 with `md` and a salt as long as its output, as OpenSSL writes
// it when it signs content itself (CMS_SignerInfo_sign alone leaves it
// unset, and the SignedData cannot be encoded).
absl::Status SetPssSignatureAlgorithm(CMS_SignerInfo* signer_info, const EVP_MD* md) {
  RsaPssParamsPtr params(RSA_PSS_PARAMS_new());
  X509AlgorPtr mgf1_digest(X509_ALGOR_new());
  if (!params || !mgf1_digest) return OperationError("cannot build the RSA-PSS parameters");
  params->hashAlgorithm = X509_ALGOR_new();
  params->maskGenAlgorithm = X509_ALGOR_new();
  params->saltLength = ASN1_INTEGER_new();
  if (params->hashAlgorithm == nullptr || params->maskGenAlgorithm == nullptr ||
      params->saltLength == nullptr ||
      ASN1_INTEGER_set(params->saltLength, EVP_MD_get_size(md)) != 1) {
    return OperationError("cannot build the RSA-PSS parameters");
  }
  X509_ALGOR_set_md(params->hashAlgorithm, md);
  X509_ALGOR_set_md(mgf1_digest.get(), md);
  ASN1_STRING* mgf1 = ASN1_item_pack(mgf1_digest.get(), ASN1_ITEM_rptr(X509_ALGOR), nullptr);
  if (mgf1 == nullptr || X509_ALGOR_set0(params->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1),
                                         V_ASN1_SEQUENCE, mgf1) != 1) {
    ASN1_STRING_free(mgf1);
    return OperationError("cannot build the RSA-PSS parameters");
  }
  ASN1_STRING* encoded = ASN1_item_pack(params.get(), ASN1_ITEM_rptr(RSA_PSS_PARAMS), nullptr);
  X509_ALGOR* algorithm = nullptr;
  CMS_SignerInfo_get0_algs(signer_info, nullptr, nullptr, nullptr, &algorithm);
  if (encoded == nullptr || algorithm == nullptr ||
      X509_ALGOR_set0(algorithm, OBJ_nid2obj(EVP_PKEY_RSA_PSS), V_ASN1_SEQUENCE, encoded) != 1) {
    ASN1_STRING_free(encoded);
    return OperationError("cannot set the RSA-PSS signature algorithm");
  }
  return absl::OkStatus();
}

enum class Form { kDetached, kAttached, kDigestOnly };

// A SignedData with its signer, certificates and every signed attribute
// but the content's (messageDigest, contentType), not yet signed.
struct Prepared {
  CmsPtr cms;
  CMS_SignerInfo* signer_info = nullptr;  // owned by cms
};

absl::StatusOr<Prepared> Prepare(const CmsContext& context, Form form, const Signer& signer,
                                 const SignOptions& options, const EVP_MD* md,
                                 absl::Time signing_time) {
  const unsigned int flags =
      CMS_BINARY | CMS_PARTIAL | (form == Form::kAttached ? 0u : unsigned{CMS_DETACHED});
  Prepared prepared;
  prepared.cms.reset(
      CMS_sign_ex(nullptr, nullptr, nullptr, nullptr, flags, context.libctx, nullptr));
  if (!prepared.cms) return OperationError("cannot start a SignedData");
  // The ESS signingCertificateV2 attribute is added below, from the cache,
  // rather than by CMS_CADES here; KEY_PARAM lets the padding be chosen
  // before the signature is made.
  const unsigned int signer_flags =
      CMS_BINARY | CMS_NOSMIMECAP | (options.rsa_pss ? unsigned{CMS_KEY_PARAM} : 0u);
  prepared.signer_info =
      CMS_add1_signer(prepared.cms.get(), signer.certificate, signer.key, md, signer_flags);
  if (prepared.signer_info == nullptr) {
    // CMS_add1_signer checks that the key is the certificate's (so this
    // costs nothing when it is); the caller is told which it was.
    if (X509_check_private_key(signer.certificate, signer.key) != 1) {
      ERR_clear_error();
      return absl::FailedPreconditionError("the signer's certificate is not for its key");
    }
    return OperationError("cannot add the signer");
  }
  if (options.rsa_pss) {
    RETURN_IF_ERROR(UsePss(prepared.signer_info, md));
  }
  RETURN_IF_ERROR(
      AddSigningCertificate(prepared.signer_info, signer.certificate, options.digest, md));
  RETURN_IF_ERROR(AddSmimeCapabilities(prepared.signer_info));
  RETURN_IF_ERROR(AddSigningTime(prepared.signer_info, signing_time));
  for (X509* certificate : signer.chain) {
    if (CMS_add1_cert(prepared.cms.get(), certificate) != 1) {
      return OperationError("cannot add a chain certificate");
    }
  }
  return prepared;
}

// What CMS_final would add after digesting the content itself.
absl::Status AddDigestAttributes(CMS_SignerInfo* signer_info, absl::string_view digest) {
  if (CMS_signed_add1_attr_by_NID(signer_info, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING,
                                  digest.data(), static_cast<int>(digest.size())) != 1 ||
      CMS_signed_add1_attr_by_NID(signer_info, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                  OBJ_nid2obj(NID_pkcs7_data), -1) != 1) {
    return OperationError("cannot add the digest attributes");
  }
  return absl::OkStatus();
}

// OpenSSL's encoding of the prepared SignedData, unsigned, with a digest of
// zeros: the template every signature by this signer with this digest and
// time form completes (signed_data_template.h).
absl::StatusOr<SignedDataTemplate> BuildTemplate(const CmsContext& context, const Signer& signer,
                                                 const SignOptions& options, const EVP_MD* md,
                                                 absl::Time signing_time) {
  ASSIGN_OR_RETURN(Prepared prepared,
                   Prepare(context, Form::kDigestOnly, signer, options, md, signing_time));
  const std::string zeros(DigestLength(options.digest), '\0');
  RETURN_IF_ERROR(AddDigestAttributes(prepared.signer_info, zeros));
  if (options.rsa_pss) {
    RETURN_IF_ERROR(SetPssSignatureAlgorithm(prepared.signer_info, md));
  }
  std::string der = DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(prepared.cms.get());
  if (der.empty()) return OperationError("cannot encode the SignedData");
  absl::StatusOr<SignedDataTemplate> parsed = SignedDataTemplate::Parse(der, zeros.size());
  if (!parsed.ok()) return absl::InternalError(parsed.status().message());
  return parsed;
}

// The signature over the signed attributes' digest, by the signer's key.
absl::StatusOr<std::string> SignAttributes(const CmsContext& context, const Signer& signer,
                                           const EVP_MD* md, bool rsa_pss,
                                           absl::string_view attributes) {
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int hash_length = 0;
  if (EVP_Digest(attributes.data(), attributes.size(), hash, &hash_length, md, nullptr) != 1) {
    return OperationError("cannot hash the signed attributes");
  }
  EvpPkeyCtxPtr pkey_context(EVP_PKEY_CTX_new_from_pkey(context.libctx, signer.key, nullptr));
  if (!pkey_context || EVP_PKEY_sign_init(pkey_context.get()) != 1 ||
      EVP_PKEY_CTX_set_signature_md(pkey_context.get(), md) != 1) {
    return OperationError("cannot start the signature");
  }
  if (rsa_pss &&
      (EVP_PKEY_CTX_set_rsa_padding(pkey_context.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_context.get(), RSA_PSS_SALTLEN_DIGEST) != 1 ||
       EVP_PKEY_CTX_set_rsa_mgf1_md(pkey_context.get(), md) != 1)) {
    return OperationError("cannot select RSA-PSS");
  }
  size_t length = 0;
  if (EVP_PKEY_sign(pkey_context.get(), nullptr, &length, hash, hash_length) != 1) {
    return OperationError("signing failed");
  }
  std::string signature(length, '\0');
  if (EVP_PKEY_sign(pkey_context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                    hash, hash_length) != 1) {
    return OperationError("signing failed");
  }
  signature.resize(length);
  return signature;
}

// A detached SignedData over `digest` from the signer's template (made
// now, and kept if the signer has a cache for it).
absl::StatusOr<std::string> SignFromTemplate(const CmsContext& context, absl::string_view digest,
                                             const Signer& signer, const SignOptions& options,
                                             const EVP_MD* md, absl::Time signing_time) {
  auto make = [&]() { return BuildTemplate(context, signer, options, md, signing_time); };
  std::shared_ptr<const SignedDataTemplate> made;
  if (signer.templates != nullptr) {
    SignerTemplateCache::Id id{.libctx = context.libctx,
                               .key = signer.key,
                               .certificate = signer.certificate,
                               .chain = {signer.chain.begin(), signer.chain.end()},
                               .digest = static_cast<int>(options.digest),
                               .rsa_pss = options.rsa_pss,
                               .time_form = TimeFormOf(signing_time)};
    ASSIGN_OR_RETURN(made, signer.templates->Get(id, make));
  } else {
    ASSIGN_OR_RETURN(SignedDataTemplate once, make());
    made = std::make_shared<const SignedDataTemplate>(std::move(once));
  }
  ASSIGN_OR_RETURN(std::string attributes,
                   made->SignedAttributes(digest, SigningTimeOctets(signing_time)));
  ASSIGN_OR_RETURN(std::string signature,
                   SignAttributes(context, signer, md, options.rsa_pss, attributes));
  return made->Complete(attributes, signature);
}

// `input`: the content in pieces, or (kDigestOnly) the digest as one.
absl::StatusOr<std::string> Sign(const CmsContext& context,
                                 absl::Span<const absl::string_view> input, Form form,
                                 const Signer& signer, const SignOptions& options) {
  size_t input_size = 0;
  for (const absl::string_view piece : input) input_size += piece.size();
  if (signer.key == nullptr || signer.certificate == nullptr) {
    return absl::InvalidArgumentError("a signer needs a key and a certificate");
  }
  if (options.rsa_pss && !EVP_PKEY_is_a(signer.key, "RSA")) {
    return absl::InvalidArgumentError("RSA-PSS needs an RSA key");
  }
  if (form == Form::kDigestOnly && input_size != DigestLength(options.digest)) {
    return absl::InvalidArgumentError(absl::StrCat("a ", HashName(options.digest), " digest is ",
                                                   DigestLength(options.digest), " bytes, not ",
                                                   input_size));
  }
  BeginOperation();
  // OpenSSL's built-in digest object, not one fetched from the library
  // context: every use below goes by the digest's name (CMS_add1_signer,
  // the RSA-PSS MGF1 digest) or fetches from the context itself (the
  // content digest, the signature, the certificate hash), so a fetch per
  // signature only cost a locked lookup and a reference count.
  const EVP_MD* md = HashMd(options.digest);
  const absl::Time signing_time = options.signing_time.value_or(absl::Now());

  // Detached: from the signer's template. An attached content is part of
  // the structure, so that goes through OpenSSL's CMS code each time.
  if (form != Form::kAttached) {
    if (form == Form::kDigestOnly) {
      return SignFromTemplate(context, input[0], signer, options, md, signing_time);
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    EvpMdCtxPtr hashing(EVP_MD_CTX_new());
    bool hashed = hashing && EVP_DigestInit_ex(hashing.get(), md, nullptr) == 1;
    for (const absl::string_view piece : input) {
      hashed = hashed && EVP_DigestUpdate(hashing.get(), piece.data(), piece.size()) == 1;
    }
    if (!hashed || EVP_DigestFinal_ex(hashing.get(), digest, &digest_length) != 1) {
      return OperationError("cannot hash the content");
    }
    return SignFromTemplate(context,
                            absl::string_view(reinterpret_cast<const char*>(digest), digest_length),
                            signer, options, md, signing_time);
  }

  ASSIGN_OR_RETURN(Prepared prepared, Prepare(context, form, signer, options, md, signing_time));
  // CMS_final's work, with the content hashed in large pieces and copied
  // once into a buffer of its size (cms_content.h).
  if (!FinishWithContentPieces(prepared.cms.get(), input, input_size)) {
    return OperationError("signing failed");
  }
  std::string der = DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(prepared.cms.get());
  if (der.empty()) return OperationError("cannot encode the SignedData");
  return der;
}

}  // namespace

const char* Micalg(DigestAlgorithm digest) {
  switch (digest) {
    case DigestAlgorithm::kSha384:
      return "sha-384";
    case DigestAlgorithm::kSha512:
      return "sha-512";
    case DigestAlgorithm::kSha256:
      break;
  }
  return "sha-256";
}

absl::StatusOr<std::string> SignDetached(const CmsContext& context, absl::string_view content,
                                         const Signer& signer, const SignOptions& options) {
  return Sign(context, {content}, Form::kDetached, signer, options);
}

absl::StatusOr<std::string> SignDetachedPieces(const CmsContext& context,
                                               absl::Span<const absl::string_view> content,
                                               const Signer& signer, const SignOptions& options) {
  return Sign(context, content, Form::kDetached, signer, options);
}

absl::StatusOr<std::string> SignAttached(const CmsContext& context, absl::string_view content,
                                         const Signer& signer, const SignOptions& options) {
  return Sign(context, {content}, Form::kAttached, signer, options);
}

absl::StatusOr<std::string> SignDigest(const CmsContext& context, absl::string_view digest,
                                       const Signer& signer, const SignOptions& options) {
  return Sign(context, {digest}, Form::kDigestOnly, signer, options);
}

}  // namespace signet::cms
