// The few OpenSSL owning pointers and the error-queue drain that the audit
// library needs. Its own, not tokens/ossl_ptr.h: `signet audit verify` links
// this library and must not pull in the token layer.
#ifndef SIGNET_APPLIANCE_AUDIT_OPENSSL_UTIL_H_
#define SIGNET_APPLIANCE_AUDIT_OPENSSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace signet::audit {

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter<T, Free>>;

using PkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using MdCtxPtr = OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;
using BioPtr = OpenSslPtr<BIO, BIO_free_all>;

// `status_code` "<what>: <OpenSSL's reasons>", emptying this thread's error
// queue so that nothing is left behind for an unrelated later call.
absl::Status OpenSslError(absl::StatusCode status_code, absl::string_view what);

}  // namespace signet::audit

#endif  // SIGNET_APPLIANCE_AUDIT_OPENSSL_UTIL_H_
