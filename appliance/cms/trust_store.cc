#include "appliance/cms/trust_store.h"

#include <openssl/err.h>

#include "absl/strings/str_cat.h"
#include "appliance/pki/revocation_check.h"
#include "appliance/pki/validation_policy.h"
#include "common/openssl_error.h"
#include "common/ossl_ptr.h"
#include "common/pem_certificates.h"

namespace signet::cms {

absl::StatusOr<TrustStore> TrustStore::FromCertificates(const std::vector<X509*>& anchors) {
  if (anchors.empty()) return absl::InvalidArgumentError("a trust store needs a certificate");
  X509StorePtr store(X509_STORE_new());
  if (!store) return OpenSslError("cannot make a trust store");
  for (X509* anchor : anchors) {
    if (X509_STORE_add_cert(store.get(), anchor) != 1) {
      return OpenSslError("cannot add a trust anchor");
    }
  }
  // CRLs come from a verification's revocation check (VerifyOptions), not
  // from the store, which is shared by every verification.
  pki::UseRevocationLookup(store.get());
  pki::UseAnchorPolicies(store.get());
  return TrustStore(store.release());
}

absl::StatusOr<TrustStore> TrustStore::FromPem(absl::string_view pem) {
  absl::StatusOr<std::vector<X509Ptr>> certificates = ParsePemCertificates(pem);
  if (!certificates.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("trust anchors: ", certificates.status().message()));
  }
  std::vector<X509*> anchors;
  for (const X509Ptr& certificate : *certificates) anchors.push_back(certificate.get());
  return FromCertificates(anchors);
}

}  // namespace signet::cms
