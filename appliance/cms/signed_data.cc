#include "appliance/cms/signed_data.h"

#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/cms/cms_content.h"
#include "appliance/cms/operation_error.h"
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

enum class Form { kDetached, kAttached, kDigestOnly };

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

  const unsigned int flags =
      CMS_BINARY | CMS_PARTIAL | (form == Form::kAttached ? 0u : unsigned{CMS_DETACHED});
  CmsPtr cms(CMS_sign_ex(nullptr, nullptr, nullptr, nullptr, flags, context.libctx, nullptr));
  if (!cms) return OperationError("cannot start a SignedData");
  // The ESS signingCertificateV2 attribute is added below, from the cache,
  // rather than by CMS_CADES here; KEY_PARAM lets the padding be chosen
  // before the signature is made.
  const unsigned int signer_flags =
      CMS_BINARY | CMS_NOSMIMECAP | (options.rsa_pss ? unsigned{CMS_KEY_PARAM} : 0u);
  CMS_SignerInfo* signer_info =
      CMS_add1_signer(cms.get(), signer.certificate, signer.key, md, signer_flags);
  if (signer_info == nullptr) {
    // CMS_add1_signer checks that the key is the certificate's (so this
    // costs nothing when it is); the caller is told which it was.
    if (X509_check_private_key(signer.certificate, signer.key) != 1) {
      ERR_clear_error();
      return absl::FailedPreconditionError("the signer's certificate is not for its key");
    }
    return OperationError("cannot add the signer");
  }
  if (options.rsa_pss) {
    RETURN_IF_ERROR(UsePss(signer_info, md));
  }
  RETURN_IF_ERROR(AddSigningCertificate(signer_info, signer.certificate, options.digest, md));
  RETURN_IF_ERROR(AddSmimeCapabilities(signer_info));
  RETURN_IF_ERROR(AddSigningTime(signer_info, options.signing_time.value_or(absl::Now())));
  for (X509* certificate : signer.chain) {
    if (CMS_add1_cert(cms.get(), certificate) != 1) {
      return OperationError("cannot add a chain certificate");
    }
  }

  if (form == Form::kDigestOnly) {
    // What CMS_final would add after digesting the content itself.
    if (CMS_signed_add1_attr_by_NID(signer_info, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING,
                                    input[0].data(), static_cast<int>(input[0].size())) != 1 ||
        CMS_signed_add1_attr_by_NID(signer_info, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                    OBJ_nid2obj(NID_pkcs7_data), -1) != 1) {
      return OperationError("cannot add the digest attributes");
    }
    if (CMS_SignerInfo_sign(signer_info) != 1) return OperationError("signing failed");
  } else {
    // CMS_final's work, with the content hashed in large pieces and, when
    // attached, copied once into a buffer of its size (cms_content.h).
    if (!FinishWithContentPieces(cms.get(), input, form == Form::kAttached ? input_size : 0)) {
      return OperationError("signing failed");
    }
  }
  std::string der = DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms.get());
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
