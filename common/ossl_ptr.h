// Owning pointers for OpenSSL objects, one deleter per type, so no error path
// frees anything by hand. Every alias lives here, once, for the whole tree.
#ifndef SIGNET_COMMON_OSSL_PTR_H_
#define SIGNET_COMMON_OSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace signet {

template <typename T, void (*Free)(T*)>
struct OsslDeleter {
  void operator()(T* p) const { Free(p); }
};

template <typename T, void (*Free)(T*)>
using OsslPtr = std::unique_ptr<T, OsslDeleter<T, Free>>;

using EvpPkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMdCtxPtr = OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EvpMdPtr = OsslPtr<EVP_MD, EVP_MD_free>;
using EvpCipherPtr = OsslPtr<EVP_CIPHER, EVP_CIPHER_free>;
using X509Ptr = OsslPtr<X509, X509_free>;
using BignumPtr = OsslPtr<BIGNUM, BN_free>;
using EcdsaSigPtr = OsslPtr<ECDSA_SIG, ECDSA_SIG_free>;
using OsslParamBldPtr = OsslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using OsslParamPtr = OsslPtr<OSSL_PARAM, OSSL_PARAM_free>;
using Asn1ObjectPtr = OsslPtr<ASN1_OBJECT, ASN1_OBJECT_free>;
using Asn1OctetStringPtr = OsslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using LibCtxPtr = OsslPtr<OSSL_LIB_CTX, OSSL_LIB_CTX_free>;
using BioPtr = OsslPtr<BIO, BIO_free_all>;
using CmsPtr = OsslPtr<CMS_ContentInfo, CMS_ContentInfo_free>;
using X509StorePtr = OsslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OsslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
using X509CrlPtr = OsslPtr<X509_CRL, X509_CRL_free>;
using X509NamePtr = OsslPtr<X509_NAME, X509_NAME_free>;
using X509ExtensionPtr = OsslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using X509AlgorPtr = OsslPtr<X509_ALGOR, X509_ALGOR_free>;
using Asn1TimePtr = OsslPtr<ASN1_TIME, ASN1_TIME_free>;
using Asn1IntegerPtr = OsslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using OcspRequestPtr = OsslPtr<OCSP_REQUEST, OCSP_REQUEST_free>;
using OcspResponsePtr = OsslPtr<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using OcspBasicRespPtr = OsslPtr<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using OcspCertIdPtr = OsslPtr<OCSP_CERTID, OCSP_CERTID_free>;
using RsaPssParamsPtr = OsslPtr<RSA_PSS_PARAMS, RSA_PSS_PARAMS_free>;
using Pkcs7Ptr = OsslPtr<PKCS7, PKCS7_free>;
using TsReqPtr = OsslPtr<TS_REQ, TS_REQ_free>;
using TsRespPtr = OsslPtr<TS_RESP, TS_RESP_free>;
using TsRespCtxPtr = OsslPtr<TS_RESP_CTX, TS_RESP_CTX_free>;
using TsMsgImprintPtr = OsslPtr<TS_MSG_IMPRINT, TS_MSG_IMPRINT_free>;
using TsTstInfoPtr = OsslPtr<TS_TST_INFO, TS_TST_INFO_free>;
using TsVerifyCtxPtr = OsslPtr<TS_VERIFY_CTX, TS_VERIFY_CTX_free>;

inline void FreeX509Stack(STACK_OF(X509) * stack) { sk_X509_pop_free(stack, X509_free); }
using X509StackPtr = OsslPtr<STACK_OF(X509), FreeX509Stack>;
inline void FreeAlgorithmStack(STACK_OF(X509_ALGOR) * stack) {
  sk_X509_ALGOR_pop_free(stack, X509_ALGOR_free);
}
using X509AlgorStackPtr = OsslPtr<STACK_OF(X509_ALGOR), FreeAlgorithmStack>;
inline void FreeCrlStack(STACK_OF(X509_CRL) * stack) { sk_X509_CRL_pop_free(stack, X509_CRL_free); }
using X509CrlStackPtr = OsslPtr<STACK_OF(X509_CRL), FreeCrlStack>;
inline void FreeAsn1ObjectStack(STACK_OF(ASN1_OBJECT) * stack) {
  sk_ASN1_OBJECT_pop_free(stack, ASN1_OBJECT_free);
}
using Asn1ObjectStackPtr = OsslPtr<STACK_OF(ASN1_OBJECT), FreeAsn1ObjectStack>;

// Shares ownership of a CRL (OpenSSL reference counting).
inline X509CrlPtr ShareCrl(X509_CRL* crl) {
  if (crl != nullptr) X509_CRL_up_ref(crl);
  return X509CrlPtr(crl);
}

// Shares ownership of an EVP_PKEY (OpenSSL reference counting).
inline EvpPkeyPtr ShareKey(EVP_PKEY* key) {
  if (key != nullptr) EVP_PKEY_up_ref(key);
  return EvpPkeyPtr(key);
}

// Shares ownership of a fetched EVP_MD.
inline EvpMdPtr ShareMd(EVP_MD* md) {
  if (md != nullptr) EVP_MD_up_ref(md);
  return EvpMdPtr(md);
}

// A read-only memory BIO over `data`, which must outlive it.
inline BioPtr ReadBio(absl::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// Everything written to a memory BIO.
inline std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

}  // namespace signet

#endif  // SIGNET_COMMON_OSSL_PTR_H_
