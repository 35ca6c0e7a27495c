// The OpenSSL owning pointers and the error-queue drain that the audit
// library needs. The pointers are tokens/ossl_ptr.h's (a header only); the
// library links nothing of the token layer, since `signet audit verify`
// links it.
#ifndef SIGNET_APPLIANCE_AUDIT_OPENSSL_UTIL_H_
#define SIGNET_APPLIANCE_AUDIT_OPENSSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "tokens/ossl_ptr.h"

namespace signet::audit {

// tokens/ossl_ptr.h is header-only: it brings no token code into the link.
using PkeyPtr = ::signet::EvpPkeyPtr;
using MdCtxPtr = ::signet::EvpMdCtxPtr;
using X509Ptr = ::signet::X509Ptr;
using BioPtr = ::signet::OsslPtr<BIO, BIO_free_all>;

// `status_code` "<what>: <OpenSSL's reasons>", emptying this thread's error
// queue so that nothing is left behind for an unrelated later call.
absl::Status OpenSslError(absl::StatusCode status_code, absl::string_view what);

}  // namespace signet::audit

#endif  // SIGNET_APPLIANCE_AUDIT_OPENSSL_UTIL_H_
