// Owning pointers for the OpenSSL objects the CMS engine uses (beside the
// token layer's tokens/ossl_ptr.h).
#ifndef SIGNET_APPLIANCE_CMS_OSSL_CMS_PTR_H_
#define SIGNET_APPLIANCE_CMS_OSSL_CMS_PTR_H_

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <string>

#include "absl/strings/string_view.h"
#include "tokens/ossl_ptr.h"

namespace signet::cms {

using CmsPtr = OsslPtr<CMS_ContentInfo, CMS_ContentInfo_free>;
using BioPtr = OsslPtr<BIO, BIO_free_all>;
using X509StorePtr = OsslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OsslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;

inline void FreeX509Stack(STACK_OF(X509) * stack) { sk_X509_pop_free(stack, X509_free); }
using X509StackPtr = OsslPtr<STACK_OF(X509), FreeX509Stack>;

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

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_OSSL_CMS_PTR_H_
